r"""Predicts and scores keypoint propagation (PCK) on JHMDB, or on BADJA.

Example (baseline, no model needed):
  python -m eval.jhmdb --jhmdb_root=../shared/data/jhmdb --results_dir=/tmp/jhmdb_flow \
      --method=flow
  python -m eval.jhmdb --jhmdb_root=../shared/data/badja --results_dir=/tmp/badja_flow \
      --method=flow

JHMDB: test videos of split 1, joints from pos_img - 1, PCK@0.1..0.5 under the
CRW/UVC protocol (frame 0 skipped; normaliser 0.6 x GT box diagonal). A folder
with joint_annotations/*.json is read as BADJA: its annotated frames are scored
with the same normaliser over the visible joints. Predictions go to
RESULTS_DIR/<video>.npy ([2, K, T], 0-based x, y), scores to pck.csv.
"""

import os

from absl import flags
from absl import logging

from colortrack.cli import app as cli_app
from colortrack.cli import tracking_flags as flags_common
from colortrack.evaluation import keypoint_datasets
from colortrack.evaluation import keypoint_eval
from colortrack.evaluation import results_record
from colortrack.utils import files

# The shared tracking flags (--model, --radius, ...) are this binary's own: --helpshort lists them.
flags.adopt_module_key_flags(flags_common)

_ROOT = flags.DEFINE_string("jhmdb_root", None, "JHMDB folder, or a BADJA folder.")
_RESULTS_DIR = flags.DEFINE_string("results_dir", None, "Where predictions and pck.csv go.")
_SCORE_ONLY = flags.DEFINE_bool("score_only", False, "Score existing predictions only.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Predict again even if predictions exist.")
flags.mark_flags_as_required(["jhmdb_root", "results_dir"])


def main(argv):
  del argv
  # A dataset is read-only: no output of this binary goes inside it.
  files.check_not_inside(_RESULTS_DIR.value, [_ROOT.value], "--results_dir")
  files.check_replaceable_in(_RESULTS_DIR.value, ["pck.csv"], "--results_dir")
  videos = keypoint_datasets.load_videos(_ROOT.value)
  if not _SCORE_ONLY.value:
    tracker = flags_common.make_tracker()
    logging.info("predicting %d videos with %s", len(videos), flags_common.describe(tracker))
    keypoint_eval.predict(videos, tracker, _RESULTS_DIR.value, overwrite=_OVERWRITE.value)
  rows = keypoint_eval.score(videos, _RESULTS_DIR.value)
  keypoint_eval.write_csv(rows, os.path.join(_RESULTS_DIR.value, "pck.csv"))
  print(keypoint_eval.format_table(rows))
  record = results_record.read(_RESULTS_DIR.value)
  logging.info("PCK@0.1 %.2f, PCK@0.2 %.2f (%s, %d videos); pck.csv in %s",
               rows[-1]["PCK@0.1"], rows[-1]["PCK@0.2"],
               record["producer"]["method"] if record else "predictions", len(rows) - 1,
               _RESULTS_DIR.value)


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
