"""MAST (Lai, Lu, Xie, CVPR 2020): colour input with a channel dropped, reconstruct the target.

The method object `Mast`, and its pure functions on `[B, T, H, W, 3]` clips:
  * `to_color_space`: sRGB in [0, 1] -> Lab / RGB / HSV, each channel in [-1, 1].
  * `channel_dropout`: the information bottleneck; with probability p one channel
    is zeroed in every frame of the clip and the others scaled by 3/2. MAST
    (and the presets) drop one of a, b in every clip (p = 1, never L).
  * `grid_targets`: the frame values on the feature grid. Aligned (MAST Fig. 6):
    the pixel at the centre of the strided convolutions, s*j + s - 1 with TF's
    SAME padding (each stride-2 layer centres output j on input 2j + 1); not
    aligned: bilinear downsampling, which samples s*j + (s - 1)/2.
  * `reconstruction_loss`: Huber (delta 1) between copied and true values, on
    the channels the input lacked (`target_weights`): the reference
    implementation regresses only the dropped channel of the target, from the
    references' values of it. Regressing channels the network sees in the
    target frame itself lets it match colours instead of learning
    correspondence, which is why training used to lower the tracking score.
"""

from typing import Dict, Sequence

import numpy as np
from keras import ops

from colortrack.data import clip_features
from colortrack.data import color
from colortrack.methods import base
from colortrack.methods import colorization
from colortrack.modeling import colorizer
from colortrack.training import summaries

COLOR_SPACES = ("lab", "rgb", "hsv")


def _pixelwise(convert, x):
  """A per-pixel `keras.ops.image` conversion (rank 3 or 4 only) on `[..., 3]` of any rank."""
  pixels = ops.reshape(x, (-1, 1, 1, 3))
  return ops.reshape(convert(pixels, data_format="channels_last"), ops.shape(x))


def to_color_space(rgb, space: str):
  """sRGB float `[..., 3]` in [0, 1] -> the model's input, channels in [-1, 1].

  lab: L / 50 - 1, a / 128, b / 128; rgb, hsv: 2 x - 1 (hue in turns).
  """
  if space == "lab":
    lab = color.rgb_to_lab_ops(rgb)
    return ops.concatenate([lab[..., :1] / 50.0 - 1.0, lab[..., 1:] / 128.0], axis=-1)
  if space == "rgb":
    return ops.cast(rgb, "float32") * 2.0 - 1.0
  if space == "hsv":
    return _pixelwise(ops.image.rgb_to_hsv, ops.cast(rgb, "float32")) * 2.0 - 1.0
  raise ValueError(f"unknown colour space {space!r}; use one of {COLOR_SPACES}")


def from_color_space(x, space: str):
  """Inverse of `to_color_space`: `[..., 3]` in [-1, 1] -> sRGB in [0, 1] (clipped)."""
  x = ops.cast(x, "float32")
  if space == "lab":
    lab = ops.concatenate([(x[..., :1] + 1.0) * 50.0, x[..., 1:] * 128.0], axis=-1)
    rgb = color.lab_to_rgb_ops(lab)
  elif space == "rgb":
    rgb = (x + 1.0) / 2.0
  elif space == "hsv":
    rgb = _pixelwise(ops.image.hsv_to_rgb, ops.clip((x + 1.0) / 2.0, 0.0, 1.0))
  else:
    raise ValueError(f"unknown colour space {space!r}; use one of {COLOR_SPACES}")
  return ops.clip(rgb, 0.0, 1.0)


def channel_dropout(clips, seeds, drop_prob: float = 0.5, channels: Sequence[int] = (0, 1, 2)):
  """Zeroes one channel of every frame of a clip with probability `drop_prob`.

  clips `[B, T, H, W, C]`, seeds int `[B, 2]` (the clip's augmentation seed:
  stateless randomness, one draw per clip). The dropped channel is drawn
  uniformly from `channels`; the remaining ones are scaled by C / (C - 1), as
  dropout does, so the input's scale is kept.
  """
  masks = dropout_masks(seeds, clips.shape[-1], drop_prob, channels)
  return clips * masks[:, None, None, None, :]


# A small integer hash in int32 arithmetic that never overflows (every value stays
# below p^2 + p * 7919 + 12345 < 2^31 for p = _HASH_PRIME), so a seed draws the same
# under every backend; enough to spread dropout over clips, not a cryptographic hash.
_HASH_PRIME = 32749


