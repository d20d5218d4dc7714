"""Encoding masks and keypoints as per-location label channels, and decoding them back."""

from typing import Tuple

import numpy as np

from colortrack.data import masks as masks_lib
from colortrack.inference import grid as grid_lib


def ids_to_onehot(ids: np.ndarray, object_ids: np.ndarray) -> np.ndarray:
  """ids `[H, W]` -> float `[H, W, 1 + K]`: channel 0 background, k the k-th object.

  Void (255) and ids not in `object_ids` count as background.
  """
  channels = [np.isin(ids, object_ids, invert=True)]
  channels += [ids == object_id for object_id in object_ids]
  return np.stack(channels, axis=-1).astype(np.float32)


def onehot_to_ids(probabilities: np.ndarray, object_ids: np.ndarray) -> np.ndarray:
  """Soft `[H, W, 1 + K]` -> ids `[H, W]` by argmax (0 = background)."""
  lookup = np.concatenate([[0], object_ids]).astype(np.uint8)
  return lookup[np.argmax(probabilities, axis=-1)]


def background_weighted(probabilities: np.ndarray, threshold: float) -> np.ndarray:
  """Soft masks `[h, w, 1 + K]` with background (channel 0) x threshold / (1 - threshold).

  Their argmax makes a pixel object k where k's probability beats background's weighed so:
  with one object, where the object's probability is above `threshold` (channels summing
  to 1). Weighing is linear, so it commutes with bilinear upsampling. 0.5: unchanged.
  """
  if threshold == 0.5:
    return probabilities
  weights = np.ones(probabilities.shape[-1], np.float32)
  weights[0] = threshold / (1.0 - threshold)
  return probabilities * weights


# The guided filter's variance floor, for a guide in [0, 1]: small, so an edge as faint as
# DAVIS's low-contrast ones still steers the mask (1e-4 scored within 0.001 J&F of it).
GUIDED_FILTER_EPS = 1e-5


def guided_filter(guide: np.ndarray, probabilities: np.ndarray, radius: int,
                  eps: float = GUIDED_FILTER_EPS, subsample: int = 1) -> np.ndarray:
  """Soft masks `[h, w, C]` moved onto the edges of the frame `guide` `[h, w, 3]` (RGB in
  [0, 1], the same size): the guided filter of He et al. (ECCV 2010), colour guide.

  Each output pixel is an affine function of the guide's colour fitted to the masks over
  the `(2 radius + 1)^2` windows that hold it (least squares, ridge `eps`), so a mask
  blurred across an object's edge by the label grid takes the edge of the image. Linear
  in the masks: channels that sum to 1 still do. Values may leave [0, 1] slightly (only
  their argmax is used). radius 0: unchanged (the same array). `subsample` > 1: the
  coefficients are fitted on the guide and masks shrunk that many times (radius too) and
  applied to the full-size guide (He and Sun's fast guided filter, 2015).
  """
  if radius <= 0:
    return probabilities
  import cv2  # pylint: disable=g-import-not-at-top
  window = (2 * radius + 1, 2 * radius + 1)

  def mean(x):  # window means of one plane [h, w]
    return cv2.boxFilter(x, -1, window, borderType=cv2.BORDER_REFLECT)

  # Planes, each [h, w] and contiguous: numpy and OpenCV are several times faster on
  # them than on strided channels.
  full_colour = [np.ascontiguousarray(guide[..., i], np.float32) for i in range(3)]
  masks = [np.ascontiguousarray(probabilities[..., k], np.float32)
           for k in range(probabilities.shape[-1])]
  height, width = guide.shape[:2]
  colour = full_colour
  subsample = max(1, min(subsample, height, width))  # a frame of a few pixels: as it is
  if subsample > 1:
    small = (width // subsample, height // subsample)
    colour = [cv2.resize(x, small, interpolation=cv2.INTER_AREA) for x in full_colour]
    masks = [cv2.resize(x, small, interpolation=cv2.INTER_AREA) for x in masks]
    radius = max(1, radius // subsample)
    window = (2 * radius + 1, 2 * radius + 1)
  mean_colour = [mean(x) for x in colour]
  # The guide's 3x3 covariance per window (symmetric: 6 entries) + eps, inverted by its
  # adjugate: elementwise, far faster than np.linalg.inv on one matrix per pixel; in
  # float64, as eps is near float32's rounding of a flat window's variance.
  a, b, c, d, e, f = (
      mean(colour[i] * colour[j]).astype(np.float64) - mean_colour[i].astype(np.float64) *
      mean_colour[j] + (eps if i == j else 0.0)
      for i, j in ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)))
  upper = {(0, 0): d * f - e * e, (0, 1): c * e - b * f, (0, 2): b * e - c * d,
           (1, 1): a * f - c * c, (1, 2): b * c - a * e, (2, 2): a * d - b * b}
  inverse_det = 1.0 / (a * upper[0, 0] + b * upper[0, 1] + c * upper[0, 2])
  inverse = {key: (inverse_det * value).astype(np.float32) for key, value in upper.items()}
  out = []
  for mask in masks:
    mean_mask = mean(mask)
    cross = [mean(colour[i] * mask) - mean_colour[i] * mean_mask for i in range(3)]
    slope = [sum(inverse[min(i, j), max(i, j)] * cross[j] for j in range(3)) for i in range(3)]
    offset = mean_mask - sum(slope[i] * mean_colour[i] for i in range(3))
    slope, offset = [mean(x) for x in slope], mean(offset)
    if subsample > 1:
      slope, offset = [cv2.resize(x, (width, height), interpolation=cv2.INTER_LINEAR)
                       for x in slope], cv2.resize(offset, (width, height),
                                                   interpolation=cv2.INTER_LINEAR)
    out.append(sum(slope[i] * full_colour[i] for i in range(3)) + offset)
  return np.stack(out, axis=-1)


