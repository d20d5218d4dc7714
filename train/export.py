r"""Exports a trained workdir as a SavedModel with `embed` and `propagate` signatures.

Example:
  python -m train.export --workdir=/tmp/tiny --export_dir=/tmp/tiny_savedmodel \
      --inference=renormalize=true,window=3

--inference sets test-time defaults stored with the export (the `inference`
section of its config, e.g. values tuned on a dev set); tracking flags still
override them.

Reloads the SavedModel and checks that `embed` equals the Keras model on the
same frames, then prints the size.
"""

import sys

import numpy as np
import tensorflow as tf
from absl import app
from absl import flags
from absl import logging

from colortrack import serving
from colortrack.training import trainer

_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir (config.json + checkpoints).")
_EXPORT_DIR = flags.DEFINE_string("export_dir", None, "Where to write the SavedModel.")
_INFERENCE = flags.DEFINE_list("inference", [], "KEY=VALUE test-time defaults stored with the "
                               "model (config.inference), e.g. renormalize=true,window=3.")
flags.mark_flags_as_required(["workdir", "export_dir"])


def main(argv):
  del argv
  try:
    config = serving.with_inference_defaults(trainer.load_config(_WORKDIR.value),
                                             _INFERENCE.value)
    model = trainer.restore_model(_WORKDIR.value)
  except (trainer.TrainingError, ValueError) as e:
    logging.error("%s", e)
    sys.exit(1)
  module = serving.export(model, _EXPORT_DIR.value, config)
  frames = np.random.default_rng(0).integers(0, 256, size=(2, 70, 90, 3), dtype=np.uint8)
  loaded = tf.saved_model.load(_EXPORT_DIR.value)
  served = loaded.signatures["embed"](frames=tf.constant(frames))["embeddings"].numpy()
  keras_out = module.embed_frames(tf.constant(frames)).numpy()
  max_diff = float(np.abs(served - keras_out).max())
  if max_diff > 1e-4:
    logging.error("SavedModel embed differs from the Keras model by %g", max_diff)
    sys.exit(1)
  size_mb = serving.directory_size_bytes(_EXPORT_DIR.value) / 2**20
  logging.info("exported %s (%.1f MiB); reloaded embed == Keras model (max |diff| %.2g)",
               _EXPORT_DIR.value, size_mb, max_diff)


if __name__ == "__main__":
  app.run(main)
