r"""Prints DAVIS scores of several result folders side by side.

Example:
  python -m eval.summarize --results_dirs=/tmp/davis_model,/tmp/davis_identity,/tmp/davis_flow

Reads each folder's global_results-val.csv (written by eval.davis).
"""

import csv
import os
import sys

from absl import app
from absl import flags
from absl import logging

from colortrack.evaluation import davis

_RESULTS_DIRS = flags.DEFINE_list("results_dirs", None, "eval.davis result folders.")
_NAMES = flags.DEFINE_list("names", [], "Row names (default: folder names).")
flags.mark_flags_as_required(["results_dirs"])


def main(argv):
  del argv
  names = _NAMES.value or [os.path.basename(os.path.normpath(d)) for d in _RESULTS_DIRS.value]
  width = max(len(n) for n in names) + 2
  print(f"{'method':<{width}}" + "".join(f"{c:>10}" for c in davis.GLOBAL_COLUMNS))
  for name, folder in zip(names, _RESULTS_DIRS.value):
    path = os.path.join(folder, "global_results-val.csv")
    if not os.path.exists(path):
      logging.error("%s: not found (run eval.davis first)", path)
      sys.exit(1)
    with open(path) as f:
      row = next(csv.DictReader(f))
    print(f"{name:<{width}}" + "".join(f"{float(row[c]):10.3f}" for c in davis.GLOBAL_COLUMNS))


if __name__ == "__main__":
  app.run(main)
