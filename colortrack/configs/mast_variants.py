"""Variants shared by the MAST presets, chosen with `--config=FILE.py:variant,variant`.

  cpu        model, input and affinity like configs/cpu.py (trains on this 2-core CPU)
  tiny       model and input of configs/tiny.py (tests)
  rgb, hsv   input colour space (default lab)                   [ablation: colour space]
  classify   16-way cross-entropy on codes instead of Huber     [ablation: loss]
  noalign    bilinear targets instead of aligned sampling       [ablation: alignment]
"""

import ml_collections

VARIANTS = ("cpu", "tiny", "rgb", "hsv", "classify", "noalign")


def apply(config: ml_collections.ConfigDict, arg: str) -> ml_collections.ConfigDict:
  for variant in [v.strip() for v in (arg or "").split(",") if v.strip()]:
    if variant not in VARIANTS:
      raise ValueError(f"unknown MAST variant {variant!r}; choose from {VARIANTS}")
    if variant == "cpu":
      config.data.image_size = 128
      config.data.crop_scale_min = 0.5
      config.data.shuffle_buffer = 128
      config.model.encoder_widths = (32, 64, 128, 128)
      config.model.encoder_blocks = (1, 1, 1, 1)
      config.model.head_width = 128
      config.model.output_stride = 8
      config.model.normalize_embeddings = True
      config.model.temperature = 0.05
      config.inference.temperature = 0.05
      config.train.batch_size = 16
      config.train.log_every = 20
      config.train.summary_every = 20
      config.train.image_summary_every = 250
      config.train.checkpoint_every = 250
    elif variant == "tiny":
      config.data.image_size = 32
      config.data.shuffle_buffer = 16
      config.data.cycle_length = 2
      config.model.encoder_widths = (8, 8, 16, 16)
      config.model.encoder_blocks = (1, 1, 1, 1)
      config.model.head_width = 16
      config.model.embed_dim = 8
      config.model.output_stride = 8
      config.train.batch_size = 4
      config.train.num_steps = 20
      config.train.log_every = 5
      config.train.summary_every = 5
      config.train.image_summary_every = 10
      config.train.checkpoint_every = 10
    elif variant in ("rgb", "hsv"):
      config.mast.color_space = variant
    elif variant == "classify":
      config.mast.objective = "classification"
    elif variant == "noalign":
      config.mast.align = False
  return config
