"""What colortrack's binaries share: their runner and their common flags.

Only binaries (`colortrack.track`, `data_prep.*`, `train.*`, `eval.*`) import
this package; the library under `colortrack/` never imports absl.flags.
"""
