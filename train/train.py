r"""Trains a colortrack model.

Examples:
  python -m train.train --config=colortrack/configs/tiny.py --workdir=/tmp/tiny \
      --config.data.train_pattern='demo_out/clips/*.tfrecord'
  # JAX on all local GPUs (keras.distribution.DataParallel), clips decoded from videos
  # with OpenCV: no TensorFlow needed.
  python -m train.train --config=colortrack/configs/cpu.py --workdir=/tmp/cpu_jax \
      --config.runtime.backend=jax --config.data.source=video \
      --config.data.train_pattern=demo_out/synthetic/videos \
      --config.data.codebook=demo_out/codebook.npz

Any config field can be overridden with --config.<field>=<value>; the config
is locked, so a misspelt field is an error. Re-running with the same --workdir
resumes from the last checkpoint. TensorBoard: tensorboard --logdir=WORKDIR/tensorboard
"""

from colortrack.cli import backend

# Before Keras is imported (by the library below): --config.runtime.backend picks it;
# --config=tiny names a preset of colortrack/configs/.
backend.resolve_config_names()
backend.select_from_argv()

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
from ml_collections import config_flags

from colortrack.cli import app as cli_app
from colortrack.training import trainer

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A preset's name (tiny, cpu, paper, mast_pair:cpu, ...: "
    "colortrack/configs/) or a config file's path.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Folder for checkpoints, logs and config.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  trainer.train(_CONFIG.value, _WORKDIR.value)


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
