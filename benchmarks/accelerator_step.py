r"""Benchmark: the JAX trainer's step alone (no input pipeline): step time and clips/s.

Example (a GPU machine with JAX, no TensorFlow needed; run by benchmarks/accelerator_run.sh):
  KERAS_BACKEND=jax python -m benchmarks.accelerator_step \
      --config=colortrack/configs/paper.py --dtype_policy=mixed_bfloat16 --steps=50

The trainer's own JAX step (`JaxRunner`: model, method loss, Adam, donated
state, the batch copied to the device each step) on one random batch of the
preset's shape fed again and again: what the device does per step when the input
keeps up. Prints one JSON line: seconds_per_step, clips_per_s, compile_s (the
first step), device, peak device memory where the runtime reports it.
"""

import json
import os
import tempfile
import time

from absl import app
from absl import flags
from ml_collections import config_flags
import numpy as np

from colortrack.data import clip_features
from colortrack.methods import registry
from colortrack.training import trainer

_CONFIG = config_flags.DEFINE_config_file("config", None, "Preset in colortrack/configs/.")
_DTYPE = flags.DEFINE_string("dtype_policy", "float32", "Keras dtype policy (mixed_bfloat16).")
_STEPS = flags.DEFINE_integer("steps", 50, "Timed steps.", lower_bound=1)
_WARMUP = flags.DEFINE_integer("warmup", 3, "Untimed steps first (the first one compiles).",
                               lower_bound=1)
flags.mark_flags_as_required(["config"])


class RepeatedBatch:
  """The `TrainingInputs` interface a runner reads, serving one random batch forever."""

  READ_ERRORS = ()

  def __init__(self, config, num_clusters: int):
    rng = np.random.default_rng(0)
    b, t, s = config.train.batch_size, config.data.clip_len, config.data.image_size
    rgb = rng.uniform(0, 1, (b, t, s, s, 3)).astype(np.float32)
    self.batch = {
        clip_features.RGB: rgb,
        clip_features.LIGHTNESS: (rgb.mean(-1, keepdims=True) * 100).astype(np.float32),
        clip_features.AB_CODES: rng.integers(0, num_clusters, (b, t, s, s)).astype(np.int32),
        clip_features.AUGMENT_SEED: np.stack([np.zeros(b), np.arange(b)], 1).astype(np.int64),
    }

  def numpy_batches(self, keys, batch_size, seed, start_step, shard=(0, 1)):
    del batch_size, seed, start_step, shard
    batch = {k: self.batch[k] for k in set(keys) | {clip_features.AUGMENT_SEED}}
    while True:
      yield batch


def main(argv):
  del argv
  import jax  # pylint: disable=g-import-not-at-top
  config = _CONFIG.value
  config.unlock()
  config.runtime.backend = "jax"
  config.runtime.dtype_policy = _DTYPE.value
  centroids = np.random.default_rng(0).uniform(-80, 80, (16, 2)).astype(np.float32)
  method = registry.get(config, centroids)
  runner = trainer.make_runner(config)
  model, optimizer, _ = trainer.build_model_and_optimizer(config, runner)
  with tempfile.TemporaryDirectory() as checkpoint_dir:
    runner.build(model, optimizer, {}, method, RepeatedBatch(config, len(centroids)),
                 os.path.join(checkpoint_dir, "checkpoints"))
    start = time.monotonic()
    jax.block_until_ready(runner.step())
    compile_s = time.monotonic() - start
    for _ in range(_WARMUP.value - 1):
      runner.step()
    jax.block_until_ready(runner.step())
    start = time.monotonic()
    for _ in range(_STEPS.value):
      metrics = runner.step()
    loss = float(jax.block_until_ready(metrics)["loss"])
    seconds = (time.monotonic() - start) / _STEPS.value
  device = jax.devices()[0]
  stats = device.memory_stats() or {}
  print(json.dumps({
      "preset": config.method, "image_size": config.data.image_size,
      "clip_len": config.data.clip_len, "batch_size": config.train.batch_size,
      "dtype_policy": _DTYPE.value, "device": f"{len(jax.devices())} x {device.device_kind}",
      "compile_s": round(compile_s, 1), "seconds_per_step": round(seconds, 5),
      "clips_per_s": round(config.train.batch_size / seconds, 1),
      "peak_device_gib": round(stats.get("peak_bytes_in_use", 0) / 2**30, 2) or None,
      "loss_finite": bool(np.isfinite(loss))}))


if __name__ == "__main__":
  app.run(main)
