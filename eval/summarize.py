r"""Prints DAVIS scores of several result folders side by side.

Example:
  python -m eval.summarize --results_dirs=/tmp/davis_model,/tmp/davis_identity,/tmp/davis_flow

Reads each folder's global_results-val.csv (written by eval.davis). With
--plot_dir (and --davis_root), scores the folders' predictions again and draws
all methods together: jf_over_time.png (the paper's Fig. 5),
per_sequence.png (J&F-Mean per object), and index.html: per sequence, every
method's video side by side, playing in sync (static files; open in a browser).
"""

import csv
import os

from absl import flags
from absl import logging

from colortrack import errors
from colortrack.cli import app as cli_app
from colortrack.evaluation import davis
from colortrack.evaluation import plots
from colortrack.evaluation import report
from colortrack.utils import files

_RESULTS_DIRS = flags.DEFINE_list("results_dirs", None, "eval.davis result folders.")
_NAMES = flags.DEFINE_list("names", [], "Row names (default: folder names).")
_PLOT_DIR = flags.DEFINE_string("plot_dir", None, "Write comparison plots and index.html "
                                "(the methods' videos side by side) here (needs --davis_root).")
_DAVIS_ROOT = flags.DEFINE_string("davis_root", None, "Dataset the folders were predicted on.")
flags.mark_flags_as_required(["results_dirs"])
# What --plot_dir receives (report.write_comparison_page names the page).
PLOT_DIR_FILES = report.PLOT_NAMES + (report.PAGE_NAME,)


def main(argv):
  del argv
  names = _NAMES.value or [os.path.basename(os.path.normpath(d)) for d in _RESULTS_DIRS.value]
  if len(names) != len(_RESULTS_DIRS.value):
    raise errors.UserError(f"--names has {len(names)} names for {len(_RESULTS_DIRS.value)} "
                           "--results_dirs")
  if _PLOT_DIR.value and not _DAVIS_ROOT.value:
    raise errors.UserError("--plot_dir needs --davis_root (the dataset the folders were "
                           "predicted on)")
  if _PLOT_DIR.value:  # before any work: never into what it reads, never over a user's file
    files.check_not_inside(_PLOT_DIR.value, list(_RESULTS_DIRS.value) + [_DAVIS_ROOT.value],
                           "--plot_dir")
    files.check_replaceable_in(_PLOT_DIR.value, PLOT_DIR_FILES, "--plot_dir")
  width = max(len(n) for n in names) + 2
  print(f"{'method':<{width}}" + "".join(f"{c:>10}" for c in davis.GLOBAL_COLUMNS))
  for name, folder in zip(names, _RESULTS_DIRS.value):
    path = os.path.join(folder, "global_results-val.csv")
    if not os.path.exists(path):
      raise errors.UserError(f"{path}: not found (run eval.davis first)")
    with open(path) as f:
      row = next(csv.DictReader(f))
    print(f"{name:<{width}}" + "".join(f"{float(row[c]):10.3f}" for c in davis.GLOBAL_COLUMNS))
  if _PLOT_DIR.value:
    sequences = _sequences(_DAVIS_ROOT.value, _RESULTS_DIRS.value[0])
    results = {name: davis.evaluate(_DAVIS_ROOT.value, folder, sequences)
               for name, folder in zip(names, _RESULTS_DIRS.value)}
    files.ensure_output_dir(_PLOT_DIR.value, "--plot_dir", claim=True)
    plots.jf_over_time({name: r.per_frame_jf() for name, r in results.items()},
                       os.path.join(_PLOT_DIR.value, PLOT_DIR_FILES[0]))
    objects = [row["object"] for row in next(iter(results.values())).per_object()]
    plots.per_sequence_bars(
        objects, {name: [(row["J-Mean"] + row["F-Mean"]) / 2 for row in r.per_object()]
                  for name, r in results.items()},
        os.path.join(_PLOT_DIR.value, PLOT_DIR_FILES[1]))
    page = report.write_comparison_page(_PLOT_DIR.value, names, _RESULTS_DIRS.value, results,
                                        sequences)
    logging.info("plots and %s in %s", os.path.basename(page), _PLOT_DIR.value)


def _sequences(davis_root: str, folder: str):
  """The dataset's sequences that a results folder holds predictions for."""
  return [s for s in davis.list_sequences(davis_root) if davis.has_predictions(folder, s)]


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
