r"""Prints DAVIS scores of several result folders side by side.

Example:
  python -m eval.summarize --results_dirs=/tmp/davis_model,/tmp/davis_identity,/tmp/davis_flow

Reads each folder's global_results-val.csv (written by eval.davis). With
--plot_dir (and --davis_root), scores the folders' predictions again and draws
all methods together: jf_over_time.png (the paper's Fig. 5) and
per_sequence.png (J&F-Mean per object).
"""

import csv
import os

from absl import flags
from absl import logging

from colortrack import errors
from colortrack.cli import app as cli_app
from colortrack.evaluation import davis
from colortrack.evaluation import plots
from colortrack.utils import files

_RESULTS_DIRS = flags.DEFINE_list("results_dirs", None, "eval.davis result folders.")
_NAMES = flags.DEFINE_list("names", [], "Row names (default: folder names).")
_PLOT_DIR = flags.DEFINE_string("plot_dir", None, "Write comparison plots here (needs "
                                "--davis_root).")
_DAVIS_ROOT = flags.DEFINE_string("davis_root", None, "Dataset the folders were predicted on.")
flags.mark_flags_as_required(["results_dirs"])


def main(argv):
  del argv
  names = _NAMES.value or [os.path.basename(os.path.normpath(d)) for d in _RESULTS_DIRS.value]
  if len(names) != len(_RESULTS_DIRS.value):
    raise errors.UserError(f"--names has {len(names)} names for {len(_RESULTS_DIRS.value)} "
                           "--results_dirs")
  if _PLOT_DIR.value and not _DAVIS_ROOT.value:
    raise errors.UserError("--plot_dir needs --davis_root (the dataset the folders were "
                           "predicted on)")
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
    results = {name: davis.evaluate(_DAVIS_ROOT.value, folder, _sequences(folder))
               for name, folder in zip(names, _RESULTS_DIRS.value)}
    files.ensure_output_dir(_PLOT_DIR.value, "--plot_dir")
    plots.jf_over_time({name: r.per_frame_jf() for name, r in results.items()},
                       os.path.join(_PLOT_DIR.value, "jf_over_time.png"))
    objects = [row["object"] for row in next(iter(results.values())).per_object()]
    plots.per_sequence_bars(
        objects, {name: [(row["J-Mean"] + row["F-Mean"]) / 2 for row in r.per_object()]
                  for name, r in results.items()},
        os.path.join(_PLOT_DIR.value, "per_sequence.png"))
    logging.info("plots in %s", _PLOT_DIR.value)


def _sequences(folder: str):
  """The sequences a results folder holds predictions for."""
  return sorted(name for name in os.listdir(folder)
                if os.path.isdir(os.path.join(folder, name)))


if __name__ == "__main__":
  cli_app.run(main)
