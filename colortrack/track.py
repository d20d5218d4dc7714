r"""Tracks objects or keypoints through your own video from a first-frame annotation.

Examples:
  python -m colortrack.track --video=clip.mp4 --mask=first_frame.png \
      --output_dir=/tmp/tracked --model=/tmp/savedmodel
  python -m colortrack.track --video=frames_dir/ --keypoints=first.json \
      --output_dir=/tmp/tracked --method=flow
  python -m colortrack.track --video=clip.mp4 --box=40,30,120,100 --box=150,20,200,90 \
      --output_dir=/tmp/tracked

--mask: a palette PNG (ids 1..K, DAVIS-2017) or a 0/255 PNG (DAVIS-2016), the
size of the frames. --keypoints: JSON {"keypoints": [{"x": .., "y": ..}]} in
0-based pixels. --box (repeatable: one object each) or --points (clicks on one
object): OpenCV's GrabCut makes the first mask, written as first_mask.png to
check and edit. Writes masks/*.png or keypoints.json, and overlay.mp4.
"""

from absl import flags
from absl import logging

from colortrack.cli import app as cli_app
from colortrack.cli import tracking_flags
from colortrack.inference import first_mask
from colortrack.inference import track_video

# The shared tracking flags (--model, --radius, ...) are this binary's own: --helpshort lists them.
flags.adopt_module_key_flags(tracking_flags)

_VIDEO = flags.DEFINE_string("video", None, "Video file (mp4, avi, ...) or folder of frames.")
_MASK = flags.DEFINE_string("mask", None, "First-frame mask PNG.")
_KEYPOINTS = flags.DEFINE_string("keypoints", None, "First-frame keypoints JSON.")
_BOX = flags.DEFINE_multi_string("box", None, "x0,y0,x1,y1 (pixels) of an object in the first "
                                 "frame; repeat for more objects (ids 1, 2, ...). GrabCut makes "
                                 "the mask (first_mask.png in --output_dir).")
_POINTS = flags.DEFINE_string("points", None, "x,y;x,y;... foreground clicks on one object in "
                              "the first frame; GrabCut makes its mask (first_mask.png).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for the results.")
_OVERLAY = flags.DEFINE_bool("overlay", True, "Also write overlay.mp4.")
flags.mark_flags_as_required(["video", "output_dir"])
flags.mark_flags_as_mutual_exclusive(["mask", "keypoints", "box", "points"], required=True)


def main(argv):
  del argv
  boxes = first_mask.parse_boxes(_BOX.value) if _BOX.value else None
  clicks = first_mask.parse_clicks(_POINTS.value) if _POINTS.value else None
  tracker = tracking_flags.make_tracker()
  summary = track_video.track_video(
      _VIDEO.value, _OUTPUT_DIR.value, tracker, mask_path=_MASK.value,
      keypoints_path=_KEYPOINTS.value, write_overlay=_OVERLAY.value, boxes=boxes,
      clicks=clicks)
  if summary.get("truncated"):
    logging.warning("%s", summary["truncated"])
  logging.info("tracked %d frames (%dx%d, processed at %dx%d) with %s in %.1f s "
               "(%.1f frames/s); results in %s",
               summary["frames"], summary["width"], summary["height"],
               summary["processed_width"], summary["processed_height"],
               tracking_flags.describe(tracker), summary["seconds"],
               summary["frames"] / max(summary["seconds"], 1e-9), _OUTPUT_DIR.value)


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
