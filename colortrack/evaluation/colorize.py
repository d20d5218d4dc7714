"""Colorizing a video's gray frames from one colour reference frame (the paper's Fig. 4).

The learned pointer copies the reference frame's ab (Lab chroma) to every
later frame, using only gray input; the result is shown next to the truth and
scored by the mean ab error (Euclidean, Lab units) over all pixels.
"""

from typing import Iterable, Iterator, Tuple

import numpy as np

from colortrack.data import color
from colortrack.inference import grid as grid_lib
from colortrack.inference import trackers


def make_colorizer(embedder, overrides=None) -> trackers.PointerTracker:
  """A tracker that copies from the colour frame only (window 0 + first frame), so
  colours do not drift through predictions; other settings as `trackers.settings`."""
  values = trackers.settings(embedder.config, overrides)
  return trackers.PointerTracker(embedder, trackers.PropagationConfig(
      window=0, use_first=True, temperature=values["temperature"], top_k=values["top_k"],
      radius=values["radius"], scale=values["scale"]))


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
      remember(chain()), lambda h, w: grid_lib.pixels_to_grid(first_lab[..., 1:], stride))
  for grid_ab in stream:
    lab = labs["current"]
    ab = grid_lib.grid_to_pixels(grid_ab, stride, height, width)
    predicted = np.concatenate([lab[..., :1], ab], axis=-1)
    error = np.linalg.norm(ab - lab[..., 1:], axis=-1)
    gray = np.concatenate([lab[..., :1], np.zeros_like(ab)], axis=-1)
    panel = np.concatenate([color.lab_to_rgb_uint8(gray), color.lab_to_rgb_uint8(predicted),
                            color.lab_to_rgb_uint8(lab)], axis=1)
    yield panel, error