def drop_small_components(ids: np.ndarray, object_ids: np.ndarray,
                          fraction: float) -> np.ndarray:
  """ids `[H, W]` with each object's 8-connected pieces smaller than `fraction` x its
  largest piece set to background (0). 0: unchanged (the same array).

  A copied label also lands on background that looks like the object (a red tyre wall
  like a red car): small islands away from the object, each costing J and much of F.
  """
  if fraction <= 0:
    return ids
  import cv2  # pylint: disable=g-import-not-at-top
  out = ids
  for object_id in object_ids:
    count, pieces, stats, _ = cv2.connectedComponentsWithStats(
        (ids == object_id).astype(np.uint8), connectivity=8)
    if count <= 2:  # none or one piece
      continue
    areas = stats[1:, cv2.CC_STAT_AREA]
    small = np.concatenate([[False], areas < fraction * areas.max()])
    if small.any():
      out = out.copy() if out is ids else out
      out[small[pieces]] = 0
  return out


def _linear_taps(size: int, source_size: int):
  """cv2.INTER_LINEAR's taps for upsampling `source_size` -> `size` along one axis:
  (first source index, second source index, weight of the second), each `[size]`."""
  position = (np.arange(size) + 0.5) * (source_size / size) - 0.5
  first = np.floor(position).astype(np.int64)
  weight = (position - first).astype(np.float32)
  weight[first < 0] = 0.0
  first = np.clip(first, 0, source_size - 1)
  weight[first >= source_size - 1] = 0.0
  return first, np.minimum(first + 1, source_size - 1), weight


