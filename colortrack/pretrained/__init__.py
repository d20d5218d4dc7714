"""Trained trackers shipped with colortrack; each folder has a MODEL_CARD.md.

`DEFAULT_MODEL` is what `colortrack.track`, `eval.davis` and `eval.jhmdb` use
when no `--model` is given.
"""

import os

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.join(DIRECTORY, "ensemble_cpu")
