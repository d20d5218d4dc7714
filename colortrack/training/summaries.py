"""Pictures for TensorBoard: what the colorizer copies, and where it points."""

import numpy as np

from colortrack.data import color


def upsample_nearest(grid: np.ndarray, factor: int) -> np.ndarray:
  return np.repeat(np.repeat(grid, factor, axis=0), factor, axis=1)


def quantized_rgb(lightness: np.ndarray, grid_codes: np.ndarray, centroids: np.ndarray) -> np.ndarray:
  """True colours as the model sees them: L with the codes' ab, uint8 RGB `[H, W, 3]`."""
  stride = lightness.shape[0] // grid_codes.shape[0]
  ab = upsample_nearest(centroids[grid_codes], stride)[:lightness.shape[0], :lightness.shape[1]]
  return color.lab_to_rgb_uint8(np.concatenate([lightness[..., None], ab], -1))


def attention_panel(reference_lightness: np.ndarray, target_lightness: np.ndarray,
                    attention: np.ndarray, points: np.ndarray, stride: int) -> np.ndarray:
  """Where a few target points look: target with points | each reference with heat.

  reference_lightness `[R, H, W]`, target_lightness `[H, W]`, attention
  `[P, R, h, w]` for P target cells `points` `[P, 2]` (row, col on the grid).
  Point p is drawn in colour p; its attention mass is added in that colour.
  Returns uint8 `[H, (R + 1) W, 3]`.
  """
  palette = np.array([[255, 40, 40], [40, 255, 40], [60, 120, 255], [255, 220, 0]], np.float32)
  num_refs, height, width = reference_lightness.shape

  def gray(l):
    return np.repeat((l / 100.0 * 255.0)[..., None], 3, -1) * 0.6

  target = gray(target_lightness)
  for p, (row, col) in enumerate(points):
    target[row * stride:(row + 1) * stride, col * stride:(col + 1) * stride] = palette[p % 4]
  panels = [target]
  for r in range(num_refs):
    image = gray(reference_lightness[r])
    for p in range(len(points)):
      heat = attention[p, r] / max(attention[p].max(), 1e-8)
      heat = upsample_nearest(heat, stride)[:height, :width, None]
      image = image + heat * palette[p % 4]
    panels.append(image)
  return np.clip(np.concatenate(panels, axis=1), 0, 255).astype(np.uint8)
