"""The training step under JAX: one jitted stateless step, data parallel over all local devices.

With more than one device, `keras.distribution.DataParallel` replicates the
variables and each batch is split along its first axis over the devices; the
gradient of the global mean loss is what the optimizer applies (XLA inserts
the all-reduce). The step is `Method.losses` on `model.stateless_call`,
differentiated with `jax.value_and_grad` and applied with
`optimizer.stateless_apply`: the same method code as under TensorFlow.
Checkpoints are `.npz` (`checkpoints.save_npz`): no TensorFlow needed here,
and `train.export` on a machine with TensorFlow exports them. A resumed run
continues the input stream at its step (both sources are seeded per step).
"""

import contextlib
import logging
from typing import Dict

import jax
import keras
import ml_collections
import numpy as np
from keras import ops

from colortrack import errors
from colortrack.methods import base
from colortrack.training import checkpoints


class JaxRunner:
  """Model, optimizer, input and checkpoints of a JAX run; `step()` trains one step."""

  def __init__(self, config: ml_collections.ConfigDict):
    self.config = config
    self.devices = jax.devices()
    if config.train.batch_size % len(self.devices):
      raise errors.TrainingError(f"config.train.batch_size={config.train.batch_size} must be a "
                             f"multiple of the {len(self.devices)} devices")
    self.distribution = None
    if len(self.devices) > 1:
      self.distribution = keras.distribution.DataParallel(devices=self.devices)
      keras.distribution.set_distribution(self.distribution)
    logging.info("JAX on %d %s device(s)%s", len(self.devices), self.devices[0].platform,
                 ", data parallel" if self.distribution else "")

  @property
  def on_accelerator(self) -> bool:
    return self.devices[0].platform != "cpu"

  @property
  def num_replicas(self) -> int:
    return len(self.devices)

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

    # No buffer donation: the Keras variables keep their arrays between syncs.
    self._train_step = jax.jit(train_step)

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

  def _shard(self, batch):
    if self.distribution is None:
      return batch
    return {k: jax.device_put(v, self.distribution.get_data_layout(v.shape).backend_layout)
            for k, v in batch.items()}

  def step(self) -> Dict[str, float]:
    if self._state is None:
      start = self.step_number
      self._iterations_index = next(i for i, v in enumerate(self.optimizer.variables)
                                    if v is self.optimizer.iterations)
      self._state = ([v.value for v in self.model.trainable_variables],
                     [v.value for v in self.model.non_trainable_variables],
                     [v.value for v in self.optimizer.variables])
      if self._batches is None:
        self._batches = self.inputs.numpy_batches(self.method.input_keys,
                                                  self.config.train.batch_size,
                                                  self.config.train.seed, start)
    try:
      batch = self._shard(next(self._batches))
    except Exception as e:  # pylint: disable=broad-except
      if type(e).__name__ not in self.inputs.READ_ERRORS:
        raise
      raise self.inputs.read_error(e, self.step_number + 1, self.latest_checkpoint) from e
    try:
      self._state, metrics = self._train_step(self._state, batch)
    except Exception as e:  # pylint: disable=broad-except
      if "RESOURCE_EXHAUSTED" not in str(e):
        raise
      raise errors.out_of_memory(self.config.train.batch_size, e) from e
    return {k: float(v) for k, v in metrics.items()}

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
    self.latest_checkpoint = checkpoints.save_npz(self.checkpoint_dir, step, self.model,
                                                  self.optimizer,
                                                  self.config.train.keep_checkpoints)
    return self.latest_checkpoint
