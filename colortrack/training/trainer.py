"""The training loop, the same for every Keras backend.

Everything lives in `workdir`: `config.json`, `codebook.json`, `checkpoints/`
(model, optimizer, step, and the input position), `tensorboard/`. A killed run
started again with the same workdir resumes from the last checkpoint at the
same step. What differs between backends is one gradient step and the
checkpoint format, in a runner: `tf_runner.TensorFlowRunner` (tf.distribute,
the default) or `jax_runner.JaxRunner` (`config.runtime.backend = "jax"`, with
`KERAS_BACKEND=jax`; the train binary sets it). What differs between methods
is in the method object (`colortrack.methods`). Inputs: `inputs.TrainingInputs`.
"""

import contextlib
import hashlib
import json
import logging
import math
import os
import time
from typing import Dict, Optional, Tuple

import keras
import ml_collections
import numpy as np
from keras import ops

from colortrack import errors
from colortrack import packing
from colortrack import validation
from colortrack.data import clip_features
from colortrack.methods import base
from colortrack.methods import registry
from colortrack.modeling import colorizer
from colortrack.training import checkpoints
from colortrack.training import inputs as inputs_lib
from colortrack.training import summaries
from colortrack.training import summary_writer
from colortrack.utils import files
from colortrack.utils import progress as progress_lib

CONFIG_NAME = "config.json"
CODEBOOK_NAME = "codebook.json"
CHECKPOINT_DIR = checkpoints.CHECKPOINT_DIR
TENSORBOARD_DIR = "tensorboard"
BACKENDS = ("tensorflow", "jax")
# Re-exported: what checkpoints save as the model, and the finiteness check.
model_weights = checkpoints.model_weights
all_finite = checkpoints.all_finite


TrainingError = errors.TrainingError


def model_fields(config_json: dict) -> dict:
  """The `model` section of a config as JSON, with the fields an older config lacks set to
  the base defaults it was built with (a field added later keeps old workdirs usable)."""
  from colortrack.configs import base  # pylint: disable=g-import-not-at-top
  fields = json.loads(base.get_base_config().to_json_best_effort())["model"]
  fields.update(config_json.get("model") or {})
  return fields


# Fields that shape the batches a saved input pipeline holds.
INPUT_SHAPE_FIELDS = (("data", "image_size"), ("data", "clip_len"), ("train", "batch_size"))


def estimate_step_bytes(config: ml_collections.ConfigDict) -> int:
  """A low estimate of the memory one training step holds: the float32 activations kept
  for the backward pass, and the pointer's affinities.

  Per frame: the stem (2 tensors at 1/2 and 1/4 of the size), ~4 tensors per residual
  block at its stage's resolution (strides 4, 8, 16, 32, capped by the output
  stride), 3 per head layer; per clip, the target frames' affinities to the
  references. Low on purpose: a batch refused by it cannot fit, so it is refused in
  one line instead of stalling for minutes; one that passes may still be too large.
  """
  model, size = config.model, config.data.image_size
  stride = model.output_stride
  floats = 2 * model.encoder_widths[0] * (size / 2) ** 2
  for index, (width, blocks) in enumerate(zip(model.encoder_widths, model.encoder_blocks)):
    floats += 4 * blocks * width * (size / min(4 * 2 ** index, stride)) ** 2
  cells = (size / stride) ** 2
  floats += 3 * (len(model.head_dilations) + 1) * model.head_width * cells
  per_clip = config.data.clip_len * floats + (config.data.clip_len - 1) * cells ** 2
  return int(4 * per_clip * config.train.batch_size)


class _Heartbeat:
  """Logs `what` at once and every `every_s` seconds until `stop()`: a long first step
  (compiling, a large batch) shows it is alive instead of printing nothing."""

  def __init__(self, what: str, every_s: float = 30.0):
    import threading  # pylint: disable=g-import-not-at-top
    self._done = threading.Event()
    start = time.monotonic()
    logging.info("%s...", what)

    def beat():
      while not self._done.wait(every_s):
        logging.info("%s: still working after %.0f s", what, time.monotonic() - start)

    threading.Thread(target=beat, daemon=True).start()

  def stop(self) -> None:
    self._done.set()


