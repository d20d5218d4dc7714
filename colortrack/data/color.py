"""sRGB <-> CIE Lab, in numpy (data prep) and in-graph (tf.data, SavedModel).

Conventions, used everywhere in colortrack:
  * RGB is sRGB. uint8 arrays are in [0, 255]; float arrays are in [0, 1].
  * Lab is CIE 1976 L*a*b* with the D65 white point and the 2-degree observer
    (Xn, Yn, Zn) = (0.95047, 1.0, 1.08883), the sRGB primaries matrix below and
    the sRGB transfer curve. L is in [0, 100]; a and b are roughly in
    [-86, 98] and [-108, 95] for in-gamut colours (stored as float, no offset).
  * The gray input of the colorization model is the L channel.

The in-graph twin is tensorflow-io's `tfio.experimental.color.rgb_to_lab`
(a Python-only op built from TF primitives, so it runs with any TensorFlow and
inside an exported SavedModel); tests check it against the float64 formula here.
"""

import warnings

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


def rgb_to_lab(rgb: np.ndarray, dtype=np.float32) -> np.ndarray:
  """sRGB `[..., 3]` (uint8 or float in [0, 1]) -> Lab `[..., 3]` in `dtype`."""
  rgb = _as_unit_float(rgb, dtype)
  linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
  xyz = linear @ _RGB_TO_XYZ.T.astype(dtype)
  xyz = xyz / D65_WHITE.astype(dtype)
  f = np.where(xyz > _EPSILON, np.cbrt(xyz), xyz * _KAPPA_SLOPE + 16.0 / 116.0)
  lightness = 116.0 * f[..., 1] - 16.0
  a = 500.0 * (f[..., 0] - f[..., 1])
  b = 200.0 * (f[..., 1] - f[..., 2])
  return np.stack([lightness, a, b], axis=-1).astype(dtype)


def lab_to_rgb(lab: np.ndarray, dtype=np.float32) -> np.ndarray:
  """Lab `[..., 3]` -> sRGB float `[..., 3]` clipped to [0, 1]."""
  lab = np.asarray(lab, dtype=dtype)
  fy = (lab[..., 0] + 16.0) / 116.0
  fx = fy + lab[..., 1] / 500.0
  fz = np.maximum(fy - lab[..., 2] / 200.0, 0.0)
  f = np.stack([fx, fy, fz], axis=-1)
  xyz = np.where(f ** 3 > _EPSILON, f ** 3, (f - 16.0 / 116.0) / _KAPPA_SLOPE)
  xyz = xyz * D65_WHITE.astype(dtype)
  linear = xyz @ _XYZ_TO_RGB.T.astype(dtype)
  linear = np.clip(linear, 0.0, None)
  rgb = np.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, linear * 12.92)
  return np.clip(rgb, 0.0, 1.0).astype(dtype)


def lab_to_rgb_uint8(lab: np.ndarray) -> np.ndarray:
  return np.round(lab_to_rgb(lab) * 255.0).astype(np.uint8)


def _tfio_color():
  # tensorflow-io prints warnings at import because its compiled kernels do not
  # load with TF >= 2.18; the colour ops we use are pure Python and unaffected.
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from tensorflow_io.python.experimental import color_ops  # pylint: disable=g-import-not-at-top
  return color_ops


def rgb_to_lab_tf(rgb):
  """In-graph twin of `rgb_to_lab`: float sRGB `[..., H, W, 3]` in [0, 1] -> Lab."""
  return _tfio_color().rgb_to_lab(rgb)


def lab_to_rgb_tf(lab):
  """In-graph twin of `lab_to_rgb` (not clipped; clip with tf.clip_by_value)."""
  return _tfio_color().lab_to_rgb(lab)
