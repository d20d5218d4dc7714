"""Plots of evaluation results (matplotlib, written as PNG)."""

from typing import Dict, Sequence

import numpy as np

from colortrack.utils import files


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def _save(figure, path: str) -> None:
  with files.atomic_output(path) as tmp_path:
    figure.savefig(tmp_path, format="png", dpi=100, bbox_inches="tight")


def jf_over_time(curves: Dict[str, np.ndarray], path: str) -> None:
  """J&F against normalized time, one line per method (the paper's Fig. 5)."""
  plt = _pyplot()
  figure, axis = plt.subplots(figsize=(6, 4))
  for name, values in curves.items():
    t = (np.arange(len(values)) + 0.5) / len(values)
    axis.plot(t, values, label=name, marker="o", markersize=3)
  axis.set_xlabel("normalized time in the video")
  axis.set_ylabel("J&F (mean over objects)")
  axis.set_ylim(0, 1)
  axis.grid(alpha=0.3)
  axis.legend()
  _save(figure, path)
  plt.close(figure)


def per_sequence_bars(names: Sequence[str], values: Dict[str, Sequence[float]], path: str,
                      ylabel: str = "J&F-Mean") -> None:
  """Grouped bars: one group per sequence/object, one bar per method."""
  plt = _pyplot()
  figure, axis = plt.subplots(figsize=(max(6, 0.6 * len(names) * len(values)), 4))
  width = 0.8 / max(len(values), 1)
  x = np.arange(len(names))
  for index, (method, heights) in enumerate(values.items()):
    axis.bar(x + index * width - 0.4 + width / 2, heights, width, label=method)
  axis.set_xticks(x)
  axis.set_xticklabels(names, rotation=45, ha="right")
  axis.set_ylabel(ylabel)
  axis.set_ylim(0, 1)
  axis.legend()
  _save(figure, path)
  plt.close(figure)