def _hash_uniform(seeds, salt: int):
  """Per-clip uniform numbers in [0, 1) `[B]` from int seeds `[B, 2]` and a salt."""
  seeds = ops.cast(seeds, "int32")
  words = [seeds[:, 0] % 65536, seeds[:, 1] % 65536, (seeds[:, 1] // 65536) % 65536]
  state = ops.zeros_like(words[0]) + salt % _HASH_PRIME
  for word in words + [ops.ones_like(words[0]) * 0x6D61]:  # "ma"
    state = (state * state + (word % _HASH_PRIME) * 7919 + 12345) % _HASH_PRIME
    state = (state * state + 104729 % _HASH_PRIME) % _HASH_PRIME
  return ops.cast(state, "float32") / float(_HASH_PRIME)


def dropout_masks(seeds, num_channels: int, drop_prob: float = 0.5,
                  channels: Sequence[int] = (0, 1, 2)):
  """The per-clip channel factors of `channel_dropout`, `[B, C]` (0 = dropped)."""
  drop = _hash_uniform(seeds, 1) < drop_prob
  pick = ops.minimum(ops.cast(_hash_uniform(seeds, 2) * len(channels), "int32"),
                     len(channels) - 1)
  dropped = ops.take(ops.one_hot(ops.convert_to_tensor(list(channels), "int32"), num_channels),
                     pick, axis=0)
  scale = num_channels / (num_channels - 1)
  return ops.where(drop[:, None], (1.0 - dropped) * scale, ops.ones_like(dropped))


def target_weights(masks):
  """Which channels the loss reconstructs, `[B, C]`: the dropped one, or all if none was."""
  dropped = ops.cast(ops.equal(masks, 0.0), "float32")
  none = ops.equal(ops.sum(dropped, axis=-1, keepdims=True), 0.0)
  return ops.where(none, ops.ones_like(dropped), dropped)


def grid_targets(clips, stride: int, align: bool = True):
  """Values of each frame on the feature grid: `[B, T, H, W, C]` -> `[B, T, H/s, W/s, C]`."""
  if align:
    return clips[:, :, stride - 1::stride, stride - 1::stride]
  _, steps, height, width, channels = clips.shape
  frames = ops.reshape(clips, (-1, height, width, channels))
  small = ops.image.resize(frames, (height // stride, width // stride), "bilinear",
                           antialias=False, data_format="channels_last")
  return ops.reshape(small, (-1, steps, height // stride, width // stride, channels))


def huber(error, delta: float = 1.0):
  abs_error = ops.abs(error)
  quadratic = ops.minimum(abs_error, delta)
  return 0.5 * quadratic ** 2 + delta * (abs_error - quadratic)


def reconstruction_loss(predicted, target, delta: float = 1.0, weights=None,
                        scale: float = 1.0) -> Dict[str, object]:
  """Huber loss per example `[B]` and the mean |error|, over locations and channels.

  predicted, target `[B, h, w, C]`; `weights` `[B, C]` (default all 1) picks the
  channels averaged over; the Huber loss is taken of `scale` x the error (MAST:
  x 20 before a smooth L1 of delta 1, so mostly an L1 loss on [-1, 1] values).
  """
  error = ops.cast(predicted, "float32") - ops.cast(target, "float32")
  if weights is None:
    weights = ops.ones_like(error[:, 0, 0, :])
  weights = ops.cast(weights, "float32")[:, None, None, :]
  count = ops.sum(weights * ops.ones_like(error), axis=[1, 2, 3])
  return {"loss": ops.sum(huber(error * scale, delta) * weights, axis=[1, 2, 3]) / count,
          "abs_error": ops.sum(ops.abs(error) * weights, axis=[1, 2, 3]) / count}


class Mast(base.Method):
  """MAST's objective: the configured colour space in, one channel dropped (p), values copied.

  Config `mast`: color_space (lab | rgb | hsv), objective ("regression": Huber
  on the frame's values at the feature grid, aligned with the strided
  convolutions or bilinear; "classification": the 16 Lab codes with
  cross-entropy, Lab only), drop_prob / drop_channels, align, huber_delta.
  """

  name = "mast"

  def __init__(self, config, centroids=None, num_clusters=None):
    super().__init__(config, centroids, num_clusters)
    self.mast = config.mast
    self.color_space = config.mast.color_space
    self.classify = config.mast.objective == "classification"

  @property
  def input_keys(self):
    return (clip_features.RGB, clip_features.AB_CODES) if self.classify else (clip_features.RGB,)

  @property
  def input_channels(self) -> int:
    return 3

  def model_inputs(self, batch, training: bool):
    clips = to_color_space(batch[clip_features.RGB], self.color_space)
    if training and self.mast.drop_prob > 0:
      clips = channel_dropout(clips, batch[clip_features.AUGMENT_SEED], self.mast.drop_prob,
                              self.mast.drop_channels)
    return clips

  def losses(self, model, batch, embeddings) -> Dict[str, object]:
    stride = self.stride
    if not self.classify:
      clips = to_color_space(batch[clip_features.RGB], self.color_space)
      values = grid_targets(clips, stride, self.mast.align)
      predicted = colorizer.copy_to_target(model, embeddings, values)
      masks = dropout_masks(batch[clip_features.AUGMENT_SEED], clips.shape[-1], self.mast.drop_prob,
                            self.mast.drop_channels)
      out = reconstruction_loss(predicted, values[:, -1], self.mast.huber_delta,
                                weights=target_weights(masks),
                                scale=self.mast.get("value_scale", 1.0))
      out["prediction"] = predicted
      return out
    codes = batch[clip_features.AB_CODES]
    if self.mast.align:
      grid_codes = codes[:, :, stride - 1::stride, stride - 1::stride]
    else:
      grid_codes = colorizer.codes_at_feature_grid(codes, stride)
    return colorization.code_copy_losses(model, embeddings, grid_codes, self.num_clusters)

  def prediction_rgb(self, prediction: np.ndarray, lightness: np.ndarray) -> np.ndarray:
    if self.classify:
      return colorization.codes_rgb(prediction, lightness, self.centroids, self.stride)
    rgb = ops.convert_to_numpy(from_color_space(prediction, self.color_space))
    return (summaries.upsample_nearest(rgb, self.stride) * 255).round().astype(np.uint8)

  def serving_input(self, rgb):
    return to_color_space(rgb, self.color_space)
