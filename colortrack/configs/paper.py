r"""The paper's setting (Vondrick et al. 2018, sec. 4): ResNet-18, 256x256, batch 32.

Command (GPU machine; clips from data_prep.build_tfrecords at 6 fps, 256x256):
  python -m train.train --config=colortrack/configs/paper.py --workdir=/tmp/paper \
      --config.data.train_pattern='/data/kinetics_clips/*.tfrecord'

Adam 1e-3, dropped to 1e-4 after 60k steps, 400k steps; pointer temperature 1
in training. Expected numbers: the paper reports DAVIS-2017 val J 34.6 / F 32.7
after training on Kinetics. On this 2-core CPU a step takes 65.7 s (0.49
clips/s, peak RSS 13.2 GiB; BENCHMARKS.md "Training"), so it is for GPUs.
"""

from colortrack.configs import base


def get_config():
  config = base.get_base_config()
  return base.lock(config)
