"""sRGB <-> CIE Lab (and HSV), in numpy (data prep) and in `keras.ops` (training, SavedModel).

Conventions, used everywhere in colortrack:
  * RGB is sRGB. uint8 arrays are in [0, 255]; float arrays are in [0, 1].
  * Lab is CIE 1976 L*a*b* with the D65 white point and the 2-degree observer
    (Xn, Yn, Zn) = (0.95047, 1.0, 1.08883), the sRGB primaries matrix below and
    the sRGB transfer curve. L is in [0, 100]; a and b are roughly in
    [-86, 98] and [-108, 95] for in-gamut colours (stored as float, no offset).
  * The gray input of the colorization model is the L channel.

One formula serves both: `rgb_to_lab` / `lab_to_rgb` run it on numpy arrays,
`rgb_to_lab_ops` / `lab_to_rgb_ops` on backend tensors through `keras.ops`
(TensorFlow, JAX; inside tf.data maps and exported SavedModels under the
TensorFlow backend). Tests check both against an independent float64 formula
and against tensorflow-io's `rgb_to_lab`, the cross-check kept from before.
"""

import numpy as np

# sRGB (linear) -> XYZ, D65. Same matrix as tensorflow-io and OpenCV.
_RGB_TO_XYZ = np.array([[0.412453, 0.357580, 0.180423],
                        [0.212671, 0.715160, 0.072169],
                        [0.019334, 0.119193, 0.950227]])
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])
_EPSILON = 0.008856  # (6/29)^3 as rounded in the CIE standard
_KAPPA_SLOPE = 7.787  # (29/6)^2 / 3

L_MAX = 100.0


def _as_unit_float(rgb: np.ndarray, dtype) -> np.ndarray:
  rgb = np.asarray(rgb)
  if rgb.dtype == np.uint8:
    return rgb.astype(dtype) / dtype(255.0)
  return rgb.astype(dtype)


def _rgb_to_lab(rgb, xp, dtype):
  """The formula on float sRGB in [0, 1]; `xp` is numpy or keras.ops (same names)."""
  linear = xp.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
  xyz = xp.matmul(linear, _RGB_TO_XYZ.T.astype(dtype))
  xyz = xyz / D65_WHITE.astype(dtype)
  f = xp.where(xyz > _EPSILON, xp.cbrt(xyz), xyz * _KAPPA_SLOPE + 16.0 / 116.0)
  lightness = 116.0 * f[..., 1] - 16.0
  a = 500.0 * (f[..., 0] - f[..., 1])
  b = 200.0 * (f[..., 1] - f[..., 2])
  return xp.stack([lightness, a, b], axis=-1)


def _lab_to_rgb(lab, xp, dtype):
  fy = (lab[..., 0] + 16.0) / 116.0
  fx = fy + lab[..., 1] / 500.0
  fz = xp.maximum(fy - lab[..., 2] / 200.0, 0.0)
  f = xp.stack([fx, fy, fz], axis=-1)
  xyz = xp.where(f ** 3 > _EPSILON, f ** 3, (f - 16.0 / 116.0) / _KAPPA_SLOPE)
  xyz = xyz * D65_WHITE.astype(dtype)
  linear = xp.matmul(xyz, _XYZ_TO_RGB.T.astype(dtype))
  # Clipped below 0 before the fractional power (no NaN, also in unused branches).
  linear = xp.maximum(linear, 0.0)
  rgb = xp.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, linear * 12.92)
  return xp.clip(rgb, 0.0, 1.0)


def rgb_to_lab(rgb: np.ndarray, dtype=np.float32) -> np.ndarray:
  """sRGB `[..., 3]` (uint8 or float in [0, 1]) -> Lab `[..., 3]` in `dtype`."""
  return _rgb_to_lab(_as_unit_float(rgb, dtype), np, dtype).astype(dtype)


def lab_to_rgb(lab: np.ndarray, dtype=np.float32) -> np.ndarray:
  """Lab `[..., 3]` -> sRGB float `[..., 3]` clipped to [0, 1]."""
  return _lab_to_rgb(np.asarray(lab, dtype=dtype), np, dtype).astype(dtype)


def lab_to_rgb_uint8(lab: np.ndarray) -> np.ndarray:
  return np.round(lab_to_rgb(lab) * 255.0).astype(np.uint8)


def rgb_to_lab_ops(rgb):
  """`rgb_to_lab` on a float32 tensor `[..., 3]` in [0, 1] (any Keras backend)."""
  from keras import ops  # pylint: disable=g-import-not-at-top
  return _rgb_to_lab(ops.cast(rgb, "float32"), ops, np.float32)


def lab_to_rgb_ops(lab):
  """`lab_to_rgb` on a float32 tensor `[..., 3]` (clipped to [0, 1]; any Keras backend)."""
  from keras import ops  # pylint: disable=g-import-not-at-top
  return _lab_to_rgb(ops.cast(lab, "float32"), ops, np.float32)
