"""Training: one-step smoke runs on fake TFRecords, distribution, resume, export."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from colortrack import errors
from colortrack import serving
from colortrack.configs import mast_pair
from colortrack.configs import tiny
from colortrack.data import pipeline
from colortrack.data import synthetic
from colortrack.data import tfrecord_builder
from colortrack.inference import embedder
from colortrack.inference import trackers
from colortrack.methods import registry
from colortrack.training import tf_runner
from colortrack.training import trainer
from tests import testing_utils


def build_synthetic_clips(root: str) -> str:
  """~24 clips of 32x32 synthetic video; returns the TFRecord glob."""
  videos = os.path.join(root, "videos")
  for index in range(4):
    video = synthetic.generate_video(index, num_frames=96, height=48, width=48)
    synthetic.write_video_file(os.path.join(videos, f"v{index}.mp4"), video.frames, video.fps)
  codebook_path = os.path.join(root, "codebook.npz")
  tfrecord_builder.fit_codebook(videos, codebook_path, num_clusters=16, capacity=20_000)
  tfrecord_builder.build(tfrecord_builder.BuildConfig(
      input_spec=videos, codebook_path=codebook_path, output_dir=os.path.join(root, "clips"),
      size=32, num_shards=2))
  return os.path.join(root, "clips", "*.tfrecord")


def tiny_config(pattern: str, **train_overrides):
  config = tiny.get_config()
  config.data.train_pattern = pattern
  for key, value in train_overrides.items():
    config.train[key] = value
  return config


class TrainingTest(tf.test.TestCase):

  @pytest.fixture(autouse=True, scope="class")
  def _clips(self, request, synthetic_clips):
    request.cls.root = testing_utils.make_temp_dir("training")
    request.cls.pattern = synthetic_clips

  def test_loss_goes_down_on_synthetic_clips(self):
    config = tiny_config(self.pattern)
    strategy = tf.distribute.get_strategy()
    centroids, _ = pipeline.read_codebook(self.pattern)
    keras.utils.set_random_seed(0)
    model = trainer.build_model_from_config(config)
    optimizer = keras.optimizers.Adam(config.train.learning_rate)
    iterator = iter(pipeline.make_dataset(self.pattern, batch_size=4, image_size=32, seed=0,
                                          shuffle_buffer=16))
    step = tf_runner.make_train_step(model, optimizer, strategy, config,
                                     registry.get(config, centroids))
    losses = [float(step(iterator)["loss"]) for _ in range(60)]
    first, last = np.mean(losses[:8]), np.mean(losses[-8:])
    # Chance level is about ln(16) = 2.77; copying colours must beat the start.
    self.assertLess(last, first - 0.3, msg=f"losses: {np.round(losses, 2)}")

  def test_train_checkpoints_and_resumes_at_saved_step(self):
    workdir = os.path.join(self.root, "resume")
    trainer.train(tiny_config(self.pattern, num_steps=4, checkpoint_every=2), workdir)
    self.assertEqual(tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints")),
                     os.path.join(workdir, "checkpoints", "ckpt-4"))
    with self.assertLogs(level="INFO") as logs:
      metrics = trainer.train(tiny_config(self.pattern, num_steps=6, checkpoint_every=2), workdir)
    self.assertTrue(any("resumed from" in l and "at step 4" in l for l in logs.output))
    self.assertEqual(metrics["step"], 6)
    events = os.listdir(os.path.join(workdir, "tensorboard"))
    self.assertNotEmpty([e for e in events if e.startswith("events.out")])

  def test_restored_model_holds_every_trained_weight(self):
    workdir = os.path.join(self.root, "restore")
    trainer.train(tiny_config(self.pattern, num_steps=3, checkpoint_every=3), workdir)
    reader = tf.train.load_checkpoint(trainer.latest_checkpoint(workdir))
    restored = trainer.restore_model(workdir)
    fresh = trainer.build_model_from_config(trainer.load_config(workdir))
    # Every weight, BatchNorm statistics included, comes from the checkpoint:
    # none keeps its random initial value.
    for index, variable in enumerate(restored.weights):
      saved = reader.get_tensor(f"weights/w{index:04d}/.ATTRIBUTES/VARIABLE_VALUE")
      self.assertAllEqual(variable.numpy(), saved, msg=variable.path)
    moved = [v.path for v, f in zip(restored.weights, fresh.weights)
             if not np.array_equal(v.numpy(), f.numpy())]
    self.assertGreater(len(moved), len(restored.weights) // 2)
    clip = np.random.default_rng(0).normal(size=(1, 1, 32, 32, 1)).astype(np.float32)
    self.assertAllEqual(restored(clip), trainer.restore_model(workdir)(clip))

  def test_checkpoint_without_model_weights_is_refused(self):
    workdir = os.path.join(self.root, "old_format")
    config = tiny_config(self.pattern)
    model = trainer.build_model_from_config(config)
    os.makedirs(os.path.join(workdir, trainer.CHECKPOINT_DIR))
    with open(os.path.join(workdir, trainer.CONFIG_NAME), "w") as f:
      f.write(config.to_json_best_effort())
    tf.train.Checkpoint(model=model).save(os.path.join(workdir, trainer.CHECKPOINT_DIR, "ckpt"))
    with self.assertRaisesRegex(trainer.TrainingError, "model weights missing"):
      trainer.restore_model(workdir)

  def test_workdir_with_another_model_is_refused(self):
    workdir = os.path.join(self.root, "other_model")
    trainer.train(tiny_config(self.pattern, num_steps=1), workdir)
    config = tiny_config(self.pattern, num_steps=2)
    config.model.embed_dim = 12
    with self.assertRaisesRegex(trainer.TrainingError, "different model"):
      trainer.train(config, workdir)

  def test_workdir_of_an_older_config_resumes_and_initialises(self):
    # A workdir written before `model.coordinates` existed: built with its default (True).
    workdir = os.path.join(self.root, "older")
    trainer.train(tiny_config(self.pattern, num_steps=1), workdir)
    path = os.path.join(workdir, trainer.CONFIG_NAME)
    with open(path) as f:
      saved = json.load(f)
    del saved["model"]["coordinates"]
    with open(path, "w") as f:
      json.dump(saved, f)
    trainer.train(tiny_config(self.pattern, num_steps=2), workdir)  # resumes
    trainer.train(tiny_config(self.pattern, num_steps=1, init_workdir=workdir),
                  os.path.join(self.root, "from_older"))
    # Without coordinate channels it is another model.
    config = tiny_config(self.pattern, num_steps=3)
    config.model.coordinates = False
    with self.assertRaisesRegex(trainer.TrainingError, "different model"):
      trainer.train(config, workdir)

  def test_missing_train_pattern(self):
    with self.assertRaisesRegex(trainer.TrainingError, "train_pattern is required"):
      trainer.train(tiny.get_config(), os.path.join(self.root, "nodata"))

  def test_savedmodel_reload_equals_keras_model(self):
    config = tiny_config(self.pattern)
    model = trainer.build_model_from_config(config)
    export_dir = os.path.join(self.root, "saved")
    module, _ = serving.export(model, export_dir)
    loaded = tf.saved_model.load(export_dir)
    frames = np.random.default_rng(0).integers(0, 256, size=(3, 37, 50, 3), dtype=np.uint8)
    served = loaded.signatures["embed"](frames=tf.constant(frames))["embeddings"].numpy()
    # Padded to 40 x 56 -> 5 x 7 cells.
    self.assertEqual(served.shape, (3, 5, 7, config.model.embed_dim))
    expected = model(module.model_input(tf.constant(frames))[:, None], training=False)[:, 0]
    self.assertAllClose(served, expected, atol=1e-5)
    labels = np.random.default_rng(1).uniform(size=(2, 5, 7, 3)).astype(np.float32)
    propagated = loaded.signatures["propagate"](
        target_embeddings=tf.constant(served[2]), reference_embeddings=tf.constant(served[:2]),
        reference_labels=tf.constant(labels), temperature=tf.constant(0.5))["labels"]
    pointer = model.pointer(served[2].reshape(1, -1, served.shape[-1]),
                            served[:2].reshape(1, -1, served.shape[-1]),
                            labels.reshape(1, -1, 3), temperature=0.5)
    self.assertAllClose(propagated, np.reshape(pointer, (5, 7, 3)), atol=1e-5)
    self.assertGreater(serving.directory_size_bytes(export_dir), 0)

  def _export_with_features(self, features: str):
    """A tiny model exported with `inference.features=features`, and what it serves for
    2 random 37 x 50 frames: (config, model, module, frames, served, export_dir)."""
    config = tiny_config(self.pattern)
    config.unlock()
    config.inference.features = features
    model = trainer.build_model_from_config(config)
    export_dir = os.path.join(self.root, f"saved_{features}")
    module, _ = serving.export(model, export_dir, config)
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 37, 50, 3), dtype=np.uint8)
    served = tf.saved_model.load(export_dir).signatures["embed"](
        frames=tf.constant(frames))["embeddings"].numpy()
    return config, model, module, frames, served, export_dir

  def test_savedmodel_with_encoder_features(self):
    config, model, module, frames, served, export_dir = self._export_with_features("encoder")
    # The last ResNet stage on the same 5 x 7 grid, one unit vector per cell.
    self.assertEqual(served.shape, (2, 5, 7, config.model.encoder_widths[-1]))
    self.assertAllClose(np.linalg.norm(served, axis=-1), np.ones((2, 5, 7)), atol=1e-4)
    stage4 = model.encoder(module.model_input(tf.constant(frames)), training=False)["stage4"]
    self.assertAllClose(served, tf.math.l2_normalize(stage4, axis=-1), atol=1e-5)
    self.assertEqual(embedder.load(export_dir).config.inference.features, "encoder")

  def test_savedmodel_with_two_encoder_stages(self):
    config, model, module, frames, served, _ = self._export_with_features("encoder_stages34")
    widths = config.model.encoder_widths
    self.assertEqual(served.shape, (2, 5, 7, widths[2] + widths[3]))
    # Each half is its stage's unit vector / sqrt(2): the dot product of two cells is the
    # mean of the two stages' cosine similarities.
    stages = model.encoder(module.model_input(tf.constant(frames)), training=False)
    self.assertAllClose(served[..., :widths[2]] * np.sqrt(2),
                        tf.math.l2_normalize(stages["stage3"], axis=-1), atol=1e-5)
    self.assertAllClose(served[..., widths[2]:] * np.sqrt(2),
                        tf.math.l2_normalize(stages["stage4"], axis=-1), atol=1e-5)
    self.assertAllClose(np.linalg.norm(served, axis=-1), np.ones((2, 5, 7)), atol=1e-4)
    config.model.output_stride = 32  # stage 3 (stride 16) and stage 4 on different grids
    with self.assertRaisesRegex(errors.UserError, "output stride <= 16"):
      serving.make_module(trainer.build_model_from_config(config), config)

  def test_ensemble_export_averages_the_members_cosine_similarities(self):
    config = tiny_config(self.pattern)
    config.unlock()
    config.inference.features = "encoder"
    mast_config = mast_pair.get_config("tiny")
    gray_model = trainer.build_model_from_config(config)
    lab_model = trainer.build_model_from_config(mast_config)
    export_dir = os.path.join(self.root, "saved_ensemble")
    module, _ = serving.export(gray_model, export_dir, config, [(lab_model, mast_config)])
    frames = np.random.default_rng(0).integers(0, 256, size=(2, 37, 50, 3), dtype=np.uint8)
    loaded = embedder.load(export_dir)
    served = loaded(frames)
    # Each network sees the frames as its method does (gray L; MAST's Lab) and gives its
    # last stage, L2-normalized; the halves are scaled by 1 / sqrt(2), so the dot product of
    # two cells is the mean of the two networks' cosine similarities.
    gray, lab = module.members
    self.assertEqual((gray.color_space, lab.color_space), ("gray", "lab"))
    gray_stage4 = gray_model.encoder(gray.model_input(tf.constant(frames)))["stage4"]
    lab_stage4 = lab_model.encoder(lab.model_input(tf.constant(frames)))["stage4"]
    expected = tf.concat([tf.math.l2_normalize(gray_stage4, axis=-1),
                          tf.math.l2_normalize(lab_stage4, axis=-1)], axis=-1) / np.sqrt(2)
    self.assertEqual(served.shape, (2, 5, 7, 2 * config.model.encoder_widths[-1]))
    self.assertAllClose(served, expected, atol=1e-5)
    self.assertEqual(loaded.stride, 8)
    self.assertEqual([m["method"] for m in loaded.config.ensemble], ["mast"])
    # ensemble_members=1: the first network alone, its unit vectors (the half times sqrt(2)).
    width = config.model.encoder_widths[-1]
    self.assertEqual(loaded.network_dims, (width, width))
    self.assertAllClose(loaded(frames, networks=1),
                        tf.math.l2_normalize(gray_stage4, axis=-1), atol=1e-5)
    self.assertAllClose(loaded(frames, networks=2), served)
    with self.assertRaisesRegex(errors.UserError, "ensemble_members=3, but the model has 2"):
      loaded(frames, networks=3)
    # networks=1 ran the first network's own signature only; all networks, then sliced and
    # rescaled (an export without per-network signatures), give the same features.
    self.assertLen(loaded._network_fns, 2)  # pylint: disable=protected-access
    sliced = embedder.Embedder(loaded._embed_fn, 8, "all networks", loaded.config)  # pylint: disable=protected-access
    self.assertAllClose(loaded(frames, networks=1), sliced(frames, networks=1), atol=1e-6)
    # --from_export: the networks rebuilt from the export's own files, written again.
    model, config_again, members = serving.restore_export(export_dir)
    self.assertEqual([c.method for _, c in members], ["mast"])
    again_dir = os.path.join(self.root, "saved_ensemble_again")
    serving.export(model, again_dir, config_again, members)
    self.assertAllClose(embedder.load(again_dir)(frames), served, atol=1e-6)
    self.assertLess(serving.embed_difference(export_dir, again_dir), 1e-6)
    # Set for keypoints only, it reaches the tracker's keypoint settings and no others.
    tuned = serving.with_inference_defaults(loaded.config, ["keypoints.ensemble_members=1"])
    tracker = trackers.learned_tracker(loaded, trackers.settings(tuned),
                                       trackers.settings(tuned, for_keypoints=True))
    self.assertEqual((tracker.config.ensemble_members, tracker.keypoint_config.ensemble_members),
                     (0, 1))
    # A single network refuses two, before the first frame.
    single = embedder.Embedder(lambda f: tf.zeros([1, 2, 2, 4]), 8, "one network", config)
    with self.assertRaisesRegex(errors.UserError, "ensemble_members=2, but the model has 1"):
      trackers.learned_tracker(single, trackers.settings(
          serving.with_inference_defaults(config, ["ensemble_members=2"])))
    mast_config.model.output_stride = 4
    with self.assertRaisesRegex(errors.UserError, r"output strides \[4, 8\]"):
      serving.export(gray_model, os.path.join(self.root, "saved_strides"), config,
                     [(trainer.build_model_from_config(mast_config), mast_config)])

  def test_inference_defaults_parse_by_type_and_refuse_unknown_keys(self):
    config = tiny.get_config()
    tuned = serving.with_inference_defaults(
        config, ["renormalize=true", "window=10", "temperature=0.1", "features=encoder",
                 "scale=2"])
    self.assertEqual((tuned.inference.renormalize, tuned.inference.window,
                      tuned.inference.temperature, tuned.inference.features),
                     (True, 10, 0.1, "encoder"))
    # A stored scale reaches the tracker's settings; a config without one tracks at 1.
    self.assertEqual(trackers.settings(tuned).scale, 2.0)
    self.assertEqual(trackers.settings(config).scale, 1.0)
    self.assertFalse(config.inference.renormalize)  # the input is not modified
    # The keypoint profile: typed by the placeholder, used only when tracking points.
    tuned = serving.with_inference_defaults(
        config, ["keypoints.scale=2", "keypoints.top_k=5", "keypoints.max_short_side=240"])
    self.assertEqual((tuned.inference.keypoints.scale, tuned.inference.keypoints.top_k,
                      tuned.inference.keypoints.max_short_side), (2.0, 5, 240))
    for_masks = trackers.settings(tuned)
    for_points = trackers.settings(tuned, for_keypoints=True)
    self.assertEqual((for_masks.scale, for_masks.top_k, for_masks.max_short_side),
                     (1.0, config.inference.top_k, config.inference.max_short_side))
    self.assertEqual((for_points.scale, for_points.top_k, for_points.window,
                      for_points.max_short_side), (2.0, 5, config.inference.window, 240))
    # Flags override both.
    self.assertEqual(trackers.settings(tuned, {"scale": 1.5}, for_keypoints=True).scale, 1.5)
    for bad, message in [("windw=3", "KEY one of"), ("long_term=0", "KEY one of"),
                         ("keypoints.windw=3", "KEY one of"),
                         ("keypoints.scale=big", "type float"),
                         ("hard=maybe", "true or false"), ("window=three", "type int")]:
      with self.assertRaisesRegex(ValueError, message):
        serving.with_inference_defaults(config, [bad])

  def test_mirrored_over_two_cpus_and_export_binary(self):
    # A fresh process: logical CPU devices must be set before TF initialises.
    workdir = os.path.join(self.root, "mirrored")
    result = subprocess.run(
        [sys.executable, "-m", "train.train", "--config=colortrack/configs/tiny.py",
         f"--workdir={workdir}", f"--config.data.train_pattern={self.pattern}",
         "--config.runtime.virtual_cpu_devices=2", "--config.train.num_steps=3",
         "--config.train.checkpoint_every=3"],
        cwd=testing_utils.REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
    self.assertIn("MirroredStrategy over 2 virtual CPU devices", result.stderr)
    self.assertIn("step 3, loss", result.stderr)
    self.assertTrue(os.path.exists(os.path.join(workdir, "checkpoints", "ckpt-3.index")))
    result = subprocess.run(
        [sys.executable, "-m", "train.export", f"--workdir={workdir}",
         f"--export_dir={workdir}/saved"],
        cwd=testing_utils.REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
    self.assertIn("reloaded embed == Keras model", result.stderr)

  def test_config_typo_fails_loudly(self):
    result = subprocess.run(
        [sys.executable, "-m", "train.train", "--config=colortrack/configs/tiny.py",
         f"--workdir={self.root}/typo", "--config.trian.num_steps=3"],
        cwd=testing_utils.REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
    self.assertNotEqual(result.returncode, 0)
    self.assertIn("trian", result.stderr)


if __name__ == "__main__":
  tf.test.main()
