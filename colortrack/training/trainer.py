"""Training loop of the colorization tracker under tf.distribute.

Everything lives in `workdir`: `config.json`, `checkpoints/` (model, optimizer,
step, and the input iterator where tf.data can save it), `tensorboard/`.
A killed run started again with the same workdir resumes from the last
checkpoint at the same step.
"""

import json
import logging
import math
import os
import time
from typing import Dict, Optional

import ml_collections
import numpy as np
import tensorflow as tf
import keras

from colortrack import errors
from colortrack.data import pipeline
from colortrack.methods import base
from colortrack.methods import registry
from colortrack.modeling import colorizer
from colortrack.training import distribute
from colortrack.training import summaries
from colortrack.utils import files
from colortrack.utils import progress as progress_lib

CONFIG_NAME = "config.json"
CODEBOOK_NAME = "codebook.json"
CHECKPOINT_DIR = "checkpoints"
TENSORBOARD_DIR = "tensorboard"


class TrainingError(errors.UserError):
  """The run cannot start (missing data, incompatible workdir)."""


def save_or_check_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Writes config.json; on resume, refuses a model that differs from the saved one."""
  path = os.path.join(workdir, CONFIG_NAME)
  current = json.loads(config.to_json_best_effort())
  if os.path.exists(path):
    with open(path) as f:
      saved = json.load(f)
    if saved.get("model") != current["model"] or saved.get("method") != current["method"]:
      raise TrainingError(f"{path}: the workdir holds a different model "
                          f"({saved.get('model')}); use a new --workdir")
  files.write_json_atomic(path, current)


def load_config(workdir: str) -> ml_collections.ConfigDict:
  path = os.path.join(workdir, CONFIG_NAME)
  if not os.path.exists(path):
    raise TrainingError(f"{path}: no config.json; is this a colortrack training workdir?")
  try:
    with open(path) as f:
      payload = json.load(f)
  except (OSError, ValueError) as e:
    raise TrainingError(f"{path}: unreadable config.json ({errors.first_line(e)})") from e
  if not isinstance(payload, dict) or not {"method", "model", "data"} <= set(payload):
    raise TrainingError(f"{path}: not a colortrack training config (no method/model/data)")
  return ml_collections.ConfigDict(payload)


def validate_config(config: ml_collections.ConfigDict) -> None:
  """Refuses settings that cannot train (NaN, inf, zero temperature, ...) in one line."""
  def number(name, low, high=math.inf, low_open=True, integer=False):
    section, key = name.split(".")
    value = config[section][key]
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and value <= high
    ok = ok and (not integer or float(value).is_integer())
    if not ok:
      bound = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high < math.inf
                                                         else "")
      kind = "an integer" if integer else "a finite number"
      raise TrainingError(f"config.{name}={value!r}: must be {kind} {bound}")

  number("train.learning_rate", 0, low_open=False)  # 0: a random-init checkpoint
  number("train.lr_after_drop", 0, low_open=False)
  number("model.temperature", 0)
  number("inference.temperature", 0)
  number("train.batch_size", 0, integer=True)
  number("train.num_steps", 0, low_open=False, integer=True)
  for key in ("log_every", "image_summary_every", "checkpoint_every", "keep_checkpoints"):
    number(f"train.{key}", 0, integer=True)
  number("data.crop_scale_min", 0, 1)
  number("mast.drop_prob", 0, 1, low_open=False)
  number("mast.huber_delta", 0)
  if config.data.image_size % config.model.output_stride or config.data.image_size <= 0:
    raise TrainingError(f"config.data.image_size={config.data.image_size} must be a positive "
                        f"multiple of config.model.output_stride={config.model.output_stride}")


def check_codebook(workdir: str, sha: str, centroids: np.ndarray) -> None:
  """Records the data's codebook in the workdir; a resumed run on another one is refused."""
  path = os.path.join(workdir, CODEBOOK_NAME)
  if os.path.exists(path):
    saved = files.read_json(path)
    if saved.get("sha") != sha:
      raise TrainingError(f"{path}: this workdir was trained on clips of codebook "
                          f"{saved.get('sha')}, the data given is of codebook {sha}; "
                          "use the same clips or a new --workdir")
    return
  files.write_json_atomic(path, {"sha": sha, "centroids": centroids.tolist()})


def all_finite(variables) -> bool:
  """True when every floating-point value of `variables` is finite."""
  for variable in variables:
    values = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
      return False
  return True


