"""Variants shared by the MAST presets, chosen with `--config=FILE.py:variant,variant`.

  cpu        model, input and affinity of configs/cpu.py (trains on this 2-core CPU)
  tiny       model and input of configs/tiny.py (tests)
  rgb, hsv   input colour space (default lab)                   [ablation: colour space]
  classify   16-way cross-entropy on codes instead of Huber     [ablation: loss]
  noalign    bilinear targets instead of aligned sampling       [ablation: alignment]
"""

import ml_collections

from colortrack.configs import base

VARIANTS = ("cpu", "tiny", "rgb", "hsv", "classify", "noalign")


def apply(config: ml_collections.ConfigDict, arg: str) -> ml_collections.ConfigDict:
  for variant in [v.strip() for v in (arg or "").split(",") if v.strip()]:
    if variant not in VARIANTS:
      raise ValueError(f"unknown MAST variant {variant!r}; choose from {VARIANTS}")
    if variant == "cpu":
      base.use_cpu_sizes(config)
    elif variant == "tiny":
      base.use_tiny_sizes(config)
    elif variant in ("rgb", "hsv"):
      config.mast.color_space = variant
      config.mast.drop_channels = (0, 1, 2)  # no lightness channel to keep
    elif variant == "classify":
      config.mast.objective = "classification"
    elif variant == "noalign":
      config.mast.align = False
  return config
