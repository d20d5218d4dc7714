"""Mapping labels between pixels and the embedding grid.

Frames are padded at the bottom/right to a multiple of the stride s, so grid
cell (i, j) covers pixel rows i*s .. (i+1)*s - 1 and columns j*s .. (j+1)*s - 1.
Point coordinates are 0-based pixels with pixel (col c, row r) centred at
x = c, y = r (JHMDB's pos_img - 1); the centre of cell (i, j) is then
x = j*s + (s - 1) / 2, y = i*s + (s - 1) / 2.
"""

import cv2
import numpy as np


def grid_shape(height: int, width: int, stride: int):
  return -(-height // stride), -(-width // stride)


def pixels_to_grid(labels: np.ndarray, stride: int) -> np.ndarray:
  """Soft labels `[H, W, C]` -> `[h, w, C]`: the mean over each cell's pixels.

  Pixels added by padding replicate the edge, as the frames are padded.
  """
  height, width = labels.shape[:2]
  h, w = grid_shape(height, width, stride)
  padded = np.pad(labels, [(0, h * stride - height), (0, w * stride - width), (0, 0)],
                  mode="edge")
  return padded.reshape(h, stride, w, stride, -1).mean(axis=(1, 3)).astype(np.float32)


def grid_to_pixels(grid: np.ndarray, stride: int, height: int, width: int) -> np.ndarray:
  """`[h, w, C]` -> `[H, W, C]` by bilinear interpolation between cell centres."""
  h, w, channels = grid.shape
  # cv2 maps output pixel centre x + 0.5 to input (x + 0.5) / stride - 0.5: cell centres.
  full = np.stack([cv2.resize(grid[..., c], (w * stride, h * stride),
                              interpolation=cv2.INTER_LINEAR) for c in range(channels)], -1)
  return full[:height, :width]


def cell_centres(h: int, w: int, stride: int) -> np.ndarray:
  """Pixel (x, y) of each cell centre, `[h, w, 2]` (see module docstring)."""
  ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
  offset = (stride - 1) / 2.0
  return np.stack([xs * stride + offset, ys * stride + offset], axis=-1)


def cell_coords(h: int, w: int) -> np.ndarray:
  """Grid (row, col) of each cell, flattened `[h * w, 2]`."""
  rows, cols = np.mgrid[0:h, 0:w]
  return np.stack([rows.ravel(), cols.ravel()], axis=-1).astype(np.float32)