def build_model_from_config(config: ml_collections.ConfigDict) -> colorizer.Colorizer:
  return colorizer.build_colorizer(config.model, config.data.clip_len, config.data.image_size,
                                   registry.get(config).input_channels)


def latest_checkpoint(workdir: str) -> Optional[str]:
  return tf.train.latest_checkpoint(os.path.join(workdir, CHECKPOINT_DIR))


def model_weights(model: keras.Model) -> Dict[str, keras.Variable]:
  """Every weight of `model` (trainable and BatchNorm statistics), keyed by position.

  What checkpoints save as the model. `tf.train.Checkpoint(model=model)` is not
  enough with Keras 3: it does not follow sub-layers kept in Python lists (the
  ResNet stages, the head's convolutions), so their weights would be saved only
  through the optimizer and their BatchNorm statistics not at all. Keys are
  positions in `model.weights` (the same for the same config; auto-generated
  layer names are not stable across builds in one process); a restore also
  checks every shape.
  """
  return {f"w{index:04d}": variable for index, variable in enumerate(model.weights)}


def restore_model(workdir: str, dtype_policy: Optional[str] = None) -> colorizer.Colorizer:
  """The model of a training workdir with its latest checkpoint's weights.

  `dtype_policy` (e.g. "mixed_bfloat16") builds the layers with that Keras
  policy; weights stay float32, so the same checkpoint restores.
  """
  config = load_config(workdir)
  previous = keras.mixed_precision.global_policy()
  if dtype_policy:
    keras.mixed_precision.set_global_policy(dtype_policy)
  try:
    model = build_model_from_config(config)
  finally:
    keras.mixed_precision.set_global_policy(previous)
  latest = latest_checkpoint(workdir)
  if latest is None:
    raise TrainingError(f"{workdir}: no checkpoint in {CHECKPOINT_DIR}/")
  _restore_weights(model, latest)
  return model


def _restore_weights(model: keras.Model, checkpoint: str) -> None:
  """Loads every model weight from `checkpoint`; a weight it lacks is an error."""
  names = set(tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map())
  missing = [key for key in model_weights(model)
             if f"weights/{key}/.ATTRIBUTES/VARIABLE_VALUE" not in names]
  if missing:
    raise TrainingError(f"{checkpoint}: {len(missing)} model weights missing (e.g. "
                        f"{missing[0]}); written by an older colortrack? Retrain.")
  tf.train.Checkpoint(weights=model_weights(model)).restore(checkpoint).expect_partial()


def _learning_rate(train_config: ml_collections.ConfigDict):
  return keras.optimizers.schedules.PiecewiseConstantDecay(
      [train_config.lr_drop_step], [train_config.learning_rate, train_config.lr_after_drop])


class _Visualizer:
  """Renders a fixed set of clips every few steps, so pictures are comparable over time."""

  def __init__(self, config, method: base.Method,
               points=((0.3, 0.3), (0.5, 0.6), (0.7, 0.4))):
    keys = tuple(set(method.input_keys) | {pipeline.LIGHTNESS})
    dataset = pipeline.make_dataset(config.data.train_pattern, batch_size=2, keys=keys,
                                    clip_len=config.data.clip_len,
                                    image_size=config.data.image_size, is_training=False)
    self.batch = next(iter(dataset))
    self.method = method
    self.stride = config.model.output_stride
    grid = config.data.image_size // self.stride
    self.points = np.array([[int(r * grid), int(c * grid)] for r, c in points])

  def images(self, model) -> Dict[str, np.ndarray]:
    batch = {k: v for k, v in self.batch.items()}
    batch[pipeline.AUGMENT_SEED] = tf.zeros([2, 2], tf.int64)
    embeddings = model(self.method.model_inputs(batch, training=False), training=False)
    prediction = np.asarray(self.method.losses(model, batch, embeddings)["prediction"])
    lightness = batch[pipeline.LIGHTNESS].numpy()[..., 0]
    embeddings = np.asarray(embeddings)
    colour_rows, attention_rows = [], []
    for b in range(lightness.shape[0]):
      gray = np.repeat((lightness[b, -1] / 100.0 * 255.0).round().astype(np.uint8)[..., None],
                       3, -1)
      if pipeline.RGB in batch:
        truth = (batch[pipeline.RGB].numpy()[b, -1] * 255).round().astype(np.uint8)
      else:
        truth = summaries.quantized_rgb(lightness[b, -1], batch[pipeline.AB_CODES].numpy()[b, -1],
                                        self.method.centroids)
      predicted = self.method.prediction_rgb(prediction[b], lightness[b, -1])
      colour_rows.append(np.concatenate([gray, truth, predicted], axis=1))
      refs = embeddings[b, :-1]  # [R, h, w, D]
      queries = embeddings[b, -1][self.points[:, 0], self.points[:, 1]]  # [P, D]
      logits = np.einsum("pd,rhwd->prhw", queries, refs) / model.temperature
      flat = logits.reshape(len(queries), -1)
      attention = np.exp(flat - flat.max(axis=1, keepdims=True))
      attention = (attention / attention.sum(axis=1, keepdims=True)).reshape(logits.shape)
      attention_rows.append(summaries.attention_panel(
          lightness[b, :-1], lightness[b, -1], attention, self.points, self.stride))
    return {"copy/gray_true_predicted": np.stack(colour_rows),
            "attention/target_then_references": np.stack(attention_rows)}


