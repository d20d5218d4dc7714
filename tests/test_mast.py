"""MAST: objective pieces, memory schedule, ROI attention, training and tracking."""

import itertools
import os

import numpy as np
import pytest
import tensorflow as tf
from absl.testing import parameterized

from colortrack import packing
from colortrack import serving
from colortrack.configs import mast_multi
from colortrack.configs import mast_pair
from colortrack.inference import mast as mast_inference
from colortrack.inference import trackers
from colortrack.methods import mast
from colortrack.modeling import resnet
from colortrack.training import trainer
from tests import test_inference
from tests import test_training
from tests import testing_utils


def unit_features(rng, h, w, d=32):
  x = rng.normal(size=(h, w, d)).astype(np.float32)
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


class ObjectiveTest(tf.test.TestCase, parameterized.TestCase):

  def test_huber_golden(self):
    # delta 1: |e| <= 1 -> e^2 / 2; beyond -> |e| - 1/2.
    errors = tf.constant([0.0, 0.5, -1.0, 2.0, -3.0])
    self.assertAllClose(mast.huber(errors), [0.0, 0.125, 0.5, 1.5, 2.5])
    predicted = tf.constant([[[[0.5, 2.0]]]])  # [B=1, h=1, w=1, C=2]
    target = tf.zeros_like(predicted)
    out = mast.reconstruction_loss(predicted, target)
    self.assertAllClose(out["loss"], [(0.125 + 1.5) / 2])
    self.assertAllClose(out["abs_error"], [1.25])

  def test_channel_dropout_golden(self):
    clips = tf.ones([64, 2, 1, 1, 3])
    seeds = tf.stack([tf.range(64, dtype=tf.int64), tf.zeros(64, tf.int64)], axis=1)
    out = mast.channel_dropout(clips, seeds, drop_prob=0.5, channels=(1, 2)).numpy()
    for clip in out:
      # Either untouched, or one of channels 1, 2 zeroed and the others x 3/2,
      # the same in every frame of the clip.
      self.assertAllEqual(clip[0], clip[1])
      values = clip[0, 0, 0]
      self.assertIn(tuple(values), {(1.0, 1.0, 1.0), (1.5, 0.0, 1.5), (1.5, 1.5, 0.0)})
    dropped = np.mean(np.any(out[:, 0, 0, 0] == 0.0, axis=-1))
    self.assertBetween(dropped, 0.3, 0.7)  # p = 0.5 over 64 clips
    again = mast.channel_dropout(clips, seeds, drop_prob=0.5, channels=(1, 2)).numpy()
    self.assertAllEqual(out, again)  # stateless: same seeds, same drops
    self.assertAllEqual(mast.channel_dropout(clips, seeds, drop_prob=0.0), clips)

  def test_loss_reconstructs_only_the_dropped_channel(self):
    seeds = tf.constant([[1, 2], [3, 4], [5, 6], [7, 8]], tf.int64)
    masks = mast.dropout_masks(seeds, 3, drop_prob=1.0, channels=(1, 2))
    weights = mast.target_weights(masks).numpy()
    # p = 1 over channels a, b: exactly one of them per clip, never L; the loss
    # weighs exactly the channel the input lacks.
    self.assertAllEqual(weights.sum(-1), [1, 1, 1, 1])
    self.assertAllEqual(weights[:, 0], [0, 0, 0, 0])
    self.assertAllEqual(weights, (masks.numpy() == 0).astype(np.float32))
    target = tf.zeros([4, 2, 2, 3])
    # Errors on the channels the network sees cost nothing...
    visible_error = (1.0 - weights)[:, None, None, :] * 0.7
    out = mast.reconstruction_loss(target + visible_error, target, weights=weights, scale=20.0)
    self.assertAllClose(out["loss"], [0.0] * 4)
    # ...an error of 0.1 on the dropped one is Huber(20 x 0.1 = 2) = 2 - 1/2 = 1.5.
    dropped_error = weights[:, None, None, :] * 0.1
    out = mast.reconstruction_loss(target + dropped_error, target, weights=weights, scale=20.0)
    self.assertAllClose(out["loss"], [1.5] * 4)
    self.assertAllClose(out["abs_error"], [0.1] * 4)
    # Nothing dropped (p = 0): every channel counts, as before the fix.
    self.assertAllEqual(mast.target_weights(mast.dropout_masks(seeds, 3, 0.0)), np.ones((4, 3)))

  @parameterized.parameters(4, 8)
  def test_aligned_targets_hit_the_strided_convolution_centres(self, stride):
    height = width = 4 * stride
    cols = np.tile(np.arange(width, dtype=np.float32), (height, 1))
    clips = np.stack([cols, cols.T, np.zeros_like(cols)], -1)[None, None]
    aligned = mast.grid_targets(tf.constant(clips), stride, align=True).numpy()[0, 0]
    # Cell j is centred on pixel s*j + s - 1 (TF SAME padding, stride-2 layers).
    self.assertAllEqual(aligned[0, :, 0], stride * np.arange(4) + stride - 1)
    self.assertAllEqual(aligned[:, 0, 1], stride * np.arange(4) + stride - 1)
    bilinear = mast.grid_targets(tf.constant(clips), stride, align=False).numpy()[0, 0]
    self.assertAllClose(bilinear[0, :, 0], stride * np.arange(4) + (stride - 1) / 2)

  def test_encoder_receptive_field_is_centred_where_alignment_samples(self):
    # All-positive weights make the network linear on non-negative input; the
    # response of one output cell to impulses along a row spans its receptive
    # field, whose middle must be the aligned sampling position.
    # Stride 8 at 384 px: the receptive field (~240 px) fits inside the image.
    stride, size = 8, 384
    encoder = resnet.ResNetEncoder((1, 1, 1, 1), (1, 1, 1, 1), output_stride=stride)
    encoder(tf.zeros((1, size, size, 1)))
    for weight in encoder.trainable_weights:
      if len(weight.shape) == 4:
        weight.assign(np.ones(weight.shape, np.float32) / np.prod(weight.shape[:3]))
    cell = size // stride // 2
    impulses = np.zeros((size, size, size, 1), np.float32)
    impulses[np.arange(size), size // 2, np.arange(size)] = 1.0
    response = np.concatenate([
        encoder(tf.constant(impulses[i:i + 64]), training=False)["stage4"].numpy()[
            :, cell, cell].sum(-1) for i in range(0, size, 64)])
    self.assertEqual(response[0], 0.0)  # the field ends inside the image...
    self.assertEqual(response[-1], 0.0)  # ...on both sides
    columns = np.flatnonzero(response > 1e-9 * response.max())
    self.assertEqual((columns.min() + columns.max()) / 2, stride * cell + stride - 1)

  def test_hsv_input_matches_tensorflow(self):
    # keras.ops' HSV (both backends) against tf.image's, which MAST used before.
    rgb = tf.random.uniform([2, 5, 5, 3], 0.0, 1.0, seed=2)
    self.assertAllClose(mast.to_color_space(rgb, "hsv"), tf.image.rgb_to_hsv(rgb) * 2.0 - 1.0,
                        atol=1e-5)

  def test_dropout_draws_are_integer_arithmetic_of_the_seed(self):
    # Large seeds (positions past 2^16, a seed word past 2^31 once cast) stay
    # finite and in range: no overflow in the int32 hash.
    seeds = tf.constant([[0, 0], [7, 65535], [7, 65536], [2**20, 3 * 2**24], [1, 2**30]],
                        tf.int64)
    draws = mast._hash_uniform(seeds, 1).numpy()  # pylint: disable=protected-access
    self.assertAllInRange(draws, 0.0, 1.0)
    self.assertLen(set(draws.tolist()), 5)  # different seeds, different draws

  @parameterized.parameters("lab", "rgb", "hsv")
  def test_color_space_round_trip(self, space):
    rgb = tf.random.uniform([2, 5, 5, 3], 0.05, 0.95, seed=1)
    x = mast.to_color_space(rgb, space)
    self.assertAllInRange(x, -1.0, 1.0)
    self.assertAllClose(mast.from_color_space(x, space), rgb, atol=1e-3)


class NetworkTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(mast_pair, mast_multi)
  def test_embedding_is_a_linear_projection_of_the_last_stage(self, preset):
    # MAST's network (configs/base.py): no coordinate channels, no dilated head, so
    # the embedding is stage4 @ W + b (L2-normalized in the `cpu` variant) and the
    # loss shapes the very features that tracking with `features=encoder` compares.
    for variant in ("tiny", "cpu"):
      config = preset.get_config(variant)
      model = trainer.build_model_from_config(config)
      clip = np.random.default_rng(0).uniform(-1, 1, (1, 1, 32, 32, 3)).astype(np.float32)
      stage4 = model.encoder(clip[:, 0])["stage4"].numpy()[0]
      kernel, bias = model.head.projection.get_weights()
      expected = stage4 @ kernel.reshape(stage4.shape[-1], -1) + bias
      if config.model.normalize_embeddings:
        expected /= np.linalg.norm(expected, axis=-1, keepdims=True)
      self.assertEqual(len(model.head.trainable_weights), 2, variant)  # the projection's
      self.assertAllClose(model(clip).numpy()[0, 0], expected, atol=1e-5, msg=variant)


class MemoryTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters(
      (1, [0]), (2, [0, 1]), (3, [0, 2]), (4, [0, 1, 3]), (5, [0, 2, 4]),
      (6, [0, 1, 3, 5]),  # frame 5 joins the long-term memory once t > 5
      (10, [0, 5, 7, 9]),  # t - 5 = 5 is both
      (30, [0, 5, 25, 27, 29]))
  def test_schedule(self, t, expected):
    self.assertEqual(mast_inference.memory_schedule(t), expected)

  def test_dilation(self):
    self.assertEqual([mast_inference.dilation(d) for d in (1, 15, 16, 30, 31, 100)],
                     [1, 1, 2, 2, 3, 7])

  @parameterized.parameters(((3, -2), 1), ((4, 2), 2), ((-6, 0), 3))
  def test_roi_localization_recovers_a_known_shift(self, shift, rate):
    rng = np.random.default_rng(0)
    h, w = 24, 26
    keys = unit_features(rng, h, w)
    query = np.roll(keys, shift, axis=(0, 1))  # query (i, j) shows key (i - dy, j - dx)
    centres = mast_inference.localize(tf.constant(query), tf.constant(keys), 0.02, 4, rate,
                                      tile=7).numpy()
    rows, cols = np.mgrid[0:h, 0:w]
    expected = np.stack([rows - shift[0], cols - shift[1]], -1)
    source_inside = ((rows - shift[0] >= 0) & (rows - shift[0] < h) &
                     (cols - shift[1] >= 0) & (cols - shift[1] < w))
    self.assertAllClose(centres[source_inside], expected[source_inside], atol=1e-3)

  def test_roi_attention_copies_shifted_labels(self):
    rng = np.random.default_rng(1)
    h, w = 20, 24
    keys = np.stack([unit_features(rng, h, w) for _ in range(2)])
    labels = rng.uniform(size=(2, h, w, 3)).astype(np.float32)
    shift = (2, 3)
    query = np.roll(keys[1], shift, axis=(0, 1))
    out = mast_inference.roi_attend(query, keys, labels, (1, 1), 0.02, 6, 2).numpy()
    rows, cols = np.mgrid[0:h, 0:w]
    inside = (rows >= shift[0]) & (cols >= shift[1])
    self.assertAllClose(out[inside], np.roll(labels[1], shift, axis=(0, 1))[inside], atol=1e-4)

  def test_tracker_follows_shifted_texture_with_bounded_memory(self):
    embedder = test_inference.CellContentEmbedder()
    tracker = mast_inference.MastTracker(
        embedder, trackers.PropagationConfig(temperature=0.01), coarse_radius=3, fine_radius=1)
    frames = test_inference.textured_shift_video(num_frames=4)
    first = np.zeros((48, 64), np.uint8)
    first[8:24, 8:24] = 1
    predicted = list(tracker.track_masks(iter(frames), first))
    for t in range(1, 4):
      expected = np.roll(test_inference.through_grid(first), 8 * t, axis=1)
      self.assertAllEqual(predicted[t][:, 8 * (t + 1):], expected[:, 8 * (t + 1):])
    calls = []
    original = tracker._sample  # pylint: disable=protected-access

    def counting(*args):
      calls.append(1)
      return original(*args)

    tracker._sample = counting  # pylint: disable=protected-access
    sizes = []
    endless = (frames[t % 4] for t in itertools.count())
    for _ in itertools.islice(tracker.track_masks(endless, first), 40):
      sizes.append(len(calls))
      calls.clear()
    self.assertEqual(max(sizes), 5)  # ROIs in 0, 5 and t-5, t-3, t-1: never more


class MastTrainingTest(tf.test.TestCase):

  @pytest.fixture(autouse=True, scope="class")
  def _clips(self, request, synthetic_clips):
    request.cls.root = testing_utils.make_temp_dir("mast")
    request.cls.pattern = synthetic_clips

  def config(self, module, arg="tiny", **train):
    config = module.get_config(arg)
    config.data.train_pattern = self.pattern
    for key, value in train.items():
      config.train[key] = value
    return config

  def test_pair_then_multi_fine_tuning_then_mast_tracking(self):
    pair = os.path.join(self.root, "pair")
    trainer.train(self.config(mast_pair, num_steps=3), pair)
    multi = os.path.join(self.root, "multi")
    with self.assertLogs(level="INFO") as logs:
      metrics = trainer.train(self.config(mast_multi, num_steps=2, init_workdir=pair), multi)
    self.assertTrue(any("initialised the model from" in line for line in logs.output))
    self.assertIn("abs_error", metrics)
    # Fine-tuning started from the pair weights: 2 Adam steps at lr 3e-3 move each
    # weight by about 2 x 3e-3 at most; a fresh initialisation is far away.
    pair_weights = trainer.restore_model(pair).trainable_weights
    multi_weights = trainer.restore_model(multi).trainable_weights
    self.assertLess(max(float(np.abs(a.numpy() - b.numpy()).max())
                        for a, b in zip(pair_weights, multi_weights)), 0.02)
    fresh = trainer.build_model_from_config(trainer.load_config(multi)).trainable_weights
    self.assertGreater(max(float(np.abs(a.numpy() - b.numpy()).max())
                           for a, b in zip(fresh, multi_weights)), 0.05)
    tracker = trackers.make_tracker("model", multi)
    self.assertIsInstance(tracker, mast_inference.MastTracker)
    window = trackers.make_tracker("model", multi, {"memory": "window"})
    self.assertNotIsInstance(window, mast_inference.MastTracker)
    # Exported, the model keeps its Lab input and its MAST inference defaults.
    export_dir = os.path.join(self.root, "saved")
    model = trainer.restore_model(multi)
    module, _ = serving.export(model, export_dir, trainer.load_config(multi))
    self.assertEqual(module.color_space, "lab")
    self.assertIsInstance(trackers.make_tracker("model", export_dir), mast_inference.MastTracker)
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 32, 40, 3), dtype=np.uint8)
    loaded = tf.saved_model.load(export_dir)
    served = loaded.signatures["embed"](frames=tf.constant(frames))["embeddings"]
    self.assertAllClose(served, model(module.model_input(frames)[:, None])[:, 0], atol=1e-5)

  def test_ablation_variants_train(self):
    for arg in ("tiny,rgb", "tiny,hsv", "tiny,classify,noalign"):
      workdir = os.path.join(self.root, arg.replace(",", "_"))
      metrics = trainer.train(self.config(mast_pair, arg, num_steps=1), workdir)
      self.assertTrue(np.isfinite(metrics["loss"]), arg)
    with self.assertRaisesRegex(ValueError, "unknown MAST variant"):
      mast_pair.get_config("tiny,lub")

  def test_init_workdir_with_another_model_is_refused(self):
    source = os.path.join(self.root, "vondrick_source")
    trainer.train(test_training.tiny_config(self.pattern, num_steps=1), source)
    config = self.config(mast_multi, num_steps=1, init_workdir=source)
    config.model.embed_dim = 4
    with self.assertRaisesRegex(trainer.TrainingError, "different model"):
      trainer.train(config, os.path.join(self.root, "refused"))

  def test_training_starts_from_a_packed_one_network_export(self):
    source = os.path.join(self.root, "pair_for_export")
    trainer.train(self.config(mast_pair, num_steps=2), source)
    model, config = trainer.restore_model(source), trainer.load_config(source)
    packed = os.path.join(self.root, "models", "pair")
    serving.export(model, packed, config, packed=True)
    # Learning rate 0: the step leaves the trainable weights as loaded, so the new run's
    # checkpoint holds the export's weights exactly (kernels as float16 stored them).
    workdir = os.path.join(self.root, "from_export")
    with self.assertLogs(level="INFO") as logs:
      trainer.train(self.config(mast_pair, num_steps=1, learning_rate=0.0,
                                init_workdir=packed), workdir)
    self.assertTrue(any(f"initialised the model from the export {packed}" in line
                        for line in logs.output))
    stored = [w.numpy() for w in trainer.restore_model(workdir).trainable_weights]
    with packing.weights_as_stored([model]):
      expected = [w.numpy() for w in model.trainable_weights]
    self.assertLen(stored, len(expected))
    for index, (got, value) in enumerate(zip(stored, expected)):
      self.assertAllEqual(got, value, msg=f"trainable weight {index}")
    # Refused in one line each: several networks, a SavedModel, another model.
    both = os.path.join(self.root, "models", "both")
    serving.export(model, both, config, [(model, config)], packed=True)
    savedmodel = os.path.join(self.root, "savedmodel")
    serving.export(model, savedmodel, config)
    other = self.config(mast_pair, num_steps=1, init_workdir=packed)
    other.model.embed_dim = 4
    for source_dir, source_config, message in (
        (both, self.config(mast_pair, num_steps=1), "export of 2 networks"),
        (savedmodel, self.config(mast_pair, num_steps=1), "SavedModel export"),
        (packed, other, "different model")):
      source_config.train.init_workdir = source_dir
      target = os.path.join(self.root, "refused_" + os.path.basename(source_dir))
      with self.assertRaisesRegex(trainer.TrainingError, message):
        trainer.train(source_config, target)
      self.assertFalse(os.path.exists(target), message)  # checked before the workdir is made


if __name__ == "__main__":
  tf.test.main()
