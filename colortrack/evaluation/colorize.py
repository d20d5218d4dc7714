"""Colorizing a video's gray frames from one colour reference frame (the paper's Fig. 4).

The learned pointer copies the reference frame's ab (Lab chroma) to every
later frame, using only gray input; the result is shown next to the truth and
scored by the mean ab error (Euclidean, Lab units) over all pixels.
"""

import os
from typing import Iterable, Iterator, Tuple

import numpy as np

from colortrack import errors
from colortrack.data import color
from colortrack.data import video_io
from colortrack.inference import grid as grid_lib
from colortrack.inference import trackers
from colortrack.utils import files
from colortrack.utils import progress as progress_lib
from colortrack.utils import video_writer


def make_colorizer(embedder, overrides=None) -> trackers.PointerTracker:
  """A tracker that copies from the colour frame only (window 0 + first frame), so
  colours do not drift through predictions; other settings as `trackers.settings`."""
  values = trackers.settings(embedder.config, overrides)
  return trackers.PointerTracker(embedder, trackers.PropagationConfig(
      window=0, use_first=True, temperature=values.temperature, top_k=values.top_k,
      radius=values.radius, scale=values.scale, max_short_side=values.max_short_side))


def colorize(tracker, frames: Iterable[np.ndarray]) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
  """Yields (side-by-side uint8 RGB [H, 3W, 3]: gray | colorized | truth, ab error [H, W]).

  The error map is the Euclidean ab distance per pixel (Lab units). Frame 0 is
  the colour reference; later frames copy ab from what the tracker's memory
  holds (use window 0 with the first frame: errors then do not compound).
  """
  frames = iter(frames)
  first = next(frames)
  height, width = first.shape[:2]
  first_lab = color.rgb_to_lab(first)
  stride = tracker.stride
  # The tracker embeds frames resized to its processing size (`scale`, `max_short_side`):
  # the reference colours go onto that grid, and the copies come back to the frame's size.
  scaled = tracker.processing_size(height, width)
  first_ab = trackers.resize(first_lab[..., 1:].astype(np.float32), *scaled)

  def chain():
    yield first
    for frame in frames:
      yield frame

  labs = {}

  def remember(stream):
    for frame in stream:
      labs["current"] = color.rgb_to_lab(frame)
      yield frame

  stream = tracker.propagate_grid(
      remember(chain()), lambda h, w: grid_lib.pixels_to_grid(first_ab, stride))
  for grid_ab in stream:
    lab = labs["current"]
    ab = trackers.resize(grid_lib.grid_to_pixels(grid_ab, stride, *scaled), height, width)
    predicted = np.concatenate([lab[..., :1], ab], axis=-1)
    error = np.linalg.norm(ab - lab[..., 1:], axis=-1)
    gray = np.concatenate([lab[..., :1], np.zeros_like(ab)], axis=-1)
    panel = np.concatenate([color.lab_to_rgb_uint8(gray), color.lab_to_rgb_uint8(predicted),
                            color.lab_to_rgb_uint8(lab)], axis=1)
    yield panel, error


def colorize_video(video_path: str, output_dir: str, tracker, image_every: int = 10) -> dict:
  """Colorizes a video into `output_dir`; returns (and writes) `colorize.json`.

  Writes `colorize.mp4` (every frame: gray | colorized | truth), the panels of
  frames 0, `image_every`, 2 x `image_every`, ... as PNG, and `colorize.json`
  with the mean ab error over frames 1..T-1 (frame 0 is the colour reference).
  """
  import cv2  # pylint: disable=g-import-not-at-top
  files.check_not_inside(output_dir, [video_path], "--output_dir")
  files.check_replaceable_in(output_dir, ["colorize.mp4", "colorize.json"], "--output_dir")
  files.ensure_output_dir(output_dir, "--output_dir", claim=True)
  source = video_io.source_from_path(video_path)
  total, fps = video_io.frame_count_and_fps(source)
  if total == 1:
    raise errors.UserError(f"{video_path}: has 1 frame; colorization copies colours from "
                           "frame 0 to later frames, so it needs at least 2")
  ab_errors, images = [], []
  video_path_out = os.path.join(output_dir, "colorize.mp4")
  writer = None
  progress = progress_lib.Progress("colorize", total, unit="frames")
  try:
    for index, (panel, error) in enumerate(colorize(tracker, video_io.rgb_frames(source))):
      if writer is None:
        writer = video_writer.VideoWriter(video_path_out, fps, panel.shape[1], panel.shape[0])
      writer.write(panel)
      if index % image_every == 0:
        path = os.path.join(output_dir, f"{index:05d}.png")
        with files.atomic_output(path) as tmp:
          cv2.imwrite(tmp + ".png", cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
          os.replace(tmp + ".png", tmp)
        images.append(os.path.basename(path))
      if index:
        ab_errors.append(float(error.mean()))
      progress.update(1)
    if not ab_errors:
      raise errors.UserError(f"{video_path}: fewer than 2 frames could be read; colorization "
                             "needs at least 2")
    writer.close()
    writer = None
  finally:
    if writer is not None:
      writer.abort()
  result = {"video": video_path, "frames": len(ab_errors) + 1, "scored_frames": len(ab_errors),
            "mean_ab_error": float(np.mean(ab_errors)), "images": images,
            "video_out": video_path_out}
  files.write_json_atomic(os.path.join(output_dir, "colorize.json"), result)
  return result
