"""The paper's baselines: repeat the first annotation (identity), or warp it with optical flow.

Same interface as the learned trackers (`pointer.PointerTracker`): streams of
uint8 RGB frames in, one result per frame out.
"""

import cv2
import numpy as np

from colortrack.data import masks as masks_lib
from colortrack.inference import labels as labels_lib


class IdentityTracker:
  """Repeats the first frame's annotation (the paper's "Identity" baseline)."""

  name = "identity"

  def track_masks(self, frames, first_ids):
    # Void (255) is "not annotated", never a prediction: later frames get background there.
    later = np.where(first_ids == masks_lib.VOID_ID, 0, first_ids).astype(first_ids.dtype)
    for index, _ in enumerate(frames):
      yield first_ids if index == 0 else later

  def track_points(self, frames, first_points):
    first_points = np.asarray(first_points, np.float32)
    for _ in frames:
      yield first_points, np.ones(len(first_points), bool)


def warp_channels(labels: np.ndarray, map_x: np.ndarray, map_y: np.ndarray,
                  max_channels: int = 4) -> np.ndarray:
  """cv2.remap of `[H, W, C]` labels, `max_channels` at a time: OpenCV's remap drops
  images of many channels (every object lost at 128 and more), so any C works."""
  warped = [cv2.remap(labels[..., start:start + max_channels], map_x, map_y,
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            for start in range(0, labels.shape[-1], max_channels)]
  return np.concatenate([w[..., None] if w.ndim == 2 else w for w in warped], axis=-1)


class FlowTracker:
  """Warps the annotation frame to frame with OpenCV Farneback dense optical flow."""

  name = "flow"
  # OpenCV's documented example settings.
  FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5,
                   poly_sigma=1.2, flags=0)

  def _flow(self, source_gray, target_gray):
    return cv2.calcOpticalFlowFarneback(source_gray, target_gray, None, **self.FARNEBACK)

  def track_masks(self, frames, first_ids):
    object_ids = labels_lib.first_mask_objects(first_ids)
    labels = labels_lib.ids_to_onehot(first_ids, object_ids)
    height, width = first_ids.shape
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                 np.arange(height, dtype=np.float32))
    previous = None
    for frame in frames:
      gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
      if previous is not None:
        # Backward flow: where each pixel of this frame was in the previous one.
        flow = self._flow(gray, previous)
        labels = warp_channels(labels, grid_x + flow[..., 0], grid_y + flow[..., 1])
      previous = gray
      yield labels_lib.onehot_to_ids(labels, object_ids)

  def track_points(self, frames, first_points):
    points = np.asarray(first_points, np.float32).copy()
    visible = np.ones(len(points), bool)
    previous = None
    for frame in frames:
      gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
      height, width = gray.shape
      if previous is not None:
        flow = self._flow(previous, gray)
        for k, (x, y) in enumerate(points):
          if visible[k]:
            col = int(np.clip(round(x), 0, width - 1))
            row = int(np.clip(round(y), 0, height - 1))
            points[k] += flow[row, col]
        visible &= (points[:, 0] > -0.5) & (points[:, 0] < width - 0.5) & \
                   (points[:, 1] > -0.5) & (points[:, 1] < height - 0.5)
      previous = gray
      yield points.copy(), visible.copy()
