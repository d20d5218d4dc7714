"""colortrack: self-supervised tracking by learning to colorize video.

Python API (`colortrack.api`): `colortrack.load_tracker()` then
`tracker.track_masks(frames, first_mask)` / `tracker.track_points(frames, points)`.
"""

__version__ = "0.1.0"


def load_tracker(*args, **kwargs):
  """See `colortrack.api.load_tracker` (imported on first use: TensorFlow loads then)."""
  from colortrack import api  # pylint: disable=g-import-not-at-top
  return api.load_tracker(*args, **kwargs)