def upsampled_ids(probabilities: np.ndarray, height: int, width: int,
                  object_ids: np.ndarray) -> np.ndarray:
  """ids `[height, width]` of soft masks `[h, w, 1 + K]` upsampled bilinearly (h <= height).

  Equal to `onehot_to_ids` of the bilinear upsampling (up to float rounding where
  two channels tie), without upsampling every channel: a pixel whose neighbouring
  cells all have the same argmax gets it (a convex mix of cells that agree keeps
  their argmax), so only pixels near a label boundary are interpolated. For HD
  video this is most of the cost of returning full-size masks.
  """
  import cv2  # pylint: disable=g-import-not-at-top
  h, w = probabilities.shape[:2]
  lookup = np.concatenate([[0], object_ids]).astype(np.uint8)
  low = np.argmax(probabilities, axis=-1).astype(np.uint8)
  if (h, w) == (height, width):
    return lookup[low]
  square = np.ones((3, 3), np.uint8)
  mixed = (cv2.dilate(low, square) != cv2.erode(low, square)).astype(np.uint8)
  # INTER_NEAREST picks a cell among each pixel's two bilinear taps per axis.
  ids = cv2.resize(low, (width, height), interpolation=cv2.INTER_NEAREST)
  near = cv2.resize(mixed, (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
  rows, cols = np.nonzero(near)
  if len(rows):
    y0, y1, wy = (a[rows] for a in _linear_taps(height, h))
    x0, x1, wx = (a[cols] for a in _linear_taps(width, w))
    wy, wx = wy[:, None], wx[:, None]
    mixed_values = ((1 - wy) * ((1 - wx) * probabilities[y0, x0] + wx * probabilities[y0, x1]) +
                    wy * ((1 - wx) * probabilities[y1, x0] + wx * probabilities[y1, x1]))
    ids[rows, cols] = np.argmax(mixed_values, axis=-1)
  return lookup[ids]


def harden(probabilities: np.ndarray) -> np.ndarray:
  """One-hot of the argmax, same shape: hard propagation (MAST, Table 6)."""
  return np.eye(probabilities.shape[-1], dtype=np.float32)[np.argmax(probabilities, axis=-1)]


def renormalize(probabilities: np.ndarray, floor: float = 0.0) -> np.ndarray:
  """Soft masks `[h, w, C]`: each channel min-max rescaled over the frame, cells summed to 1.

  Soft propagation diffuses labels: each copy mixes an object's cells with
  background, so its probabilities sink below 0.5 and the argmax mask shrinks
  frame after frame. Rescaling each channel so its range is [0, 1] (UVC's
  `norm_mask`, applied here before the labels enter the memory) keeps a
  confidently tracked object at full strength. Channels with a constant value
  are left as they are, and so are channels whose range is below `floor`: an
  object that has left the frame (its channel nowhere clearly above the rest)
  is not stretched back to full strength on whatever it was smeared over, so
  it can disappear.
  """
  low = probabilities.min(axis=(0, 1), keepdims=True)
  span = probabilities.max(axis=(0, 1), keepdims=True) - low
  scaled = np.where(span > max(floor, 1e-6), (probabilities - low) / np.maximum(span, 1e-6),
                    probabilities)
  return (scaled / np.maximum(scaled.sum(axis=-1, keepdims=True), 1e-6)).astype(np.float32)


def gate_by_first_frame(probabilities: np.ndarray, embedding: np.ndarray,
                        first_embedding: np.ndarray, first_labels: np.ndarray,
                        min_similarity: float) -> np.ndarray:
  """Soft masks `[h, w, 1 + K]`: object k kept only where a first-frame cell of k is alike.

  A cell's channel k is zeroed (its mass moved to background, channel 0) when
  its best dot product with the first frame's cells of object k (first_labels
  >= 0.5) is below `min_similarity`. embedding `[h, w, D]`, first_embedding
  `[h0, w0, D]`, first_labels `[h0, w0, 1 + K]`.
  """
  out = probabilities.copy()
  flat = embedding.reshape(-1, embedding.shape[-1])
  for k in range(1, probabilities.shape[-1]):
    cells = first_embedding[first_labels[..., k] >= 0.5]
    if not len(cells):
      continue
    best = (flat @ cells.T).max(axis=1).reshape(probabilities.shape[:2])
    weak = best < min_similarity
    out[..., 0] += np.where(weak, out[..., k], 0.0)
    out[..., k] = np.where(weak, 0.0, out[..., k])
  return out


def keypoint_heatmaps(points: np.ndarray, grid_h: int, grid_w: int, stride: int,
                      sigma_cells: float = 0.75) -> np.ndarray:
  """Keypoints (x, y) pixels `[K, 2]` -> `[h, w, 1 + K]` on the grid.

  Channel k + 1 is a Gaussian around keypoint k (sigma in grid cells, peak 1);
  channel 0 (background) is 1 - the largest keypoint value, so every cell sums
  to at most 1 + small overlap and the pointer has a category for "nothing".
  """
  centres = grid_lib.cell_centres(grid_h, grid_w, stride)
  diff = (centres[None] - points[:, None, None, :]) / (sigma_cells * stride)
  heat = np.exp(-0.5 * np.sum(diff * diff, axis=-1))  # [K, h, w]
  heat = np.moveaxis(heat, 0, -1)
  background = 1.0 - heat.max(axis=-1, keepdims=True)
  return np.concatenate([background, heat], axis=-1).astype(np.float32)


def decode_keypoints(heatmaps: np.ndarray, stride: int, initial_peaks: np.ndarray,
                     top: int = 5, visibility_ratio: float = 0.3) -> Tuple[np.ndarray, np.ndarray]:
  """Propagated `[h, w, 1 + K]` -> (points `[K, 2]` pixel x, y; visible `[K]`).

  Position: mean of the centres of the `top` cells of each channel, weighted by
  their values. Visible: the channel's peak is still at least
  `visibility_ratio` x its first-frame peak; a keypoint that left the frame
  has nowhere to be copied to and its peak fades.
  """
  h, w, channels = heatmaps.shape
  centres = grid_lib.cell_centres(h, w, stride).reshape(-1, 2)
  flat = heatmaps.reshape(-1, channels)[:, 1:]
  order = np.argsort(-flat, axis=0)[:top]  # [top, K]
  values = np.take_along_axis(flat, order, axis=0)
  weights = values / np.maximum(values.sum(axis=0, keepdims=True), 1e-12)
  points = np.einsum("tk,tkc->kc", weights, centres[order])
  visible = values[0] >= visibility_ratio * np.maximum(initial_peaks, 1e-12)
  return points.astype(np.float32), visible


def first_mask_objects(ids: np.ndarray) -> np.ndarray:
  return masks_lib.object_ids(ids)
