"""The training step under JAX: one jitted stateless step, data parallel over all devices.

With more than one device, `keras.distribution.DataParallel` replicates the
variables and each batch is split along its first axis over the devices (of
every process, when KERAS_DISTRIBUTION_NUM_PROCESSES > 1: each process reads
its own part of the batch, and process 0 alone writes checkpoints); the
gradient of the global mean loss is what the optimizer applies (XLA inserts
the all-reduce). The step is `Method.losses` on `model.stateless_call`,
differentiated with `jax.value_and_grad` and applied with
`optimizer.stateless_apply`: the same method code as under TensorFlow.
The step keeps an accelerator fed: it never waits for the device (the trainer
reads the summed metrics every `log_every` steps), the next batch is copied to
the device while the current step runs (double buffering), and the parameter
and optimizer buffers are donated to the step (held once, updated in place).
Checkpoints are `.npz` (`checkpoints.save_npz`): no TensorFlow needed here,
and `train.export` on a machine with TensorFlow exports them. A resumed run
continues the input stream at its step (both sources are seeded per step).
"""

import contextlib
import logging
import os
from typing import Dict

import jax
import jax.numpy as jnp
import keras
import ml_collections
import numpy as np
from keras import ops

from colortrack import errors
from colortrack.methods import base
from colortrack.training import checkpoints


PROCESS_COUNT_VARIABLE = "KERAS_DISTRIBUTION_NUM_PROCESSES"


