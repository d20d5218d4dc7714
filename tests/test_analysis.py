"""Analyses: odds ratio goldens and the PCA picture."""

import numpy as np
import tensorflow as tf

from colortrack.evaluation import analysis


class AnalysisTest(tf.test.TestCase):

  def test_odds_ratio_golden(self):
    # Table: both 6, tracking only 2, colorization only 3, neither 9
    # -> (6 x 9) / (2 x 3) = 9; log SE = sqrt(1/6 + 1/2 + 1/3 + 1/9) = 1.0541.
    track = np.array([1] * 6 + [1] * 2 + [0] * 3 + [0] * 9, bool)
    colour = np.array([1] * 6 + [0] * 2 + [1] * 3 + [0] * 9, bool)
    out = analysis.odds_ratio(track, colour)
    self.assertEqual((out["both"], out["tracking_only"], out["colorization_only"],
                      out["neither"]), (6, 2, 3, 9))
    self.assertAllClose(out["odds_ratio"], 9.0)
    self.assertAllClose(out["ci95_low"], 9.0 * np.exp(-1.96 * 1.0540925533894598))
    independent = analysis.odds_ratio(np.array([1, 1, 0, 0], bool), np.array([1, 0, 1, 0], bool))
    self.assertAllClose(independent["odds_ratio"], 1.0)

  def test_odds_ratio_zero_cell_is_corrected(self):
    out = analysis.odds_ratio(np.array([1, 1, 0], bool), np.array([1, 1, 0], bool))
    # Cells 2, 0, 0, 1 -> +0.5 each: (2.5 x 1.5) / (0.5 x 0.5) = 15.
    self.assertAllClose(out["odds_ratio"], 15.0)

  def test_pca_image_separates_two_clusters(self):
    rng = np.random.default_rng(0)
    embeddings = rng.normal(0, 0.01, size=(6, 8, 16))
    embeddings[:, :4, 0] += 1.0  # left half differs along one direction
    image = analysis.pca_image(embeddings)
    self.assertEqual(image.shape, (6, 8, 3))
    self.assertEqual(image.dtype, np.uint8)
    left, right = image[:, :4, 0].astype(int), image[:, 4:, 0].astype(int)
    self.assertGreater(abs(left.mean() - right.mean()), 200)


if __name__ == "__main__":
  tf.test.main()
