"""MAST's training objective (Lai, Lu, Xie, CVPR 2020): reconstruct the target frame.

Pure functions on `[B, T, H, W, 3]` clips:
  * `to_color_space`: sRGB in [0, 1] -> Lab / RGB / HSV, each channel in [-1, 1].
  * `channel_dropout`: the information bottleneck; with probability p one channel
    is zeroed in every frame of the clip and the others scaled by 3/2.
  * `grid_targets`: the frame values on the feature grid. Aligned (MAST Fig. 6):
    the pixel at the centre of the strided convolutions, s*j + s - 1 with TF's
    SAME padding (each stride-2 layer centres output j on input 2j + 1); not
    aligned: bilinear downsampling, which samples s*j + (s - 1)/2.
  * `reconstruction_loss`: Huber (delta 1) between copied and true values.
"""

from typing import Dict, Sequence

import tensorflow as tf

from colortrack.data import color

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
  clip; folded with a constant so it differs from the crop's draw). The dropped channel is drawn uniformly from `channels`; the remaining
  ones are scaled by C / (C - 1), as dropout does, so the input's scale is kept.
  """
  num_channels = clips.shape[-1]
  channels = tf.constant(channels, tf.int32)

  def one_mask(seed):
    seed = tf.random.experimental.stateless_fold_in(seed, 0x6D617374)  # "mast"
    split = tf.random.experimental.stateless_split(seed, 2)
    drop = tf.random.stateless_uniform([], split[0]) < drop_prob
    index = tf.random.stateless_uniform([], split[1], 0, tf.shape(channels)[0], tf.int32)
    dropped = tf.one_hot(channels[index], num_channels)
    scale = num_channels / (num_channels - 1)
    return tf.where(drop, (1.0 - dropped) * scale, tf.ones([num_channels]))

  masks = tf.map_fn(one_mask, tf.cast(seeds, tf.int64),
                    fn_output_signature=tf.TensorSpec([num_channels], tf.float32))
  return clips * masks[:, None, None, None, :]


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


def reconstruction_loss(predicted, target, delta: float = 1.0) -> Dict[str, tf.Tensor]:
  """Huber loss per example `[B]` (mean over locations and channels), and the mean |error|."""
  error = predicted - target
  return {"loss": tf.reduce_mean(huber(error, delta), axis=[1, 2, 3]),
          "abs_error": tf.reduce_mean(tf.abs(error), axis=[1, 2, 3])}
