r"""Tiny model for tests and the demo: trains a few steps in seconds on a CPU.

Command:
  python -m train.train --config=colortrack/configs/tiny.py --workdir=/tmp/tiny \
      --config.data.train_pattern='demo_out/clips/*.tfrecord'

Expected: loss falls from about ln(16) = 2.77 within a few dozen steps on the
synthetic clips (tests/test_training.py checks that it goes down).
"""

from colortrack.configs import base


def get_config():
  config = base.get_base_config()
  config.data.image_size = 32
  config.data.shuffle_buffer = 16
  config.data.cycle_length = 2
  config.model.encoder_widths = (8, 8, 16, 16)
  config.model.encoder_blocks = (1, 1, 1, 1)
  config.model.head_width = 16
  config.model.embed_dim = 8
  config.train.batch_size = 4
  config.train.learning_rate = 3e-3
  config.train.num_steps = 20
  config.train.log_every = 5
  config.train.summary_every = 5
  config.train.image_summary_every = 10
  config.train.checkpoint_every = 10
  return base.lock(config)