def available_memory_bytes() -> Optional[int]:
  """MemAvailable of this machine (Linux), None where unknown."""
  try:
    with open("/proc/meminfo") as f:
      for line in f:
        if line.startswith("MemAvailable:"):
          return int(line.split()[1]) * 1024
  except (OSError, ValueError, IndexError):
    pass
  return None


def check_step_fits(config: ml_collections.ConfigDict, on_accelerator: bool) -> None:
  """TrainingError when a CPU training step cannot fit in this machine's memory."""
  need, available = estimate_step_bytes(config), available_memory_bytes()
  if on_accelerator or not available or need <= available:
    return
  batch = config.train.batch_size
  fits = max(1, int(batch * available / need))
  raise TrainingError(
      f"config.train.batch_size={batch}: one training step needs at least {need / 2**30:.1f} "
      f"GiB at config.data.image_size={config.data.image_size}, this machine has "
      f"{available / 2**30:.1f} GiB available; use a batch of at most ~{fits}")


def save_or_check_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Writes config.json; on resume, refuses a model that differs from the saved one."""
  path = os.path.join(workdir, CONFIG_NAME)
  current = json.loads(config.to_json_best_effort())
  if os.path.exists(path):
    with open(path) as f:
      saved = json.load(f)
    if (model_fields(saved) != model_fields(current) or
        saved.get("method", "vondrick") != current["method"]):
      raise TrainingError(f"{path}: the workdir holds a different model "
                          f"({saved.get('model')}); use a new --workdir")
    # The saved input pipeline (train.checkpoint_input) holds batches of the saved shapes.
    for section, key in INPUT_SHAPE_FIELDS:
      before, now = (saved.get(section) or {}).get(key), current[section][key]
      if (before is not None and before != now and current["train"].get("checkpoint_input")
          and checkpoints.latest(workdir)):
        raise TrainingError(
            f"config.{section}.{key}={now!r}, but the checkpoints in {workdir} were written "
            f"with {before!r}: their saved input pipeline cannot resume with another shape; "
            f"use a new --workdir (with --config.train.init_workdir={workdir} to start from "
            "its weights)")
  # A workdir's config.json is colortrack's (a foreign workdir was refused above).
  files.write_json_atomic(path, current, known_ours=True)


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
  number("data.video_memory_gib", 0, low_open=False)  # 0: always stream
  number("mast.drop_prob", 0, 1, low_open=False)
  number("mast.huber_delta", 0)
  try:
    validation.check_training(config)
  except validation.SettingError as e:
    raise TrainingError(str(e)) from e
  backend = config.runtime.get("backend", "tensorflow")
  if backend not in BACKENDS:
    raise TrainingError(f"config.runtime.backend={backend!r}: use one of {BACKENDS}")
  if backend != keras.backend.backend():
    raise TrainingError(f"config.runtime.backend={backend!r} but Keras runs on "
                        f"{keras.backend.backend()!r}; set KERAS_BACKEND={backend} before "
                        "Keras is imported (the train binary does)")
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


def build_model_from_config(config: ml_collections.ConfigDict) -> colorizer.Colorizer:
  return colorizer.build_colorizer(config.model, config.data.clip_len, config.data.image_size,
                                   registry.get(config).input_channels)


def latest_checkpoint(workdir: str) -> Optional[str]:
  """The workdir's latest checkpoint (a TF prefix or a JAX run's `.npz`), None if none."""
  return checkpoints.latest(workdir)


def restore_model(workdir: str, dtype_policy: Optional[str] = None,
                  output_stride: Optional[int] = None) -> colorizer.Colorizer:
  """The model of a training workdir with its latest checkpoint's weights (either format).

  `dtype_policy` (e.g. "mixed_bfloat16") builds the layers with that Keras
  policy; weights stay float32, so the same checkpoint restores.
  `output_stride` (e.g. 4 for a model trained at 8) builds the encoder with more
  dilation instead of striding: the same weights on a finer feature grid
  (a test-time option; the weights' shapes do not depend on it).
  """
  config = load_config(workdir)
  if output_stride and output_stride != config.model.output_stride:
    config.model.output_stride = int(output_stride)
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
  try:
    checkpoints.load_model_weights(model, checkpoint)
  except checkpoints.CheckpointError as e:
    raise TrainingError(str(e)) from e


def learning_rate_schedule(train_config: ml_collections.ConfigDict):
  return keras.optimizers.schedules.PiecewiseConstantDecay(
      [train_config.lr_drop_step], [train_config.learning_rate, train_config.lr_after_drop])


class _Visualizer:
  """Renders a fixed set of clips every few steps, so pictures are comparable over time."""

  def __init__(self, config, method: base.Method, batch: Dict[str, np.ndarray],
               points=((0.3, 0.3), (0.5, 0.6), (0.7, 0.4))):
    self.batch = dict(batch)
    self.batch[clip_features.AUGMENT_SEED] = np.zeros([len(batch[clip_features.LIGHTNESS]), 2],
                                                      np.int64)
    self.method = method
    self.stride = config.model.output_stride
    grid = config.data.image_size // self.stride
    self.points = np.array([[int(r * grid), int(c * grid)] for r, c in points])

  def images(self, model) -> Dict[str, np.ndarray]:
    batch = self.batch
    embeddings = model(self.method.model_inputs(batch, training=False), training=False)
    prediction = ops.convert_to_numpy(self.method.losses(model, batch, embeddings)["prediction"])
    lightness = batch[clip_features.LIGHTNESS][..., 0]
    embeddings = ops.convert_to_numpy(embeddings).astype(np.float32)
    colour_rows, attention_rows = [], []
    for b in range(lightness.shape[0]):
      gray = np.repeat((lightness[b, -1] / 100.0 * 255.0).round().astype(np.uint8)[..., None],
                       3, -1)
      if clip_features.RGB in batch:
        truth = (batch[clip_features.RGB][b, -1] * 255).round().astype(np.uint8)
      else:
        truth = summaries.quantized_rgb(lightness[b, -1], batch[clip_features.AB_CODES][b, -1],
                                        self.method.centroids)
      predicted = self.method.prediction_rgb(prediction[b].astype(np.float32), lightness[b, -1])
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


def _init_source(config: ml_collections.ConfigDict) -> Tuple[str, bool]:
  """What `config.train.init_workdir` starts the model from, checked: (the latest checkpoint
  of a training workdir, False), e.g. MAST pair pre-training, or (a packed one-network
  export, True), e.g. `colortrack/pretrained/mast_crop256`, to train a shipped network
  further on other video. The source's model fields must be this config's.
  """
  source = config.train.init_workdir
  exported = packing.is_packed(source)
  if exported:
    try:
      source_json = files.read_json(os.path.join(source, packing.CONFIG_NAME))
      if not isinstance(source_json, dict):
        raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
      raise TrainingError(f"{source}: init_workdir is an export with an unreadable "
                          f"{packing.CONFIG_NAME} ({errors.first_line(e)})") from e
  elif os.path.isfile(os.path.join(source, packing.CONFIG_NAME)):
    raise TrainingError(f"{source}: init_workdir is a SavedModel export; start from its "
                        "training workdir, or write it packed first (python -m train.export "
                        f"--from_export={source} --export_dir=DIR --packed)")
  else:
    source_json = json.loads(load_config(source).to_json_best_effort())
  if model_fields(source_json) != model_fields(json.loads(config.to_json_best_effort())):
    raise TrainingError(f"{source}: init_workdir holds a different model "
                        f"({source_json.get('model')}); it cannot initialise this one")
  if exported:
    networks = 1 + len(source_json.get("ensemble") or [])
    if networks > 1:
      raise TrainingError(f"{source}: init_workdir is an export of {networks} networks; write "
                          "the one to start from alone first (python -m train.export "
                          f"--from_export={source} --networks=I --export_dir=DIR --packed)")
    return source, True
  checkpoint = latest_checkpoint(source)
  if checkpoint is None:
    raise TrainingError(f"{source}: init_workdir has no checkpoint in {CHECKPOINT_DIR}/")
  return checkpoint, False


def _init_weights(model: colorizer.Colorizer, source: str, exported: bool) -> None:
  """Loads the weights `_init_source` found into `model`."""
  if not exported:
    _restore_weights(model, source)
    logging.info("initialised the model from %s", source)
    return
  try:
    packing.load_weights(source, [model])
  except packing.PackError as e:
    raise TrainingError(str(e)) from e
  logging.info("initialised the model from the export %s", source)


def build_model_and_optimizer(config: ml_collections.ConfigDict, runner):
  """The model (in `config.runtime.dtype_policy`), its Adam optimizer and LR schedule."""
  schedule = learning_rate_schedule(config.train)
  previous_policy = keras.mixed_precision.global_policy()
  keras.mixed_precision.set_global_policy(config.runtime.get("dtype_policy", "float32"))
  # The same seed, the same initial weights: a run at learning rate 0 is the exact
  # random initialisation of a run it is compared with.
  keras.utils.set_random_seed(config.train.seed)
  try:
    with runner.scope():
      model = build_model_from_config(config)
      optimizer = keras.optimizers.Adam(schedule)
      optimizer.build(model.trainable_variables)
  finally:
    keras.mixed_precision.set_global_policy(previous_policy)
  return model, optimizer, schedule


def weights_fingerprint(model: keras.Model) -> str:
  """A short hash of the trainable weights' bytes: equal on every worker of a synchronous
  run, so the logs show that the replicas agree. (BatchNorm statistics are left out:
  each replica averages its own batches, as tf.distribute does.)"""
  digest = hashlib.sha256()
  for weight in model.trainable_weights:
    digest.update(np.ascontiguousarray(ops.convert_to_numpy(weight.value)).tobytes())
  return digest.hexdigest()[:16]


@contextlib.contextmanager
def _one_line_if_a_worker_stops(runner):
  """Another worker of a multi-worker run stopped: one line, not the collective's traceback."""
  try:
    yield
  except Exception as e:  # pylint: disable=broad-except
    if not runner.is_stopped_worker(e):
      raise
    raise errors.WorkerStoppedError(
        f"a worker of this multi-worker run stopped ({type(e).__name__}); the last checkpoint "
        f"is {runner.latest_checkpoint or 'none'}: start every worker again with the same "
        "command to resume from it") from e


def make_runner(config: ml_collections.ConfigDict):
  """The gradient step of the configured backend (created before any data is read)."""
  if config.runtime.get("backend", "tensorflow") == "jax":
    from colortrack.training import jax_runner  # pylint: disable=g-import-not-at-top
    return jax_runner.JaxRunner(config)
  from colortrack.training import tf_runner  # pylint: disable=g-import-not-at-top
  return tf_runner.TensorFlowRunner(config)


def _check_checkpoint_format(workdir: str, backend: str) -> None:
  latest = latest_checkpoint(workdir)
  if latest and latest.endswith(".npz") != (backend == "jax"):
    other = "jax" if latest.endswith(".npz") else "tensorflow"
    raise TrainingError(f"{latest}: this workdir was trained with the {other} backend; resume "
                        f"it with --config.runtime.backend={other}, or train in a new "
                        "--workdir (init_workdir can start from its weights)")


def train(config: ml_collections.ConfigDict, workdir: str) -> Dict[str, float]:
  """Trains until `config.train.num_steps`; returns the last logged metrics."""
  if not config.data.train_pattern:
    raise TrainingError("config.data.train_pattern is required "
                        "(--config.data.train_pattern='DIR/*.tfrecord')")
  validate_config(config)
  backend = config.runtime.get("backend", "tensorflow")
  runner = make_runner(config)
  check_step_fits(config, runner.on_accelerator)
  data = inputs_lib.TrainingInputs(config)
  # Checked before the workdir is claimed (a refused source leaves nothing behind), and
  # only for a run that will start from it (a resumed one may outlive its source).
  init_source = None
  if config.train.init_workdir and latest_checkpoint(workdir) is None:
    init_source = _init_source(config)
  # One process writes the workdir: the chief of a multi-worker run (the others train
  # in lockstep, read its checkpoints to resume, and write nothing there).
  chief = runner.is_chief
  if chief:
    files.ensure_output_dir(workdir, "workdir", claim=True)
    save_or_check_config(config, workdir)
    check_codebook(workdir, data.codebook_sha, data.centroids)
  _check_checkpoint_format(workdir, backend)
  method = registry.get(config, data.centroids)
  if backend not in method.backends:
    raise TrainingError(f"config.method={method.name!r} trains with the "
                        f"{' or '.join(method.backends)} backend only, not {backend}")
  global_batch = config.train.batch_size
  logging.info("training %s on %s (codebook %s, %d clusters), %s backend, %d replica(s), "
               "global batch %d", method.name, data.description, data.codebook_sha,
               method.num_clusters, backend, runner.num_replicas, global_batch)
  model, optimizer, schedule = build_model_and_optimizer(config, runner)
  checkpoint_dir = os.path.join(workdir, CHECKPOINT_DIR)
  runner.build(model, optimizer, model_weights(model), method, data, checkpoint_dir)
  if runner.restore():
    if not all_finite(model.weights):
      raise TrainingError(f"{runner.latest_checkpoint}: checkpoint holds NaN or inf weights "
                          "(written by an older colortrack?); remove it to resume from an "
                          "earlier one")
    logging.info("resumed from %s at step %d", runner.latest_checkpoint, runner.step_number)
  elif init_source:
    _init_weights(model, *init_source)

  writer = visualizer = None
  if chief:
    writer = summary_writer.SummaryWriter(os.path.join(workdir, TENSORBOARD_DIR))
    visualizer = _Visualizer(config, method, data.eval_batch(
        tuple(set(method.input_keys) | {clip_features.LIGHTNESS})))
  step = runner.step_number
  num_steps = config.train.num_steps
  progress = progress_lib.Progress("train", num_steps - step, unit="steps", interval_s=0)
  window_start, window_steps = time.monotonic(), 0
  sums = {}
  last = {}
  heartbeat = None
  if step < num_steps:  # tracing/compiling the step and filling the input pipeline
    heartbeat = _Heartbeat(
        f"building the first training step (tracing, compiling, reading a batch of "
        f"{global_batch} clips; at least {estimate_step_bytes(config) / 2**30:.2f} GiB)")
  with _one_line_if_a_worker_stops(runner):
    while step < num_steps:
      try:
        metrics = runner.step()
      finally:  # also when the first step fails: no heartbeat outlives it
        if heartbeat is not None:
          heartbeat.stop()
          heartbeat = None
      step += 1
      window_steps += 1
      # Summed where the step left them (on the device under JAX): the host waits for
      # the device only here, every log_every steps, not after each step.
      for key, value in metrics.items():
        sums[key] = sums.get(key, 0.0) + value
      if step % config.train.log_every == 0 or step == num_steps:
        last = {k: float(ops.convert_to_numpy(v)) / window_steps for k, v in sums.items()}
        # Timed once the window's steps are done (reading them waited for the device).
        seconds = time.monotonic() - window_start
        clips_per_s = window_steps * global_batch / max(seconds, 1e-9)
        if not math.isfinite(last["loss"]):
          raise TrainingError(
              f"step {step}: loss is {last['loss']} (mean of steps {step - window_steps + 1}-"
              f"{step}); training stopped, nothing saved after "
              f"{runner.latest_checkpoint or 'the start'} (lower train.learning_rate?)")
        last.update(clips_per_s=clips_per_s, step=step,
                    learning_rate=float(ops.convert_to_numpy(schedule(step))))
        shown = ", ".join(f"{k} {last[k]:.4f}" for k in sorted(sums) if k != "loss")
        progress.update(window_steps, extra=(
            f"step {step}, loss {last['loss']:.4f}, {shown}, {clips_per_s:.2f} clips/s"),
                        force=True)
        if writer:
          writer.scalars(step, {f"train/{k}": v for k, v in last.items() if k != "step"})
        window_start, window_steps = time.monotonic(), 0
        sums = {}
      if visualizer and (step % config.train.image_summary_every == 0 or step == num_steps):
        runner.sync_model()
        for name, images in visualizer.images(model).items():
          writer.images(step, name, images)
      if step % config.train.checkpoint_every == 0 or step == num_steps:
        runner.sync_model()
        if not all_finite(model.weights):
          raise TrainingError(f"step {step}: model weights hold NaN or inf; training stopped, "
                              f"nothing saved after {runner.latest_checkpoint or 'the start'}")
        runner.save(step)
  if writer:
    writer.flush()
  runner.sync_model()
  logging.info("done: step %d in %s; checkpoints in %s, TensorBoard logdir %s (weights %s)",
               step, workdir, os.path.join(workdir, CHECKPOINT_DIR),
               os.path.join(workdir, TENSORBOARD_DIR), weights_fingerprint(model))
  return last
