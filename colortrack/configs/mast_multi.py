r"""MAST stage 2: multi-reference fine-tuning (3 references -> target) at a small LR.

Command (after mast_pair.py; --config.train.init_workdir loads its weights):
  python -m train.train --config=colortrack/configs/mast_multi.py:cpu --workdir=/tmp/mast_multi \
      --config.data.train_pattern='/tmp/clips/*.tfrecord' \
      --config.train.init_workdir=/tmp/mast_pair

Same variants as mast_pair.py (use the same ones in both stages).
Expected numbers: not yet measured with MAST's linear head (round 5). With the
earlier 5-layer head (`:cpu` with --config.train.num_steps=1000, from the
round-2 mast_cpu's workdir, on ../shared/data/unlabeled; 23 min here): DAVIS-2016
dev J&F-Mean 0.385 with this preset's MAST memory, 0.464 with `--memory=window`
(that mast_cpu: 0.469), from
  python -m eval.davis --davis_root=../shared/data/davis2016 --results_dir=/tmp/davis_mast_multi \
      --model=/tmp/mast_multi
(BENCHMARKS.md, "Trained trackers").
"""

from colortrack.configs import base
from colortrack.configs import mast_variants


def get_config(arg: str = ""):
  config = base.get_base_config()
  config.method = "mast"
  config.data.clip_len = 4  # 3 references + the target
  config.model.output_stride = 4
  config.train.batch_size = 24
  config.train.learning_rate = 1e-4
  config.train.lr_drop_step = 1_000_000
  config.train.num_steps = 50_000
  config.inference.memory = "mast"
  # Raw dot products scaled by 1 / sqrt(embed_dim), as the reimplementation that made
  # MAST train on current PyTorch does (the `cpu` variant uses cosine at T 0.05 instead).
  config.model.temperature = config.inference.temperature = 8.0
  config.model.coordinates = False  # as MAST's network (configs/base.py says why)
  config.model.head_dilations = ()  # likewise: a linear projection of the encoder
  mast_variants.apply(config, arg)
  if "cpu" in (arg or ""):
    config.train.num_steps = 2000  # 36 minutes here with the earlier 5-layer head
  return base.lock(config)
