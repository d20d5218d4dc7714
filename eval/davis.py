r"""Predicts and scores DAVIS semi-supervised video object segmentation (J and F).

Example (baseline, no model needed):
  python -m eval.davis --davis_root=../shared/data/davis2016 \
      --results_dir=/tmp/davis_flow --method=flow

Writes predictions (palette PNGs) to RESULTS_DIR/<sequence>/, then the official
toolkit's global_results-val.csv and per-sequence_results-val.csv (plus every
statistic per object), prints the table, and writes jf_over_time.png,
per_sequence.png and index.html (tables, plots, and per sequence an H.264 video of
the prediction next to the ground truth; --nohtml skips it). --score_only scores existing predictions without predicting.
"""

import os

from absl import flags
from absl import logging

from colortrack.cli import app as cli_app
from colortrack.cli import tracking_flags as flags_common
from colortrack.evaluation import davis
from colortrack.evaluation import plots
from colortrack.evaluation import report
from colortrack.utils import files

# The shared tracking flags (--model, --radius, ...) are this binary's own: --helpshort lists them.
flags.adopt_module_key_flags(flags_common)

_DAVIS_ROOT = flags.DEFINE_string("davis_root", None, "DAVIS-2016 or DAVIS-2017 folder.")
_RESULTS_DIR = flags.DEFINE_string("results_dir", None, "Where predictions and scores go.")
_SEQUENCES = flags.DEFINE_list("sequences", [], "Sequences to use (default: ImageSets val).")
_SCORE_ONLY = flags.DEFINE_bool("score_only", False, "Score existing predictions only.")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Predict again even if predictions exist.")
_HTML = flags.DEFINE_bool("html", True, "Also write index.html: tables, plots and a "
                          "browser-playable video per sequence (prediction | ground truth).")
flags.mark_flags_as_required(["davis_root", "results_dir"])


def main(argv):
  del argv
  # A dataset is read-only: no output of this binary goes inside it.
  files.check_not_inside(_RESULTS_DIR.value, [_DAVIS_ROOT.value], "--results_dir")
  # Before any work: the results folder's files are new or colortrack's.
  files.check_replaceable_in(_RESULTS_DIR.value, list(davis.CSV_NAMES) + list(
      report.PLOT_NAMES) + [report.PAGE_NAME], "--results_dir")
  sequences = _SEQUENCES.value or davis.list_sequences(_DAVIS_ROOT.value)
  davis.check_sequences(_DAVIS_ROOT.value, sequences, need_frames=not _SCORE_ONLY.value)
  if not _SCORE_ONLY.value:
    tracker = flags_common.make_tracker()
    logging.info("predicting %d sequences with %s", len(sequences),
                 flags_common.describe(tracker))
    davis.predict(_DAVIS_ROOT.value, _RESULTS_DIR.value, tracker, sequences,
                  overwrite=_OVERWRITE.value)
  results = davis.evaluate(_DAVIS_ROOT.value, _RESULTS_DIR.value, sequences)
  davis.write_csvs(results, _RESULTS_DIR.value)
  name = results.method
  plots.jf_over_time({name: results.per_frame_jf()},
                     os.path.join(_RESULTS_DIR.value, report.PLOT_NAMES[0]))
  rows = results.per_object()
  plots.per_sequence_bars([r["object"] for r in rows],
                          {name: [(r["J-Mean"] + r["F-Mean"]) / 2 for r in rows]},
                          os.path.join(_RESULTS_DIR.value, report.PLOT_NAMES[1]))
  print(davis.format_table(results))
  written = "CSVs and plots"
  if _HTML.value:
    page = report.write_davis_page(_DAVIS_ROOT.value, _RESULTS_DIR.value, results, sequences,
                                   f"DAVIS: {name} on {_DAVIS_ROOT.value}")
    written = f"CSVs, plots and {os.path.basename(page)} (videos)"
  logging.info("J&F-Mean %.4f (%s); %s in %s",
               results.global_scores()["J&F-Mean"], name, written, _RESULTS_DIR.value)


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
