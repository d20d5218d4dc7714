"""Colour conversion: known values, round trips, keras.ops twin vs float64 formula and tfio."""

import warnings

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from colortrack.data import color


def reference_lab_float64(rgb_unit: np.ndarray) -> np.ndarray:
  """Textbook sRGB -> Lab (D65, 2 deg) written out independently in float64."""
  c = rgb_unit.astype(np.float64)
  linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
  r, g, b = linear[..., 0], linear[..., 1], linear[..., 2]
  x = (0.412453 * r + 0.357580 * g + 0.180423 * b) / 0.95047
  y = (0.212671 * r + 0.715160 * g + 0.072169 * b) / 1.0
  z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.08883

  def f(t):
    return np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16.0 / 116.0)

  return np.stack([116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))], axis=-1)


def all_ish_colors() -> np.ndarray:
  """Every 15th value per channel: 18^3 colours covering the sRGB cube, float [0, 1]."""
  levels = np.arange(0, 256, 15) / 255.0
  return np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(1, -1, 3)


class ColorTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      # Standard values for sRGB primaries under D65 (e.g. Lindbloom's calculator).
      ("white", [255, 255, 255], [100.0, 0.0, 0.0]),
      ("black", [0, 0, 0], [0.0, 0.0, 0.0]),
      ("red", [255, 0, 0], [53.24, 80.09, 67.20]),
      ("green", [0, 255, 0], [87.73, -86.18, 83.18]),
      ("blue", [0, 0, 255], [32.30, 79.19, -107.86]),
  )
  def test_known_values(self, rgb, lab):
    self.assertAllClose(color.rgb_to_lab(np.uint8([[rgb]]))[0, 0], lab, atol=0.02)

  def test_numpy_matches_float64_reference(self):
    rgb = all_ish_colors()
    self.assertAllClose(color.rgb_to_lab(rgb), reference_lab_float64(rgb), atol=2e-3)

  def test_numpy_round_trip(self):
    rgb = all_ish_colors()
    self.assertAllClose(color.lab_to_rgb(color.rgb_to_lab(rgb, np.float64), np.float64), rgb,
                        atol=1e-6)

  def test_keras_ops_twin_matches_float64_reference_eagerly(self):
    rgb = all_ish_colors().astype(np.float32)
    lab = color.rgb_to_lab_ops(tf.constant(rgb)).numpy()
    self.assertAllClose(lab, reference_lab_float64(rgb), atol=2e-3)

  def test_keras_ops_twin_matches_tensorflow_io(self):
    # tensorflow-io's rgb_to_lab, the in-graph conversion colortrack used before,
    # kept as an independent cross-check (its Python ops load; its kernels need not).
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      from tensorflow_io.python.experimental import color_ops  # pylint: disable=g-import-not-at-top
    rgb = all_ish_colors().astype(np.float32)
    ours = color.rgb_to_lab_ops(tf.constant(rgb)).numpy()
    self.assertAllClose(ours, color_ops.rgb_to_lab(tf.constant(rgb)).numpy(), atol=1e-3)
    lab = tf.constant(reference_lab_float64(rgb).astype(np.float32))
    self.assertAllClose(color.lab_to_rgb_ops(lab).numpy(),
                        np.clip(color_ops.lab_to_rgb(lab).numpy(), 0, 1), atol=1e-4)

  def test_keras_ops_twin_inside_dataset_map(self):
    rgb = all_ish_colors().astype(np.float32)
    dataset = tf.data.Dataset.from_tensors(rgb).map(color.rgb_to_lab_ops)
    lab = next(iter(dataset)).numpy()
    self.assertAllClose(lab, reference_lab_float64(rgb), atol=2e-3)

  def test_keras_ops_inverse_round_trip(self):
    rgb = all_ish_colors().astype(np.float32)
    back = color.lab_to_rgb_ops(color.rgb_to_lab_ops(tf.constant(rgb))).numpy()
    self.assertAllClose(back, rgb, atol=1e-4)

  def test_keras_ops_twin_equals_numpy_formula(self):
    # One formula: the two paths differ by float32 rounding in the kernels only.
    rgb = np.random.default_rng(0).uniform(0, 1, (4, 9, 3)).astype(np.float32)
    self.assertAllClose(color.rgb_to_lab_ops(tf.constant(rgb)).numpy(), color.rgb_to_lab(rgb),
                        atol=1e-4)
    lab = color.rgb_to_lab(rgb)
    self.assertAllClose(color.lab_to_rgb_ops(tf.constant(lab)).numpy(), color.lab_to_rgb(lab),
                        atol=1e-5)


if __name__ == "__main__":
  tf.test.main()
