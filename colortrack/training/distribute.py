"""Choosing the tf.distribute strategy for the machine we are on."""

import json
import logging
import os

import tensorflow as tf


def configure_virtual_cpus(count: int) -> None:
  """Splits the CPU into `count` logical devices (must run before TF initialises)."""
  cpus = tf.config.list_physical_devices("CPU")
  tf.config.set_logical_device_configuration(
      cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(count)])


def get_strategy(virtual_cpu_devices: int = 0) -> tf.distribute.Strategy:
  """MultiWorkerMirrored with TF_CONFIG; Mirrored over all GPUs; else default.

  `virtual_cpu_devices > 1` mirrors over that many logical CPU devices, so
  multi-replica code paths run on a CPU-only machine.
  """
  if os.environ.get("TF_CONFIG"):
    cluster = json.loads(os.environ["TF_CONFIG"]).get("cluster", {})
    logging.info("TF_CONFIG set (%d workers): MultiWorkerMirroredStrategy",
                 len(cluster.get("worker", [])))
    return tf.distribute.MultiWorkerMirroredStrategy()
  if virtual_cpu_devices > 1:
    configure_virtual_cpus(virtual_cpu_devices)
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    logging.info("MirroredStrategy over %d virtual CPU devices", len(devices))
    return tf.distribute.MirroredStrategy(devices=devices)
  gpus = tf.config.list_physical_devices("GPU")
  if gpus:
    logging.info("MirroredStrategy over %d GPU(s)", len(gpus))
    return tf.distribute.MirroredStrategy()
  logging.debug("no GPU: default strategy on CPU")  # the trainer's first line says "1 replica"
  return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
  """The worker that writes a multi-worker run's workdir: the "chief" task if the cluster
  has one, else worker 0; any single-machine strategy is its own chief."""
  resolver = getattr(strategy, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  if resolver.task_type == "chief":
    return True
  has_chief = "chief" in resolver.cluster_spec().as_dict()
  return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief
