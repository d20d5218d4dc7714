r"""DAVIS J&F when tracking starts from a box instead of the first-frame mask.

Example (about 15 minutes here with the default model):
  python -m benchmarks.box_start --davis_root=../shared/data/davis2016 \
      --work_dir=/tmp/box_start

For each sequence the box of the first annotated mask (its tightest box, grown
by `--margin` pixels on each side, as a user would draw it) goes through
OpenCV's GrabCut (`colortrack.inference.first_mask`, what `colortrack.track
--box` does); the tracker then starts from that mask. The first frame is never
scored (DAVIS protocol), so the J&F differs from the mask-started run only
through the start. Prints the first masks' IoU with the annotation and the J&F
of the box-started run; the mask-started J&F of the same tracker is
`python -m eval.davis` without this script.
"""

import json
import os
import shutil

import numpy as np
from absl import flags

from colortrack.cli import app as cli_app  # first: keeps TensorFlow's load banners quiet
from colortrack import pretrained  # pylint: disable=g-bad-import-order
from colortrack.data import masks as masks_lib
from colortrack.data import video_io
from colortrack.evaluation import davis
from colortrack.inference import first_mask
from colortrack.inference import trackers

_DAVIS_ROOT = flags.DEFINE_string("davis_root", None, "DAVIS folder.")
_WORK_DIR = flags.DEFINE_string("work_dir", None, "Scratch folder (a dataset copy with the "
                                "box-made first masks, and the results).")
_MODEL = flags.DEFINE_string("model", pretrained.DEFAULT_MODEL, "Export or workdir.")
_METHOD = flags.DEFINE_enum("method", "model", ["model", "flow"], "Tracker.")
_MARGIN = flags.DEFINE_integer("margin", 4, "Pixels added around the mask's tightest box.")
flags.mark_flags_as_required(["davis_root", "work_dir"])


def main(argv):
  del argv
  root, work = _DAVIS_ROOT.value, _WORK_DIR.value
  boxed = os.path.join(work, "davis_from_boxes")
  if os.path.exists(work):
    raise SystemExit(f"{work}: exists; give a new --work_dir")
  sequences = davis.list_sequences(root)
  ious = {}
  for sequence in sequences:
    # The dataset's frames and later annotations are linked, the first annotation replaced.
    for kind in ("JPEGImages", "Annotations"):
      os.makedirs(os.path.join(boxed, kind, "480p"), exist_ok=True)
    os.symlink(os.path.abspath(davis.frame_dir(root, sequence)),
               davis.frame_dir(boxed, sequence))
    annotations = davis.annotation_dir(boxed, sequence)
    os.makedirs(annotations)
    paths = masks_lib.mask_paths(davis.annotation_dir(root, sequence))
    for path in paths[1:]:
      os.symlink(os.path.abspath(path), os.path.join(annotations, os.path.basename(path)))
    gt = masks_lib.read_mask(paths[0])
    frame = next(video_io.rgb_frames(video_io.source_from_path(davis.frame_dir(root, sequence))))
    boxes = []
    for object_id in masks_lib.object_ids(gt):
      ys, xs = np.nonzero(gt == object_id)
      m = _MARGIN.value
      boxes.append([xs.min() - m, ys.min() - m, xs.max() + m, ys.max() + m])
    made = first_mask.mask_from_boxes(frame, boxes)
    masks_lib.write_mask(os.path.join(annotations, os.path.basename(paths[0])), made)
    ious[sequence] = float(((made > 0) & (gt > 0)).sum() / max(((made > 0) | (gt > 0)).sum(), 1))
  tracker = trackers.make_tracker(_METHOD.value, _MODEL.value)
  results_dir = os.path.join(work, "results")
  davis.predict(boxed, results_dir, tracker, sequences)
  scores = davis.evaluate(boxed, results_dir, sequences)
  summary = {"first_mask_iou": ious, "mean_first_mask_iou": float(np.mean(list(ious.values()))),
             "J&F-Mean": scores.global_scores()["J&F-Mean"],
             "per_object": {r["object"]: (r["J-Mean"] + r["F-Mean"]) / 2
                            for r in scores.per_object()}}
  print(json.dumps(summary, indent=1))
  shutil.rmtree(boxed)


if __name__ == "__main__":
  cli_app.run(main)
