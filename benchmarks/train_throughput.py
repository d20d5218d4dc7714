r"""Benchmark: training clips/s and peak memory of a preset on this machine.

Example (the numbers in BENCHMARKS.md):
  python -m benchmarks.train_throughput --config=colortrack/configs/paper.py \
      --config.data.train_pattern='CLIPS_DIR/*.tfrecord' --steps=3

Runs the trainer's own step (the configured backend's runner: same model, loss,
optimizer, input pipeline) for `--warmup` untimed steps and `--steps` timed ones;
nothing is written (checkpoints go to a temporary folder that is removed). Peak
memory is the process's maximum resident set size. Time it on an idle machine.
"""

import json
import resource
import tempfile
import time
from typing import Dict

import ml_collections
from absl import app
from absl import flags
from absl import logging
from keras import ops
from ml_collections import config_flags

from colortrack.methods import registry
from colortrack.training import inputs as inputs_lib
from colortrack.training import trainer

_CONFIG = config_flags.DEFINE_config_file("config", None, "Preset in colortrack/configs/.")
_STEPS = flags.DEFINE_integer("steps", 3, "Timed steps.")
_WARMUP = flags.DEFINE_integer("warmup", 1, "Untimed steps first (tracing).")
flags.mark_flags_as_required(["config"])


def measure(config: ml_collections.ConfigDict, steps: int, warmup: int = 1) -> Dict[str, object]:
  """Seconds per training step of `config` (mean of `steps` after `warmup` untimed ones)."""
  if steps < 1 or warmup < 0:
    raise ValueError(f"steps must be >= 1 and warmup >= 0, not {steps} and {warmup}")
  runner = trainer.make_runner(config)
  data = inputs_lib.TrainingInputs(config)
  method = registry.get(config, data.centroids)
  model, optimizer, _ = trainer.build_model_and_optimizer(config, runner)

  def one_step():
    # Reading the loss waits for the step (under JAX the step only queues work).
    ops.convert_to_numpy(runner.step()["loss"])

  with tempfile.TemporaryDirectory() as checkpoint_dir:
    runner.build(model, optimizer, trainer.model_weights(model), method, data, checkpoint_dir)
    for _ in range(warmup):
      one_step()
    start = time.monotonic()
    for _ in range(steps):
      one_step()
    seconds = (time.monotonic() - start) / steps
  return {
      "seconds_per_step": round(seconds, 3),
      "clips_per_s": round(config.train.batch_size / seconds, 2),
      "batch_size": config.train.batch_size,
      "image_size": config.data.image_size,
      "parameters": int(model.count_params()),
      "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
      "steps": steps,
  }


def main(argv):
  del argv
  result = measure(_CONFIG.value, _STEPS.value, _WARMUP.value)
  logging.info("result: %s", json.dumps(result))
  print(json.dumps(result, indent=1))


if __name__ == "__main__":
  app.run(main)
