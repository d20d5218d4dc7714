"""The training step under TensorFlow: tf.distribute, a tf.function step, tf.train checkpoints.

`MirroredStrategy` over the machine's GPUs, `MultiWorkerMirroredStrategy` with
TF_CONFIG (each worker reads its own shard of the input; the chief alone keeps
checkpoints), the default strategy on a CPU (`distribute.get_strategy`).
Checkpoints (`ckpt-<step>` in the workdir's checkpoints/) hold every model
weight by position (`trainer.model_weights`), the optimizer and, on a single
device, the tf.data iterator, so a resumed run sees exactly the clips it would
have seen; otherwise the data is reseeded with the step.
"""

import logging
import shutil
import tempfile
from typing import Dict

import keras
import ml_collections
import tensorflow as tf

from colortrack import errors
from colortrack.methods import base
from colortrack.modeling import colorizer
from colortrack.training import distribute


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


class TensorFlowRunner:
  """Model, optimizer, input and checkpoints of a TF run; `step()` trains one step."""

  def __init__(self, config: ml_collections.ConfigDict):
    # First of all: logical CPU devices can only be set up before TF initialises.
    self.strategy = distribute.get_strategy(config.runtime.virtual_cpu_devices)
    self.config = config

  @property
  def on_accelerator(self) -> bool:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))

  @property
  def num_replicas(self) -> int:
    return self.strategy.num_replicas_in_sync

  @property
  def is_chief(self) -> bool:
    """Whether this process writes the workdir (False on the other workers of a
    multi-worker run)."""
    return distribute.is_chief(self.strategy)

  def scope(self):
    """Build the model and optimizer in here (variables mirrored over the replicas)."""
    return self.strategy.scope()

  def build(self, model, optimizer, weights: Dict[str, object], method: base.Method, inputs,
            checkpoint_dir: str) -> None:
    """`weights`: every model weight by key, as checkpoints store them."""
    config = self.config
    self.inputs = inputs
    self.model, self.optimizer = model, optimizer
    latest = tf.train.latest_checkpoint(checkpoint_dir)
    resume_step = int(latest.rsplit("-", 1)[1]) if latest else 0

    def make_iterator(seed: int, start_step: int = 0):
      return iter(self.strategy.distribute_datasets_from_function(
          lambda context: inputs.tf_dataset(method.input_keys, config.train.batch_size, seed,
                                            context, start_step)))

    self.iterator = make_iterator(config.train.seed)
    tracked = {"weights": weights, "optimizer": self.optimizer}
    # tf.data saves single-device iterators of file datasets only; a multi-replica
    # DistributedIterator, or a generator's, is not trackable.
    if (config.train.checkpoint_input and inputs.source == "tfrecord" and
        isinstance(self.iterator, tf.__internal__.tracking.Trackable)):
      tracked["iterator"] = self.iterator
    else:
      if config.train.checkpoint_input and inputs.source == "tfrecord":
        logging.info("the distributed input iterator cannot be checkpointed; a resumed run "
                     "reseeds the data with the step instead")
      if latest and inputs.source == "tfrecord":
        self.iterator = make_iterator(config.train.seed + resume_step)
      elif inputs.source == "video":
        self.iterator = make_iterator(config.train.seed, resume_step)
    self.checkpoint = tf.train.Checkpoint(**tracked)
    self.manager = tf.train.CheckpointManager(self.checkpoint, checkpoint_dir,
                                              max_to_keep=config.train.keep_checkpoints)
    self._train_step = make_train_step(self.model, self.optimizer, self.strategy, config,
                                       method)

  @property
  def latest_checkpoint(self):
    return self.manager.latest_checkpoint

  def restore(self) -> bool:
    """Restores the latest checkpoint if there is one (True), else leaves the init."""
    if not self.manager.latest_checkpoint:
      return False
    self.checkpoint.restore(self.manager.latest_checkpoint).assert_existing_objects_matched()
    return True

  @property
  def step_number(self) -> int:
    return int(self.optimizer.iterations.numpy())

  def step(self) -> Dict[str, object]:
    try:
      metrics = self._train_step(self.iterator)
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
      raise self.inputs.read_error(e, self.step_number + 1,
                                   self.manager.latest_checkpoint) from e
    except tf.errors.ResourceExhaustedError as e:
      raise errors.out_of_memory(self.config.train.batch_size, e) from e
    return metrics  # scalars; the trainer reads them at log_every

  def is_stopped_worker(self, error: BaseException) -> bool:
    """Whether `error` says another worker of a multi-worker run stopped (killed,
    preempted, crashed): a collective op lost its peer."""
    return isinstance(error, (tf.errors.UnavailableError, tf.errors.AbortedError))

  def sync_model(self) -> None:
    """The Keras model's variables are the training state under TF: nothing to copy."""

  def save(self, step: int) -> str:
    if self.is_chief:
      return self.manager.save(checkpoint_number=step)
    # Saving is a collective op that every worker of a multi-worker run takes part in;
    # only the chief's copy is kept (the TensorFlow multi-worker guide): the others
    # write to a folder in their own machine's temp dir and delete it.
    worker_dir = tempfile.mkdtemp(prefix="colortrack_worker_")
    try:
      tf.train.CheckpointManager(self.checkpoint, worker_dir, max_to_keep=1).save(
          checkpoint_number=step)
    finally:
      shutil.rmtree(worker_dir, ignore_errors=True)
    return self.manager.latest_checkpoint

