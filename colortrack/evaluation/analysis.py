"""Analyses of the paper (sec. 5): failure co-occurrence and a picture of the embedding."""

from typing import Dict

import numpy as np


def odds_ratio(tracking_failed: np.ndarray, colorization_failed: np.ndarray) -> Dict[str, float]:
  """Odds ratio of the 2x2 table of per-frame failures (a tracking failure's odds of
  coinciding with a colorization failure, over its odds otherwise).

  With a zero cell, 0.5 is added to every cell (Haldane-Anscombe correction) so
  the ratio stays finite. Returns the table, the ratio and its log's 95%
  confidence interval (Woolf).
  """
  track = np.asarray(tracking_failed, bool).ravel()
  colour = np.asarray(colorization_failed, bool).ravel()
  both = float(np.sum(track & colour))
  track_only = float(np.sum(track & ~colour))
  colour_only = float(np.sum(~track & colour))
  neither = float(np.sum(~track & ~colour))
  cells = np.array([both, track_only, colour_only, neither])
  if np.any(cells == 0):
    cells = cells + 0.5
  ratio = cells[0] * cells[3] / (cells[1] * cells[2])
  log_se = float(np.sqrt(np.sum(1.0 / cells)))
  return {"both": both, "tracking_only": track_only, "colorization_only": colour_only,
          "neither": neither, "odds_ratio": float(ratio),
          "ci95_low": float(np.exp(np.log(ratio) - 1.96 * log_se)),
          "ci95_high": float(np.exp(np.log(ratio) + 1.96 * log_se))}


def format_table(result: Dict[str, float]) -> str:
  """The 2x2 table of `odds_ratio` and the ratio, as printed by eval.failures."""
  rows = [("", "colorization failed", "colorization fine"),
          ("tracking failed", f"{result['both']:.0f}", f"{result['tracking_only']:.0f}"),
          ("tracking fine", f"{result['colorization_only']:.0f}", f"{result['neither']:.0f}")]
  lines = [f"{a:<16}{b:>21}{c:>19}" for a, b, c in rows]
  lines.append(f"odds ratio {result['odds_ratio']:.2f} (95% CI {result['ci95_low']:.2f}-"
               f"{result['ci95_high']:.2f})")
  return "\n".join(lines)


def pca_image(embeddings: np.ndarray) -> np.ndarray:
  """Embeddings `[h, w, D]` -> uint8 RGB `[h, w, 3]`: the first 3 principal components.

  Each component is mapped to [0, 255] between its 1st and 99th percentiles, so
  similar embeddings get similar colours (the paper's Fig. 7 style).
  """
  h, w, dim = embeddings.shape
  flat = embeddings.reshape(-1, dim).astype(np.float64)
  flat = flat - flat.mean(axis=0)
  _, _, components = np.linalg.svd(flat, full_matrices=False)
  projected = flat @ components[:3].T
  low = np.percentile(projected, 1, axis=0)
  high = np.percentile(projected, 99, axis=0)
  scaled = (projected - low) / np.maximum(high - low, 1e-12)
  return (np.clip(scaled, 0, 1) * 255).round().astype(np.uint8).reshape(h, w, 3)
