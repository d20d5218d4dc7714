r"""End-to-end tracking speed at 480p and 1080p: decode, track, write masks and the overlay.

Example (about 2 minutes here):
  python -m benchmarks.hd_tracking --num_frames=40
  python -m benchmarks.hd_tracking --num_frames=20 --profile=fast
  python -m benchmarks.hd_tracking --num_frames=20 --method=flow

Writes two synthetic videos of the same content (854x480 and 1920x1080), tracks
each with `colortrack.track`'s own function and the tracker its flags name (the
flags of `colortrack.track`: --model, --profile, --method, --radius, ...; default:
the shipped default), and
prints frames/s per size (each timed run follows a warm-up run on the same
video). By default frames are embedded at most 480 pixels on their short side
(`--max_short_side`), so the network costs the same at both sizes;
`--max_short_side=0` measures full-resolution processing, `--nooverlay` the
cost without writing overlay.mp4.
"""

import json
import os
import tempfile
import time

from absl import flags

from colortrack.cli import app as cli_app  # first: keeps TensorFlow's load banners quiet
from colortrack.cli import tracking_flags  # pylint: disable=g-bad-import-order
from colortrack.data import masks as masks_lib
from colortrack.data import synthetic
from colortrack.inference import track_video

_NUM_FRAMES = flags.DEFINE_integer("num_frames", 40, "Frames per video.")
_OVERLAY = flags.DEFINE_bool("overlay", True, "Also write overlay.mp4 (as colortrack.track).")
SIZES = ((480, 854), (1080, 1920))


def main(argv):
  del argv
  tracker = tracking_flags.make_tracker()
  results = {}
  with tempfile.TemporaryDirectory() as root:
    for height, width in SIZES:
      video = synthetic.generate_video(0, num_frames=_NUM_FRAMES.value, height=height,
                                       width=width)
      path = os.path.join(root, f"{height}p.mp4")
      synthetic.write_video_file(path, video.frames, video.fps)
      mask = os.path.join(root, f"{height}p.png")
      masks_lib.write_mask(mask, video.masks[0])
      # Warm-up on the same video (graphs traced, caches filled), then the timed run.
      track_video.track_video(path, os.path.join(root, f"warm_{height}"), tracker,
                              mask_path=mask, write_overlay=_OVERLAY.value)
      start = time.monotonic()
      summary = track_video.track_video(path, os.path.join(root, f"out_{height}"), tracker,
                                        mask_path=mask, write_overlay=_OVERLAY.value)
      seconds = time.monotonic() - start
      results[f"{width}x{height}"] = {
          "frames": summary["frames"], "seconds": round(seconds, 2),
          "frames_per_s": round(summary["frames"] / seconds, 2),
          "processed": f"{summary['processed_width']}x{summary['processed_height']}"}
  print(json.dumps(results, indent=1))


if __name__ == "__main__":
  cli_app.run(main)
