"""What colortrack's binaries share: their runner and their common flags.

Only binaries (`colortrack.track`, `data_prep.*`, `train.*`, `eval.*`) import
this package; the library under `colortrack/` never imports absl.flags.
"""

# Before anything imports TensorFlow: keep its load-time banners out of the binaries' output.
from colortrack.cli import quiet  # noqa: F401  pylint: disable=unused-import,g-import-not-at-top