def make_train_step(model: colorizer.Colorizer, optimizer: keras.optimizers.Optimizer,
                    strategy: tf.distribute.Strategy, config: ml_collections.ConfigDict,
                    method: base.Method):
  """A tf.function: (distributed iterator) -> global means of "loss" and the metrics."""
  global_batch = config.train.batch_size

  def step_fn(batch):
    with tf.GradientTape() as tape:
      embeddings = model(method.model_inputs(batch, training=True), training=True)
      metrics = method.losses(model, batch, embeddings)
      del metrics["prediction"]
      # Sum over this replica's examples / global batch: the optimizer sums
      # gradients over replicas, which then gives the global mean.
      loss = tf.reduce_sum(metrics["loss"]) / global_batch
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return {k: tf.reduce_sum(v) for k, v in metrics.items()}

  @tf.function
  def train_step(iterator):
    per_replica = strategy.run(step_fn, args=(next(iterator),))
    return {k: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) / global_batch
            for k, v in per_replica.items()}

  return train_step


def _init_from_workdir(model: colorizer.Colorizer, config: ml_collections.ConfigDict) -> None:
  """Loads model weights of `config.train.init_workdir` (e.g. MAST pair pre-training)."""
  source = config.train.init_workdir
  source_config = load_config(source)
  if json.loads(source_config.to_json_best_effort())["model"] != json.loads(
      config.to_json_best_effort())["model"]:
    raise TrainingError(f"{source}: init_workdir holds a different model "
                        f"({source_config.model}); it cannot initialise this one")
  checkpoint = latest_checkpoint(source)
  if checkpoint is None:
    raise TrainingError(f"{source}: init_workdir has no checkpoint in {CHECKPOINT_DIR}/")
  _restore_weights(model, checkpoint)
  logging.info("initialised the model from %s", checkpoint)


