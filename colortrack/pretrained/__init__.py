"""Trained trackers shipped with colortrack; each folder has a MODEL_CARD.md.

`DEFAULT_MODEL` is what `colortrack.track`, `eval.davis` and `eval.jhmdb` use
when no `--model` is given.
"""

import os

from colortrack import errors

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
DEFAULT_MODEL = os.path.join(DIRECTORY, "ensemble_cpu")

# Points on the speed / quality frontier (`benchmarks/frontier.py`; README "Results"): a
# shipped model and the test-time settings that override its defaults. `--profile` /
# load_tracker's `profile=`; explicit flags and keywords override a profile's settings.
# "default" is the default model as it is (its own settings: frames embedded at most 400
# pixels on their short side, radius 13 cells); "best" embeds 480p frames as they are and
# searches 16 cells around each (slower, +0.008 DAVIS-2016 dev J&F, -0.001 on the 5
# sequences the settings were chosen on).
PROFILES = {
    "best": ("ensemble_cpu", {"max_short_side": 480, "radius": 16}),  # four networks
    "default": ("ensemble_cpu", {}),  # four networks, smaller frames and window
    "fast": ("mast_crop256", {}),  # one network (MAST at 256-pixel crops)
}
DEFAULT_PROFILE = "default"


def profile(name: str):
  """(model path, settings) of a profile; UserError naming the profiles for another name."""
  if name not in PROFILES:
    raise errors.UserError(f"profile {name!r}: use one of {', '.join(PROFILES)}")
  model, settings = PROFILES[name]
  return os.path.join(DIRECTORY, model), dict(settings)
