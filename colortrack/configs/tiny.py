r"""Tiny model for tests and the demo: trains a few steps in seconds on a CPU.

Command:
  python -m train.train --config=colortrack/configs/tiny.py --workdir=/tmp/tiny \
      --config.data.train_pattern='demo_out/clips/*.tfrecord'

Expected: loss falls from about ln(16) = 2.77 within a few dozen steps on the
synthetic clips (tests/test_training.py checks that it goes down).
"""

from colortrack.configs import base


def get_config():
  return base.lock(base.use_tiny_sizes(base.get_base_config()))
