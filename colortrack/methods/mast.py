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
import tensorflow as tf

from colortrack.data import clip_features
from colortrack.data import color
from colortrack.methods import base
from colortrack.methods import colorization
from colortrack.modeling import colorizer
from colortrack.training import summaries

COLOR_SPACES = ("lab", "rgb", "hsv")


def to_color_space(rgb, space: str):
  """sRGB float `[..., 3]` in [0, 1] -> the model's input, channels in [-1, 1].

  lab: L / 50 - 1, a / 128, b / 128; rgb, hsv: 2 x - 1 (hue in turns).
  """
  if space == "lab":
    lab = color.rgb_to_lab_tf(rgb)
    return tf.concat([lab[..., :1] / 50.0 - 1.0, lab[..., 1:] / 128.0], axis=-1)
  if space == "rgb":
    return rgb * 2.0 - 1.0
  if space == "hsv":
    return tf.image.rgb_to_hsv(rgb) * 2.0 - 1.0
  raise ValueError(f"unknown colour space {space!r}; use one of {COLOR_SPACES}")


def from_color_space(x, space: str):
  """Inverse of `to_color_space`: `[..., 3]` in [-1, 1] -> sRGB in [0, 1] (clipped)."""
  if space == "lab":
    lab = tf.concat([(x[..., :1] + 1.0) * 50.0, x[..., 1:] * 128.0], axis=-1)
    rgb = color.lab_to_rgb_tf(lab)
  elif space == "rgb":
    rgb = (x + 1.0) / 2.0
  elif space == "hsv":
    rgb = tf.image.hsv_to_rgb(tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0))
  else:
    raise ValueError(f"unknown colour space {space!r}; use one of {COLOR_SPACES}")
  return tf.clip_by_value(rgb, 0.0, 1.0)


def channel_dropout(clips, seeds, drop_prob: float = 0.5, channels: Sequence[int] = (0, 1, 2)):
  """Zeroes one channel of every frame of a clip with probability `drop_prob`.

  clips `[B, T, H, W, C]`, seeds int `[B, 2]` (stateless randomness, one per
  clip; folded with a constant so it differs from the crop's draw). The dropped
  channel is drawn uniformly from `channels`; the remaining ones are scaled by
  C / (C - 1), as dropout does, so the input's scale is kept.
  """
  masks = dropout_masks(seeds, clips.shape[-1], drop_prob, channels)
  return clips * masks[:, None, None, None, :]


def dropout_masks(seeds, num_channels: int, drop_prob: float = 0.5,
                  channels: Sequence[int] = (0, 1, 2)):
  """The per-clip channel factors of `channel_dropout`, `[B, C]` (0 = dropped)."""
  channels = tf.constant(channels, tf.int32)

  def one_mask(seed):
    seed = tf.random.experimental.stateless_fold_in(seed, 0x6D617374)  # "mast"
    split = tf.random.experimental.stateless_split(seed, 2)
    drop = tf.random.stateless_uniform([], split[0]) < drop_prob
    index = tf.random.stateless_uniform([], split[1], 0, tf.shape(channels)[0], tf.int32)
    dropped = tf.one_hot(channels[index], num_channels)
    scale = num_channels / (num_channels - 1)
    return tf.where(drop, (1.0 - dropped) * scale, tf.ones([num_channels]))

  return tf.map_fn(one_mask, tf.cast(seeds, tf.int64),
                   fn_output_signature=tf.TensorSpec([num_channels], tf.float32))


def target_weights(masks):
  """Which channels the loss reconstructs, `[B, C]`: the dropped one, or all if none was."""
  dropped = tf.cast(tf.equal(masks, 0.0), tf.float32)
  none = tf.equal(tf.reduce_sum(dropped, axis=-1, keepdims=True), 0.0)
  return tf.where(none, tf.ones_like(dropped), dropped)


def grid_targets(clips, stride: int, align: bool = True):
  """Values of each frame on the feature grid: `[B, T, H, W, C]` -> `[B, T, H/s, W/s, C]`."""
  if align:
    return clips[:, :, stride - 1::stride, stride - 1::stride]
  shape = tf.shape(clips)
  frames = tf.reshape(clips, tf.concat([[-1], shape[2:]], 0))
  small = tf.image.resize(frames, [shape[2] // stride, shape[3] // stride], "bilinear")
  return tf.reshape(small, tf.concat([shape[:2], tf.shape(small)[1:]], 0))


def huber(error, delta: float = 1.0):
  abs_error = tf.abs(error)
  quadratic = tf.minimum(abs_error, delta)
  return 0.5 * quadratic ** 2 + delta * (abs_error - quadratic)


def reconstruction_loss(predicted, target, delta: float = 1.0, weights=None,
                        scale: float = 1.0) -> Dict[str, tf.Tensor]:
  """Huber loss per example `[B]` and the mean |error|, over locations and channels.

  predicted, target `[B, h, w, C]`; `weights` `[B, C]` (default all 1) picks the
  channels averaged over; the Huber loss is taken of `scale` x the error (MAST:
  x 20 before a smooth L1 of delta 1, so mostly an L1 loss on [-1, 1] values).
  """
  error = predicted - target
  if weights is None:
    weights = tf.ones([tf.shape(error)[0], tf.shape(error)[-1]], error.dtype)
  weights = weights[:, None, None, :]
  count = tf.reduce_sum(weights * tf.ones_like(error), axis=[1, 2, 3])
  return {"loss": tf.reduce_sum(huber(error * scale, delta) * weights, axis=[1, 2, 3]) / count,
          "abs_error": tf.reduce_sum(tf.abs(error) * weights, axis=[1, 2, 3]) / count}


class Mast(base.Method):
  """MAST's objective: the configured colour space in, one channel dropped (p), values copied.

  Config `mast`: color_space (lab | rgb | hsv), objective ("regression": Huber
  on the frame's values at the feature grid, aligned with the strided
  convolutions or bilinear; "classification": the 16 Lab codes with
  cross-entropy, Lab only), drop_prob / drop_channels, align, huber_delta.
  """

  name = "mast"
  backends = ("tensorflow",)  # its colour conversion and channel dropout are TF ops

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

  def losses(self, model, batch, embeddings) -> Dict[str, tf.Tensor]:
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
    rgb = from_color_space(tf.constant(prediction), self.color_space).numpy()
    return (summaries.upsample_nearest(rgb, self.stride) * 255).round().astype(np.uint8)

  def serving_input(self, rgb):
    return to_color_space(rgb, self.color_space)