class JaxRunner:
  """Model, optimizer, input and checkpoints of a JAX run; `step()` trains one step."""

  def __init__(self, config: ml_collections.ConfigDict):
    self.config = config
    self.num_processes = int(os.environ.get(PROCESS_COUNT_VARIABLE) or 1)
    if self.num_processes > 1:
      # Several processes (machines): Keras's own set-up from its environment variables
      # (KERAS_DISTRIBUTION_JOB_ADDRESSES, _NUM_PROCESSES, _PROCESS_ID), which calls
      # jax.distributed.initialize; on CPUs the collectives go through gloo.
      jax.config.update("jax_cpu_collectives_implementation", "gloo")
      keras.distribution.initialize()
    self.devices = jax.devices()  # every process's devices
    if config.train.batch_size % len(self.devices):
      raise errors.TrainingError(f"config.train.batch_size={config.train.batch_size} must be a "
                             f"multiple of the {len(self.devices)} devices")
    self.distribution = None
    if len(self.devices) > 1:
      self.distribution = keras.distribution.DataParallel(devices=self.devices)
      keras.distribution.set_distribution(self.distribution)
    logging.info("JAX on %d %s device(s)%s%s", len(self.devices), self.devices[0].platform,
                 ", data parallel" if self.distribution else "",
                 f" in {self.num_processes} processes (this is process {jax.process_index()})"
                 if self.num_processes > 1 else "")

  @property
  def on_accelerator(self) -> bool:
    return self.devices[0].platform != "cpu"

  @property
  def num_replicas(self) -> int:
    return len(self.devices)

  @property
  def is_chief(self) -> bool:
    """Whether this process writes the workdir (process 0 of a multi-process run)."""
    return jax.process_index() == 0

  def scope(self):
    return contextlib.nullcontext()  # the distribution, if any, is set globally

  def build(self, model, optimizer, weights: Dict[str, object], method: base.Method, inputs,
            checkpoint_dir: str) -> None:
    del weights  # checkpoints.save_npz keys the model's weights itself
    self.model, self.optimizer, self.method, self.inputs = model, optimizer, method, inputs
    self.checkpoint_dir = checkpoint_dir
    npz = checkpoints.npz_checkpoints(checkpoint_dir)
    self.latest_checkpoint = npz[-1] if npz else None
    self._state = None
    self._batches = None

    def compute(trainable, non_trainable, batch):
      inputs_ = method.model_inputs(batch, training=True)
      embeddings, non_trainable = model.stateless_call(trainable, non_trainable, inputs_,
                                                       training=True)
      metrics = method.losses(model, batch, embeddings)
      metrics.pop("prediction")
      metrics = {k: ops.mean(ops.cast(v, "float32")) for k, v in metrics.items()}
      return metrics["loss"], (non_trainable, metrics)

    gradient_fn = jax.value_and_grad(compute, has_aux=True)

    def train_step(state, batch):
      trainable, non_trainable, optimizer_state = state
      (_, (non_trainable, metrics)), gradients = gradient_fn(trainable, non_trainable, batch)
      trainable, optimizer_state = optimizer.stateless_apply(optimizer_state, gradients,
                                                             trainable)
      return (trainable, non_trainable, optimizer_state), metrics

    # The state is donated: the step updates parameters and optimizer slots in place.
    # (`_start_state` copies them out of the Keras variables, which keep their own.)
    self._train_step = jax.jit(train_step, donate_argnums=(0,))
    self._next_batch = None
    self._checked_first_step = False

  def restore(self) -> bool:
    if not self.latest_checkpoint:
      return False
    checkpoints.restore_npz(self.latest_checkpoint, self.model, self.optimizer)
    return True

  @property
  def step_number(self) -> int:
    if self._state is not None:
      return int(self._state[2][self._iterations_index])
    return int(np.asarray(self.optimizer.iterations.numpy()))

  def _to_device(self, batch):
    """Starts the batch's copy to the device(s) (asynchronous), split over them if several.

    In a multi-process run `batch` is this process's part of the global batch; the
    global array is assembled from every process's part.
    """
    if self.distribution is None:
      return jax.device_put(batch, self.devices[0])
    out = {}
    for key, value in batch.items():
      global_shape = (value.shape[0] * self.num_processes,) + value.shape[1:]
      layout = self.distribution.get_data_layout(global_shape).backend_layout
      if self.num_processes > 1:
        out[key] = jax.make_array_from_process_local_data(layout, value, global_shape)
      else:
        out[key] = jax.device_put(value, layout)
    return out

  def _fetch_batch(self):
    try:
      return self._to_device(next(self._batches))
    except Exception as e:  # pylint: disable=broad-except
      if type(e).__name__ not in self.inputs.READ_ERRORS:
        raise
      raise self.inputs.read_error(e, self.step_number + 1, self.latest_checkpoint) from e

  def _start_state(self) -> None:
    start = self.step_number
    self._iterations_index = next(i for i, v in enumerate(self.optimizer.variables)
                                  if v is self.optimizer.iterations)
    self._state = tuple([jnp.copy(v.value) for v in variables] for variables in (
        self.model.trainable_variables, self.model.non_trainable_variables,
        self.optimizer.variables))
    if self._batches is None:
      # Each process reads its own part of every global batch.
      self._batches = self.inputs.numpy_batches(self.method.input_keys,
                                                self.config.train.batch_size,
                                                self.config.train.seed, start,
                                                shard=(jax.process_index(), self.num_processes))

  def step(self) -> Dict[str, object]:
    """One step, dispatched without waiting for it: metrics are device scalars."""
    if self._state is None:
      self._start_state()
    batch = self._next_batch if self._next_batch is not None else self._fetch_batch()
    self._next_batch = None
    try:
      self._state, metrics = self._train_step(self._state, batch)
      if not self._checked_first_step:  # compiling and allocating fail here, if anywhere
        jax.block_until_ready(metrics)
        self._checked_first_step = True
    except Exception as e:  # pylint: disable=broad-except
      if "RESOURCE_EXHAUSTED" not in str(e):
        raise
      raise errors.out_of_memory(self.config.train.batch_size, e) from e
    # The next batch is read and copied while the device runs this step.
    self._next_batch = self._fetch_batch()
    return metrics

  # What XLA's collectives say when a peer process is gone.
  _PEER_LOST = ("Connection reset by peer", "Gloo", "UNAVAILABLE", "heartbeat", "Barrier")

  def is_stopped_worker(self, error: BaseException) -> bool:
    """Whether `error` says another process of a multi-process run stopped."""
    return (self.num_processes > 1 and "RuntimeError" in type(error).__name__ and
            any(marker in str(error) for marker in self._PEER_LOST))

  def sync_model(self) -> None:
    """Copies the jitted step's state into the Keras variables (pictures, checks, saving)."""
    if self._state is None:
      return
    trainable, non_trainable, optimizer_state = self._state
    for variable, value in zip(self.model.trainable_variables, trainable):
      variable.assign(value)
    for variable, value in zip(self.model.non_trainable_variables, non_trainable):
      variable.assign(value)
    for variable, value in zip(self.optimizer.variables, optimizer_state):
      variable.assign(value)
    # The variables now hold the state; the next step starts again from them.
    self._state = None

  def save(self, step: int) -> str:
    self.sync_model()
    if self.is_chief:  # the others hold the same state and write nothing
      checkpoints.save_npz(self.checkpoint_dir, step, self.model, self.optimizer,
                           self.config.train.keep_checkpoints)
    self.latest_checkpoint = checkpoints.npz_path(self.checkpoint_dir, step)
    return self.latest_checkpoint
