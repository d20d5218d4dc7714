r"""Where a tracked frame's time goes: `colortrack.track` at 854x480, stage by stage.

Example (about a minute here for the default):
  python -m benchmarks.tracking_profile --num_frames=20
  python -m benchmarks.tracking_profile --num_frames=20 --profile=fast
  python -m benchmarks.tracking_profile --num_frames=20 --pointer_precision=float32

The tracker comes from the flags `colortrack.track` takes (--model, --profile,
--radius, ...).

Writes a synthetic 854x480 video, tracks it with `colortrack.track`'s own
function (`track_video`: masks and overlay written) twice, and prints, for the
second run, the seconds per frame of each stage: decoding, the networks
(`embed`), the pointer (label copy), upsampling the grid labels to the frame,
writing the mask PNGs, drawing and encoding the overlay, and the rest. Stages are
timed by wrapping the functions `track_video` calls, so the run is the one users
get, plus a few timer calls.
"""

import collections
import contextlib
import json
import os
import tempfile
import time

from absl import flags

from colortrack.cli import app as cli_app  # first: keeps TensorFlow's load banners quiet
from colortrack.cli import tracking_flags  # pylint: disable=g-bad-import-order
from colortrack.data import masks as masks_lib
from colortrack.data import synthetic
from colortrack.data import video_io
from colortrack.inference import labels as labels_lib
from colortrack.inference import track_video
from colortrack.utils import video_writer

_NUM_FRAMES = flags.DEFINE_integer("num_frames", 20, "Frames of the video.")
_HEIGHT = flags.DEFINE_integer("height", 480, "Video height.")
_WIDTH = flags.DEFINE_integer("width", 854, "Video width.")


@contextlib.contextmanager
def timed(owner, name: str, seconds: dict, stage: str):
  """Replaces `owner.name` by a wrapper adding its run time to `seconds[stage]` (nothing
  where `owner` has no `name`: a baseline has no networks)."""
  if not hasattr(owner, name):
    yield
    return
  original = getattr(owner, name)

  def wrapper(*args, **kwargs):
    start = time.perf_counter()
    try:
      return original(*args, **kwargs)
    finally:
      seconds[stage] += time.perf_counter() - start

  setattr(owner, name, wrapper)
  try:
    yield
  finally:
    setattr(owner, name, original)


def timed_frames(seconds: dict):
  """`video_io.rgb_frames` whose every `next` adds to seconds["decode"]."""
  original = video_io.rgb_frames

  def frames(source):
    stream = original(source)
    while True:
      start = time.perf_counter()
      try:
        frame = next(stream)
      except StopIteration:
        return
      finally:
        seconds["decode"] += time.perf_counter() - start
      yield frame

  return frames


def profile(tracker, video_path: str, mask_path: str, output_dir: str) -> dict:
  """Seconds per stage of one `track_video` run, and its frame count and wall time."""
  seconds = collections.defaultdict(float)
  with contextlib.ExitStack() as stack:
    stack.enter_context(timed(tracker, "embed", seconds, "networks (embed)"))
    stack.enter_context(timed(tracker, "_copy", seconds, "pointer (copy labels)"))
    stack.enter_context(timed(labels_lib, "upsampled_ids", seconds, "labels to pixels"))
    stack.enter_context(timed(masks_lib, "write_mask", seconds, "mask PNGs"))
    stack.enter_context(timed(track_video, "draw_overlay", seconds, "overlay drawing"))
    stack.enter_context(timed(video_writer.VideoWriter, "write", seconds, "overlay encoding"))
    video_io_frames = video_io.rgb_frames
    video_io.rgb_frames = timed_frames(seconds)
    try:
      start = time.perf_counter()
      summary = track_video.track_video(video_path, output_dir, tracker, mask_path=mask_path)
      wall = time.perf_counter() - start
    finally:
      video_io.rgb_frames = video_io_frames
  frames = summary["frames"]
  rows = {stage: round(value / frames, 4) for stage, value in seconds.items()}
  rows["other"] = round((wall - sum(seconds.values())) / frames, 4)
  return {"frames": frames, "frames_per_s": round(frames / wall, 2),
          "seconds_per_frame": round(wall / frames, 4), "stages": rows,
          "processed": f"{summary['processed_width']}x{summary['processed_height']}"}


def main(argv):
  del argv
  tracker = tracking_flags.make_tracker()
  with tempfile.TemporaryDirectory() as root:
    video = synthetic.generate_video(0, num_frames=_NUM_FRAMES.value, height=_HEIGHT.value,
                                     width=_WIDTH.value)
    path = os.path.join(root, "video.mp4")
    synthetic.write_video_file(path, video.frames, video.fps)
    mask = os.path.join(root, "mask.png")
    masks_lib.write_mask(mask, video.masks[0])
    # Warm-up on the same video (graphs traced, caches filled), then the profiled run.
    track_video.track_video(path, os.path.join(root, "warm"), tracker, mask_path=mask)
    result = profile(tracker, path, mask, os.path.join(root, "profiled"))
  result["tracker"] = tracking_flags.describe(tracker)
  print(json.dumps(result, indent=1))


if __name__ == "__main__":
  cli_app.run(main)
