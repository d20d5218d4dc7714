r"""Benchmark: training clips/s and peak memory of a preset on this machine.

Example (the numbers in BENCHMARKS.md):
  python -m benchmarks.train_throughput --config=colortrack/configs/paper.py \
      --config.data.train_pattern='CLIPS_DIR/*.tfrecord' --steps=3

Runs the trainer's own step function (same model, loss, optimizer, input
pipeline) for `--warmup` untimed steps and `--steps` timed ones; peak memory is
the process's maximum resident set size.
"""

import json
import resource
import time

import keras
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from colortrack.data import pipeline
from colortrack.methods import registry
from colortrack.training import distribute
from colortrack.training import trainer

_CONFIG = config_flags.DEFINE_config_file("config", None, "Preset in colortrack/configs/.")
_STEPS = flags.DEFINE_integer("steps", 3, "Timed steps.")
_WARMUP = flags.DEFINE_integer("warmup", 1, "Untimed steps first (tracing).")
flags.mark_flags_as_required(["config"])


def main(argv):
  del argv
  config = _CONFIG.value
  strategy = distribute.get_strategy(config.runtime.virtual_cpu_devices)
  centroids, _ = pipeline.read_codebook(config.data.train_pattern)
  method = registry.get(config, centroids)
  with strategy.scope():
    model = trainer.build_model_from_config(config)
    optimizer = keras.optimizers.Adam(config.train.learning_rate)
    optimizer.build(model.trainable_variables)
  iterator = iter(strategy.distribute_datasets_from_function(
      lambda context: pipeline.make_dataset(
          config.data.train_pattern, batch_size=config.train.batch_size,
          keys=method.input_keys, clip_len=config.data.clip_len,
          image_size=config.data.image_size,
          input_context=context, shuffle_buffer=config.data.shuffle_buffer, seed=0)))
  train_step = trainer.make_train_step(model, optimizer, strategy, config, method)
  for _ in range(_WARMUP.value):
    train_step(iterator)["loss"].numpy()
  start = time.monotonic()
  for _ in range(_STEPS.value):
    train_step(iterator)["loss"].numpy()
  seconds = (time.monotonic() - start) / _STEPS.value
  result = {
      "seconds_per_step": round(seconds, 3),
      "clips_per_s": round(config.train.batch_size / seconds, 2),
      "batch_size": config.train.batch_size,
      "image_size": config.data.image_size,
      "parameters": int(model.count_params()),
      "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
      "steps": _STEPS.value,
  }
  logging.info("result: %s", json.dumps(result))
  print(json.dumps(result, indent=1))


if __name__ == "__main__":
  app.run(main)
