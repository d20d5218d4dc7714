r"""MAST stage 1: pair pre-training (1 reference frame -> target), Lab, Huber, aligned.

Command:
  python -m train.train --config=colortrack/configs/mast_pair.py:cpu --workdir=/tmp/mast_pair \
      --config.data.train_pattern='/tmp/clips/*.tfrecord'

Variants after ':' (comma-separated, see mast_variants.py): cpu | tiny, and the
ablations rgb | hsv, classify, noalign. Without `cpu` the model is the paper's
(ResNet-18 with output stride 4 at 256x256, batch 24, Adam 1e-3), for GPUs.
Then fine-tune with mast_multi.py. Inference defaults: MAST memory (frames 0, 5
and t-5, t-3, t-1), two-step ROI attention, soft propagation.
Expected numbers (`:cpu`: 3750 steps of batch 16 at 192x192 crops, learning rate
1e-3 dropped to 1e-4 at step 2500 (2/3 of the steps), on the
4828 clips of all 171 sources of ../shared/data/unlabeled at 320 px, one every 2
frames; BENCHMARKS.md "Schedules and frame rates"): DAVIS-2016 dev J&F 0.6085 with
encoder features and window memory (0.6232 at the default tracker's settings); with
--config.train.seed=1, 0.6106 (0.6122; BENCHMARKS.md "A second seed"), with
  S=../shared/data/unlabeled
  python -m data_prep.fit_codebook --input=$S/videos,$S/davis2016-train-256p,$S/videos_more \
      --output=/tmp/codebook.npz
  python -m data_prep.build_tfrecords --input=$S/videos,$S/davis2016-train-256p,$S/videos_more \
      --codebook=/tmp/codebook.npz --output_dir=/tmp/clips --size=320 --clip_stride=2
  python -m train.train --config=colortrack/configs/mast_pair.py:cpu --workdir=WORKDIR \
      --config.data.train_pattern='/tmp/clips/*.tfrecord'
  python -m eval.davis --davis_root=../shared/data/davis2016 --results_dir=/tmp/davis_mast \
      --model=WORKDIR --memory=window
0.761 s/step alone (benchmarks/train_throughput.py, idle): 48 min for the 3750
steps. The drop pays more than steps: the same run kept at 1e-3 scores 0.5744 at
step 2500 and 0.5918 at 5000; 7500 steps with the drop at 5000 (95 min alone)
score 0.6110, no better. Crops (2500 steps at 1e-3, BENCHMARKS.md "Crop size x
method"; runs of one recipe spread by about 3 points): 192x192 0.6047 and 0.5744
in two runs, 128x128 (13 min alone) 0.5645 and 0.5752, 256x256 (54 min) 0.5544
(with the drop, 3750 steps, 81 min: 0.6003, against 0.6085 at 192 in 48;
BENCHMARKS.md "256-pixel crops with the drop"); 128-pixel crops for 7500 steps
(37 min), 0.5704. That 7500-step run is the shipped colortrack/pretrained/mast_cpu
(0.5693 as exported, with renormalize_floor 0.8; its MODEL_CARD.md pins
--config.data.image_size=128 and the constant rate).
On one H200 (JAX, benchmarks/accelerator_run.sh), `:cpu` at --config.data.image_size=256
--config.train.batch_size=64 ran 10,000 steps in 4 min 37 s on the 121 clips of
videos_more: dev J&F 0.6052 at mast_cpu's settings, 0.6112 at the earlier
default's stride-4 settings (BENCHMARKS.md "Networks trained on an H200"). Before round 5 the MAST presets had
the colorization paper's 5-layer dilated head: 2500 steps gave 0.476 with encoder
features against 0.524 for its random initial weights (BENCHMARKS.md, "MAST").
"""

from colortrack.configs import base
from colortrack.configs import mast_variants


def get_config(arg: str = ""):
  config = base.get_base_config()
  config.method = "mast"
  config.data.clip_len = 2  # 1 reference + the target
  config.model.output_stride = 4  # MAST: 64x64 features at 256x256
  config.train.batch_size = 24
  config.train.learning_rate = 1e-3
  config.train.lr_drop_step = 1_000_000  # constant in pre-training
  config.train.num_steps = 100_000
  config.inference.memory = "mast"
  # Raw dot products scaled by 1 / sqrt(embed_dim), as the reimplementation that made
  # MAST train on current PyTorch does (the `cpu` variant uses cosine at T 0.05 instead).
  config.model.temperature = config.inference.temperature = 8.0
  config.model.coordinates = False  # as MAST's network (configs/base.py says why)
  config.model.head_dilations = ()  # likewise: a linear projection of the encoder
  mast_variants.apply(config, arg)
  if "cpu" in (arg or ""):
    # 192-pixel crops, and a drop to 1e-4 at 2/3: each scored above more steps at 128 or
    # at a constant rate, in less time (docstring).
    config.data.image_size = 192
    config.train.num_steps = 3750
    config.train.lr_drop_step = 2500
  return base.lock(config)