def train(config: ml_collections.ConfigDict, workdir: str) -> Dict[str, float]:
  """Trains until `config.train.num_steps`; returns the last logged metrics."""
  if not config.data.train_pattern:
    raise TrainingError("config.data.train_pattern is required "
                        "(--config.data.train_pattern='DIR/*.tfrecord')")
  validate_config(config)
  # Before any TF op runs: logical CPU devices can only be set up before TF initialises.
  strategy = distribute.get_strategy(config.runtime.virtual_cpu_devices)
  data_files = pipeline.match_files(config.data.train_pattern)
  pipeline.check_shard_sizes(data_files)
  centroids, codebook_sha = pipeline.read_codebook(config.data.train_pattern)
  files.ensure_output_dir(workdir, "workdir")
  save_or_check_config(config, workdir)
  check_codebook(workdir, codebook_sha, centroids)
  method = registry.get(config, centroids)
  global_batch = config.train.batch_size
  logging.info("training %s on %s (codebook %s, %d clusters), %d replica(s), global batch %d",
               method.name, config.data.train_pattern, codebook_sha, method.num_clusters,
               strategy.num_replicas_in_sync, global_batch)

  with strategy.scope():
    model = build_model_from_config(config)
    optimizer = keras.optimizers.Adam(_learning_rate(config.train))
    optimizer.build(model.trainable_variables)

  checkpoint_dir = os.path.join(workdir, CHECKPOINT_DIR)
  latest = latest_checkpoint(workdir)

  def make_iterator(seed: int):
    def dataset_fn(input_context):
      return pipeline.make_dataset(
          config.data.train_pattern, batch_size=global_batch, keys=method.input_keys,
          clip_len=config.data.clip_len,
          image_size=config.data.image_size, is_training=True,
          scale_range=(config.data.crop_scale_min, 1.0), input_context=input_context,
          shuffle_buffer=config.data.shuffle_buffer, cycle_length=config.data.cycle_length,
          seed=seed)
    return iter(strategy.distribute_datasets_from_function(dataset_fn))

  iterator = make_iterator(config.train.seed)
  tracked = {"weights": model_weights(model), "optimizer": optimizer}
  # tf.data saves single-device iterators only; a multi-replica DistributedIterator
  # is not trackable.
  if config.train.checkpoint_input and isinstance(iterator, tf.__internal__.tracking.Trackable):
    tracked["iterator"] = iterator
  else:
    if config.train.checkpoint_input:
      logging.info("the distributed input iterator cannot be checkpointed; a resumed run "
                   "reseeds the data with the step instead")
    if latest:  # CheckpointManager names checkpoints ckpt-<step>
      iterator = make_iterator(config.train.seed + int(latest.rsplit("-", 1)[1]))
  checkpoint = tf.train.Checkpoint(**tracked)
  manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir,
                                       max_to_keep=config.train.keep_checkpoints)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    if not all_finite(model.weights):
      raise TrainingError(f"{manager.latest_checkpoint}: checkpoint holds NaN or inf weights "
                          "(written by an older colortrack?); remove it to resume from an "
                          "earlier one")
    logging.info("resumed from %s at step %d", manager.latest_checkpoint,
                 int(optimizer.iterations.numpy()))
  elif config.train.init_workdir:
    _init_from_workdir(model, config)
  train_step = make_train_step(model, optimizer, strategy, config, method)

  writer = tf.summary.create_file_writer(os.path.join(workdir, TENSORBOARD_DIR))
  visualizer = _Visualizer(config, method)
  step = int(optimizer.iterations.numpy())
  num_steps = config.train.num_steps
  progress = progress_lib.Progress("train", num_steps - step, unit="steps", interval_s=0)
  window_start, window_steps = time.monotonic(), 0
  sums = {}
  last = {}
  while step < num_steps:
    try:
      metrics = train_step(iterator)
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
      bad = pipeline.find_unreadable_shard(data_files)
      where = f"{bad}: unreadable record" if bad else "reading the clips failed"
      raise TrainingError(f"{where} at step {step + 1} ({errors.first_line(e)[:120]}); the "
                          f"last checkpoint is {manager.latest_checkpoint or 'none'}") from e
    step += 1
    window_steps += 1
    for key, value in metrics.items():
      sums[key] = sums.get(key, 0.0) + float(value)
    if not math.isfinite(sums["loss"]):
      raise TrainingError(
          f"step {step}: loss is {float(metrics['loss'])}; training stopped, nothing saved "
          f"after {manager.latest_checkpoint or 'the start'} (lower train.learning_rate?)")
    if step % config.train.log_every == 0 or step == num_steps:
      seconds = time.monotonic() - window_start
      clips_per_s = window_steps * global_batch / max(seconds, 1e-9)
      last = {k: v / window_steps for k, v in sums.items()}
      last.update(clips_per_s=clips_per_s, step=step,
                  learning_rate=float(optimizer.learning_rate.numpy()))
      shown = ", ".join(f"{k} {last[k]:.4f}" for k in sorted(sums) if k != "loss")
      progress.update(window_steps, extra=(
          f"step {step}, loss {last['loss']:.4f}, {shown}, {clips_per_s:.2f} clips/s"),
                      force=True)
      with writer.as_default(step=step):
        for key, value in last.items():
          if key != "step":
            tf.summary.scalar(f"train/{key}", value)
      window_start, window_steps = time.monotonic(), 0
      sums = {}
    if step % config.train.image_summary_every == 0 or step == num_steps:
      with writer.as_default(step=step):
        for name, images in visualizer.images(model).items():
          tf.summary.image(name, images, max_outputs=len(images))
    if step % config.train.checkpoint_every == 0 or step == num_steps:
      if not all_finite(model.weights):
        raise TrainingError(f"step {step}: model weights hold NaN or inf; training stopped, "
                            f"nothing saved after {manager.latest_checkpoint or 'the start'}")
      manager.save(checkpoint_number=step)
  writer.flush()
  logging.info("done: step %d in %s; checkpoints in %s, TensorBoard logdir %s", step,
               workdir, os.path.join(workdir, CHECKPOINT_DIR),
               os.path.join(workdir, TENSORBOARD_DIR))
  return last
