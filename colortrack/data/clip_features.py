"""Names of a training batch's features (both input sources produce them; no TensorFlow here).

  LIGHTNESS     float32 [B, T, S, S, 1]  Lab L in [0, 100]
  AB_CODES      int32   [B, T, S, S]     index of the nearest codebook centroid
  RGB           float32 [B, T, S, S, 3]  sRGB in [0, 1]
  AUGMENT_SEED  int64   [B, 2]           the clip's stateless augmentation seed
"""

LIGHTNESS = "lightness"
AB_CODES = "ab_codes"
RGB = "rgb"
AUGMENT_SEED = "augment_seed"
