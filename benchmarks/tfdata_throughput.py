r"""Benchmark: tf.data read throughput of training clips (clips/s).

Example (the numbers in BENCHMARKS.md):
  python -m benchmarks.tfdata_throughput --input='/tmp/clips/*.tfrecord' \
      --batch_size=32 --image_size=256 --num_batches=60

Runs the training pipeline (parse, decode, crop/flip, batch) and times batches
after a warm-up; nothing else runs, so this is the ceiling the trainer sees.
"""

import json
import time

from absl import app
from absl import flags
from absl import logging

from colortrack.data import pipeline

_INPUT = flags.DEFINE_string("input", None, "Glob of TFRecord shards.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 32, "Clips per batch.")
_IMAGE_SIZE = flags.DEFINE_integer("image_size", 256, "Output frame size.")
_NUM_BATCHES = flags.DEFINE_integer("num_batches", 60, "Timed batches.")
_WARMUP = flags.DEFINE_integer("warmup", 5, "Untimed batches first.")
_KEYS = flags.DEFINE_list("keys", ["lightness", "ab_codes"], "Decoded keys.")
flags.mark_flags_as_required(["input"])


def main(argv):
  del argv
  dataset = pipeline.make_dataset(_INPUT.value, batch_size=_BATCH_SIZE.value,
                                  image_size=_IMAGE_SIZE.value, keys=_KEYS.value, seed=0)
  iterator = iter(dataset)
  for _ in range(_WARMUP.value):
    next(iterator)
  start = time.monotonic()
  for _ in range(_NUM_BATCHES.value):
    next(iterator)
  seconds = time.monotonic() - start
  result = {"clips_per_s": round(_NUM_BATCHES.value * _BATCH_SIZE.value / seconds, 1),
            "batch_size": _BATCH_SIZE.value, "image_size": _IMAGE_SIZE.value,
            "keys": _KEYS.value, "batches": _NUM_BATCHES.value}
  logging.info("result: %s", json.dumps(result))
  print(json.dumps(result, indent=1))


if __name__ == "__main__":
  app.run(main)
