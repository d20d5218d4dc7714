"""Model layers and the pointer: shapes, stride, goldens, properties by construction."""

import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from colortrack.inference import propagation
from colortrack.modeling import colorizer
from colortrack.modeling import layers
from colortrack.modeling import losses
from colortrack.modeling import resnet

TINY = dict(encoder_widths=(4, 4, 8, 8), encoder_blocks=(1, 1, 1, 1), head_width=8,
            embed_dim=6)


def unit_rows(rng, n, d):
  x = rng.normal(size=(n, d)).astype(np.float32)
  return x / np.linalg.norm(x, axis=1, keepdims=True)


class EncoderTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ("stride8", 8, 64, 64, (8, 8)),
      ("stride8_odd_size", 8, 70, 90, (9, 12)),  # ceil(70/8), ceil(90/8)
      ("stride16", 16, 64, 64, (4, 4)),
      ("stride32", 32, 64, 64, (2, 2)),
  )
  def test_output_stride(self, stride, height, width, grid):
    encoder = resnet.ResNetEncoder((4, 4, 8, 8), (1, 1, 1, 1), output_stride=stride)
    outputs = encoder(tf.zeros((2, height, width, 1)))
    self.assertEqual(tuple(outputs["stage4"].shape), (2,) + grid + (8,))
    self.assertEqual(tuple(outputs["stem"].shape[1:3]), (-(-height // 4), -(-width // 4)))
    self.assertEqual(sorted(outputs), ["stage1", "stage2", "stage3", "stage4", "stem"])

  def test_paper_resnet18_parameter_count(self):
    encoder = resnet.ResNetEncoder()
    encoder(tf.zeros((1, 32, 32, 1)))
    # torchvision resnet18 has 11,689,512 parameters; minus the classifier
    # (512 x 1000 + 1000) and minus the stem's weights for 2 of its 3 input
    # channels (gray input): 11,689,512 - 513,000 - 2 x 64 x 7 x 7 = 11,170,240.
    # BatchNorm's trainable weights (gamma, beta) count alike in both.
    trainable = sum(int(np.prod(w.shape)) for w in encoder.trainable_weights)
    self.assertEqual(trainable, 11_689_512 - 513_000 - 2 * 64 * 49)

  def test_bad_stride(self):
    with self.assertRaisesRegex(ValueError, "output_stride"):
      resnet.ResNetEncoder(output_stride=6)


class LayersTest(tf.test.TestCase):

  def test_coordinate_channels_golden(self):
    out = layers.CoordinateChannels()(tf.zeros((1, 2, 4, 3))).numpy()
    self.assertEqual(out.shape, (1, 2, 4, 5))
    # x_j = (2j + 1) / 4 - 1; y_i = (2i + 1) / 2 - 1.
    self.assertAllClose(out[0, 0, :, 3], [-0.75, -0.25, 0.25, 0.75])
    self.assertAllClose(out[0, :, 0, 4], [-0.5, 0.5])

  def test_head_keeps_frames_independent_with_temporal_kernel_1(self):
    head = layers.EmbeddingHead(width=8, embed_dim=4, temporal_kernel=1)
    clip = tf.random.normal((1, 3, 5, 5, 6), seed=1)
    changed = tf.concat([clip[:, :1], clip[:, 1:2] + 1.0, clip[:, 2:]], axis=1)
    a, b = head(clip).numpy(), head(changed).numpy()
    self.assertAllClose(a[:, 0], b[:, 0])
    self.assertNotAllClose(a[:, 1], b[:, 1])

  def test_head_mixes_frames_with_temporal_kernel_3(self):
    head = layers.EmbeddingHead(width=8, embed_dim=4, temporal_kernel=3)
    clip = tf.random.normal((1, 3, 5, 5, 6), seed=1)
    changed = tf.concat([clip[:, :1], clip[:, 1:2] + 1.0, clip[:, 2:]], axis=1)
    self.assertNotAllClose(head(clip)[:, 0], head(changed)[:, 0])

  def test_layers_serialize(self):
    for layer in (resnet.BasicBlock(8, stride=2), layers.EmbeddingHead(8, 4, (1, 2), 3),
                  layers.Pointer(0.5, 7), layers.CoordinateChannels()):
      clone = layer.__class__.from_config(layer.get_config())
      self.assertEqual(clone.get_config(), layer.get_config())
    model = colorizer.Colorizer(**TINY)
    self.assertEqual(colorizer.Colorizer.from_config(model.get_config()).get_config(),
                     model.get_config())
    self.assertIn("colortrack>Pointer", keras.saving.get_registered_name(layers.Pointer))


class PointerTest(tf.test.TestCase, parameterized.TestCase):

  def test_rows_sum_to_one(self):
    rng = np.random.default_rng(0)
    attention = layers.Pointer(temperature=0.5).attention(
        rng.normal(size=(2, 7, 4)).astype(np.float32),
        rng.normal(size=(2, 11, 4)).astype(np.float32))
    self.assertEqual(attention.shape, (2, 7, 11))
    self.assertAllClose(tf.reduce_sum(attention, -1), np.ones((2, 7)), atol=1e-6)

  def test_identity_embeddings_copy_labels_exactly(self):
    # Location n has embedding e_n (one-hot): the target matches reference n with
    # logit 1/T and every other with 0; at T = 0.01 the weight off n is e^-100.
    eye = np.eye(6, dtype=np.float32)[None]
    labels = np.random.default_rng(1).uniform(size=(1, 6, 3)).astype(np.float32)
    copied = layers.Pointer(temperature=0.01)(eye, eye, labels)
    self.assertAllClose(copied, labels, atol=1e-6)

  @parameterized.parameters(1, 3, -2)
  def test_shifted_features_give_shifted_labels(self, shift):
    # Reference frame features f[h, w]; the target is the same scene moved right
    # by `shift` columns (circularly). Unit random vectors in 32-d: self-affinity
    # 1, others |.| < ~0.7, so at T = 0.02 the copy is exact to ~e^-15.
    rng = np.random.default_rng(2)
    height, width, dim = 4, 6, 32
    features = unit_rows(rng, height * width, dim).reshape(height, width, dim)
    labels = np.eye(5, dtype=np.float32)[rng.integers(0, 5, size=(height, width))]
    target = np.roll(features, shift, axis=1)
    copied = layers.Pointer(temperature=0.02)(
        target.reshape(1, -1, dim), features.reshape(1, -1, dim), labels.reshape(1, -1, 5))
    self.assertAllClose(np.asarray(copied).reshape(height, width, 5),
                        np.roll(labels, shift, axis=1), atol=1e-5)

  def test_chunked_equals_unchunked(self):
    rng = np.random.default_rng(3)
    target = rng.normal(size=(2, 23, 4)).astype(np.float32)
    refs = rng.normal(size=(2, 9, 4)).astype(np.float32)
    labels = rng.uniform(size=(2, 9, 3)).astype(np.float32)
    full = layers.Pointer(0.7, chunk_size=1000)(target, refs, labels)
    chunked = layers.Pointer(0.7, chunk_size=5)(target, refs, labels)
    self.assertAllClose(full, chunked, atol=1e-6)

  def test_tf_propagation_matches_pointer_and_top_k(self):
    rng = np.random.default_rng(4)
    target = rng.normal(size=(13, 4)).astype(np.float32)
    refs = rng.normal(size=(9, 4)).astype(np.float32)
    labels = rng.uniform(size=(9, 3)).astype(np.float32)
    expected = layers.Pointer(0.5)(target[None], refs[None], labels[None])[0]
    self.assertAllClose(propagation.propagate(target, refs, labels, 0.5, chunk_size=4),
                        expected, atol=1e-6)
    self.assertAllClose(propagation.propagate(target, refs, labels, 0.5, top_k=9), expected,
                        atol=1e-6)
    # top-1 copies the label of the best-matching reference.
    best = np.argmax(target @ refs.T, axis=1)
    self.assertAllClose(propagation.propagate(target, refs, labels, 0.5, top_k=1),
                        labels[best], atol=1e-6)
    in_graph = tf.function(lambda t: propagation.propagate(t, refs, labels, 0.5, chunk_size=4))
    self.assertAllClose(in_graph(target), expected, atol=1e-6)


class ColorizerTest(tf.test.TestCase):

  def test_embedding_shape(self):
    model = colorizer.Colorizer(**TINY)
    self.assertEqual(model(tf.zeros((2, 4, 32, 48, 1))).shape, (2, 4, 4, 6, 6))

  def test_normalized_embeddings_have_unit_norm(self):
    model = colorizer.Colorizer(normalize_embeddings=True, **TINY)
    embeddings = model(tf.random.uniform((1, 2, 32, 32, 1), -1, 1, seed=3))
    self.assertAllClose(tf.norm(embeddings, axis=-1), np.ones((1, 2, 4, 4)), atol=1e-5)

  def test_codes_at_feature_grid_samples_cell_centres(self):
    codes = np.arange(16 * 16).reshape(1, 1, 16, 16)
    grid = colorizer.codes_at_feature_grid(codes, 8)
    # Cell centres are pixels 4 and 12 in each direction.
    self.assertAllEqual(grid[0, 0], [[4 * 16 + 4, 4 * 16 + 12], [12 * 16 + 4, 12 * 16 + 12]])

  def test_copy_target_colors_is_a_distribution(self):
    model = colorizer.Colorizer(**TINY)
    embeddings = model(tf.random.uniform((2, 4, 32, 32, 1), -1, 1, seed=0))
    codes = tf.random.uniform((2, 4, 4, 4), 0, 16, tf.int32, seed=0)
    probs = colorizer.copy_target_colors(model, embeddings, codes, 16)["probabilities"]
    self.assertEqual(probs.shape, (2, 4, 4, 16))
    self.assertAllClose(tf.reduce_sum(probs, -1), np.ones((2, 4, 4)), atol=1e-5)


class LossTest(tf.test.TestCase):

  def test_loss_goldens(self):
    codes = np.array([[[0, 1], [2, 3]]])
    perfect = np.eye(4, dtype=np.float32)[codes]
    uniform = np.full((1, 2, 2, 4), 0.25, np.float32)
    out = losses.colorization_loss(perfect, codes)
    self.assertAllClose(out["loss"], [-np.log(1 + 1e-6)], atol=1e-6)
    self.assertAllClose(out["accuracy"], [1.0])
    # Uniform over 4 codes: -log(0.25) = 1.3863 everywhere.
    self.assertAllClose(losses.colorization_loss(uniform, codes)["loss"], [np.log(4.0)],
                        atol=1e-5)
    # Probability 0 on the true code is capped at -log(1e-6) = 13.8155.
    wrong = np.eye(4, dtype=np.float32)[(codes + 1) % 4]
    out = losses.colorization_loss(wrong, codes)
    self.assertAllClose(out["loss"], [-np.log(1e-6)], atol=1e-4)
    self.assertAllClose(out["accuracy"], [0.0])


if __name__ == "__main__":
  tf.test.main()
