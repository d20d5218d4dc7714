"""Codebook: quantization goldens, k-means fit, file format and errors, reservoir."""

import os

import numpy as np
import tensorflow as tf

from colortrack.data import codebook as codebook_lib
from tests import testing_utils


class CodebookTest(tf.test.TestCase):

  def test_quantize_picks_nearest_centroid(self):
    codebook = codebook_lib.Codebook(np.float32([[0, 0], [10, 0], [0, -10]]))
    ab = np.float32([[1, 1], [6, 0], [4, 0], [0, -6], [-5, -4.9]])
    # Distances^2 to (0,0),(10,0),(0,-10): [1,1]->2,82,122; [6,0]->36,16,136;
    # [4,0]->16,36,116; [0,-6]->36,136,16; [-5,-4.9]->49.01,249.01,51.01.
    self.assertAllEqual(codebook.quantize(ab), [0, 1, 0, 2, 0])

  def test_dequantize_returns_centroids(self):
    codebook = testing_utils.hue_codebook()
    codes = np.array([[0, 3], [7, 1]])
    self.assertAllClose(codebook.dequantize(codes), codebook.centroids[codes])
    self.assertAllEqual(codebook.quantize(codebook.dequantize(codes)), codes)

  def test_fit_recovers_separated_clusters(self):
    rng = np.random.default_rng(0)
    centres = np.float32([[-40, -40], [-40, 40], [40, -40], [40, 40]])
    samples = np.concatenate([c + rng.normal(0, 2, size=(500, 2)) for c in centres])
    codebook = codebook_lib.fit(samples, num_clusters=4, seed=0)
    fitted = sorted(map(tuple, np.round(codebook.centroids / 40)))
    self.assertEqual(fitted, sorted(map(tuple, centres / 40)))
    self.assertAllClose(codebook.info["cluster_fractions"], [0.25] * 4)

  def test_fit_needs_enough_samples(self):
    with self.assertRaisesRegex(codebook_lib.CodebookError, "at least 16"):
      codebook_lib.fit(np.zeros((5, 2)), num_clusters=16)

  def test_save_load_round_trip(self):
    path = os.path.join(self.get_temp_dir(), "codebook.npz")
    codebook = codebook_lib.Codebook(testing_utils.hue_codebook().centroids, {"input": "x"})
    codebook_lib.save(codebook, path)
    loaded = codebook_lib.load(path)
    self.assertAllEqual(loaded.centroids, codebook.centroids)
    self.assertEqual(loaded.sha, codebook.sha)
    self.assertEqual(loaded.info["input"], "x")
    self.assertEqual(loaded.info["num_clusters"], 8)

  def test_load_missing_file_names_it(self):
    with self.assertRaisesRegex(codebook_lib.CodebookError, "nope.npz: codebook file not found"):
      codebook_lib.load("nope.npz")

  def test_load_rejects_wrong_shape_and_garbage(self):
    bad_shape = os.path.join(self.get_temp_dir(), "bad_shape.npz")
    np.savez(bad_shape, centroids=np.zeros((4, 3), np.float32))
    with self.assertRaisesRegex(codebook_lib.CodebookError, r"bad_shape.npz: .*\[K, 2\]"):
      codebook_lib.load(bad_shape)
    garbage = os.path.join(self.get_temp_dir(), "garbage.npz")
    with open(garbage, "w") as f:
      f.write("not numpy")
    with self.assertRaisesRegex(codebook_lib.CodebookError, "garbage.npz: not a colortrack"):
      codebook_lib.load(garbage)

  def test_sample_is_bounded_and_uniform(self):
    sampler = codebook_lib.ReservoirSampler(capacity=1000, dim=2, seed=0)
    for start in range(0, 100_000, 700):  # uneven sources
      stop = min(start + 700, 100_000)
      values = np.arange(start, stop, dtype=np.float32)
      sampler.add(np.stack([values, values], axis=1), source_index=start)
    sample = sampler.result()
    self.assertEqual(sample.shape, (1000, 2))
    self.assertEqual(sampler.seen, 100_000)
    self.assertLen(np.unique(sample[:, 0]), 1000)
    # A uniform sample of 0..99999 has mean 49999.5 and std of the mean ~913.
    self.assertAllClose(sample[:, 0].mean(), 49999.5, atol=3000)
    # Each decile holds ~100 of the 1000 (binomial std ~9.5).
    deciles = np.bincount((sample[:, 0] // 10_000).astype(int), minlength=10)
    self.assertAllInRange(deciles, 60, 140)

  def test_sample_keeps_everything_below_capacity(self):
    sampler = codebook_lib.ReservoirSampler(capacity=10, dim=2)
    sampler.add(np.ones((4, 2)))
    self.assertAllEqual(sampler.result(), np.ones((4, 2)))

  def test_parts_merge_to_the_one_pass_sample(self):
    # A job array of 3 tasks (task t samples sources t, t+3, ...) merged gives exactly
    # the sample of one pass over all sources: keys depend on (seed, source) only.
    rng = np.random.default_rng(1)
    sources = [rng.normal(size=(int(n), 2)).astype(np.float32)
               for n in rng.integers(50, 400, 12)]
    one = codebook_lib.ReservoirSampler(capacity=300, dim=2, seed=5)
    for index, rows in enumerate(sources):
      one.add(rows, index)
    merged = codebook_lib.ReservoirSampler(capacity=300, dim=2, seed=5)
    for task in range(3):
      part = codebook_lib.ReservoirSampler(capacity=300, dim=2, seed=5)
      for index in range(task, len(sources), 3):
        part.add(sources[index], index)
      merged.merge(part.state())
    self.assertAllEqual(merged.result(), one.result())
    self.assertEqual(merged.seen, one.seen)
    # Another seed, another sample.
    other = codebook_lib.ReservoirSampler(capacity=300, dim=2, seed=6)
    for index, rows in enumerate(sources):
      other.add(rows, index)
    self.assertNotAllClose(other.result(), one.result())


if __name__ == "__main__":
  tf.test.main()
