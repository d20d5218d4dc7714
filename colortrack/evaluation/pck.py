"""PCK for keypoint propagation, under the CRW/UVC protocol for JHMDB (numpy).

Protocol: frame 0 (the given annotation) is skipped; per frame the normaliser
is 0.6 x the diagonal of the box around that frame's GT joints; a joint is
correct at alpha when its distance to the GT is <= alpha x normaliser. PCK is
computed per joint over all frames (of all videos), then averaged over joints,
in percent. Joints marked not visible in the GT are not counted (JHMDB marks
every joint visible; BADJA does not).
"""

from typing import Dict, Optional, Sequence
import warnings

import numpy as np

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)


def box_normaliser(gt: np.ndarray, visible: np.ndarray) -> np.ndarray:
  """0.6 x diagonal of the box around the visible GT joints: gt `[T, K, 2]` -> `[T]`."""
  big = np.where(visible[..., None], gt, np.nan)
  with warnings.catch_warnings():  # a frame with no visible joint: NaN, not counted
    warnings.simplefilter("ignore", RuntimeWarning)
    span = np.nanmax(big, axis=1) - np.nanmin(big, axis=1)
  return 0.6 * np.sqrt(np.sum(span ** 2, axis=-1))


def correct_joints(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
                   thresholds: Sequence[float] = THRESHOLDS) -> Dict[float, np.ndarray]:
  """Per threshold, a float array `[T - 1, K]`: 1 correct, 0 wrong, NaN not counted."""
  pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
  visible = np.ones(gt.shape[:2], bool) if visible is None else np.asarray(visible, bool)
  pred, gt, visible = pred[1:], gt[1:], visible[1:]
  distance = np.linalg.norm(pred - gt, axis=-1)
  normaliser = box_normaliser(gt, visible)[:, None]
  out = {}
  for alpha in thresholds:
    hit = (distance <= alpha * normaliser).astype(np.float64)
    out[alpha] = np.where(visible, hit, np.nan)
  return out


def pck(per_video: Sequence[Dict[float, np.ndarray]]) -> Dict[float, float]:
  """PCK in percent: mean over frames per joint (all videos together), then over joints."""
  out = {}
  for alpha in per_video[0]:
    stacked = np.concatenate([v[alpha] for v in per_video], axis=0)
    with warnings.catch_warnings():  # a joint never visible has no frames: NaN, skipped
      warnings.simplefilter("ignore", RuntimeWarning)
      per_joint = np.nanmean(stacked, axis=0)
    out[alpha] = float(100.0 * np.nanmean(per_joint))
  return out
