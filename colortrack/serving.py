"""SavedModel export for serving: `embed` frames and `propagate` labels.

Signatures:
  embed(frames: uint8 [T, H, W, 3] RGB, any size)
      -> embeddings float32 [T, ceil(H/s), ceil(W/s), D], s = output stride:
         the features the config's `inference.features` names (the head's
         embedding, or the L2-normalized last ResNet stage).
         The model's input is computed inside (gray Lab L for the colorization
         method, the configured colour space for MAST; in-graph via
         tensorflow-io's rgb_to_lab); frames are padded at the bottom/right by
         edge replication to a multiple of s, so cell (i, j) covers pixels
         [i*s, (i+1)*s) x [j*s, (j+1)*s).
  propagate(target_embeddings [h, w, D], reference_embeddings [R, h, w, D],
            reference_labels [R, h, w, C], temperature [])
      -> labels float32 [h, w, C]: the pointer's copy of the labels.
The export folder also holds CONFIG_NAME, the training config (method, model,
test-time defaults), which colortrack's trackers read.
"""

import os
from typing import Optional, Sequence

import ml_collections
import tensorflow as tf

from colortrack.data import color
from colortrack.inference import propagation
from colortrack.modeling import colorizer as colorizer_lib
from colortrack.modeling import mast

CONFIG_NAME = "colortrack_config.json"
FEATURES = ("embedding", "encoder")


class TrackerModule(tf.Module):
  """tf.Module wrapping a Colorizer with the serving signatures."""

  def __init__(self, model: colorizer_lib.Colorizer, color_space: str = "gray",
               chunk_size: int = 4096, features: str = "embedding"):
    """`color_space`: "gray" (colorization method) or MAST's "lab" / "rgb" / "hsv".

    `features`: what `embed` returns, "embedding" (the head's output, what the
    pointer was trained on) or "encoder" (the L2-normalized last ResNet stage).
    """
    super().__init__(name="colortrack")
    if features not in FEATURES:
      raise ValueError(f"unknown features {features!r}; choose from {FEATURES}")
    self.model = model
    self.color_space = color_space
    self.features = features
    # Saved with the model so a loaded SavedModel knows its pixel <-> grid mapping.
    self.stride = tf.Variable(model.output_stride, trainable=False, name="stride")
    self.chunk_size = chunk_size

  def model_input(self, frames):
    """uint8 RGB `[T, H, W, 3]` -> padded model input `[T, H', W', C]` in [-1, 1]."""
    rgb = tf.cast(frames, tf.float32) / 255.0
    if self.color_space == "gray":
      x = colorizer_lib.gray_input(color.rgb_to_lab_tf(rgb)[..., :1])
    else:
      x = mast.to_color_space(rgb, self.color_space)
    height, width = tf.shape(frames)[1], tf.shape(frames)[2]
    stride = self.model.output_stride
    pad_h = (-height) % stride
    pad_w = (-width) % stride
    return tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="SYMMETRIC")

  def embed_frames(self, frames):
    """uint8 RGB `[T, H, W, 3]` -> embeddings `[T, h, w, D]`."""
    x = self.model_input(frames)
    if self.features == "encoder":
      embeddings = self.model.encoder_features(x[:, None])[:, 0]
    elif self.model.head_temporal_kernel == 1:
      # Frames are independent: each one is a clip of length 1.
      embeddings = self.model(x[:, None], training=False)[:, 0]
    else:
      embeddings = self.model(x[None], training=False)[0]
    return tf.cast(embeddings, tf.float32)

  @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
  def embed(self, frames):
    return {"embeddings": self.embed_frames(frames)}

  @tf.function(input_signature=[
      tf.TensorSpec([None, None, None], tf.float32),
      tf.TensorSpec([None, None, None, None], tf.float32),
      tf.TensorSpec([None, None, None, None], tf.float32),
      tf.TensorSpec([], tf.float32)])
  def propagate(self, target_embeddings, reference_embeddings, reference_labels, temperature):
    height, width = tf.shape(target_embeddings)[0], tf.shape(target_embeddings)[1]
    dim = tf.shape(target_embeddings)[2]
    num_labels = tf.shape(reference_labels)[-1]
    labels = propagation.propagate(
        tf.reshape(target_embeddings, [-1, dim]), tf.reshape(reference_embeddings, [-1, dim]),
        tf.reshape(reference_labels, [-1, num_labels]), temperature, self.chunk_size)
    return {"labels": tf.reshape(labels, [height, width, num_labels])}


def directory_size_bytes(path: str) -> int:
  return sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(path) for name in names)


def color_space(config) -> str:
  """The model input a training config asks for."""
  return config.mast.color_space if config.method == "mast" else "gray"


def tracking_features(config) -> str:
  """The features a training config tracks with (older configs lack the key: the head's)."""
  return config.inference.get("features", "embedding")


def with_inference_defaults(config, assignments: Sequence[str]):
  """A copy of `config` whose `inference` section has `KEY=VALUE` assignments applied.

  Values are parsed by the type of the base config's default (bool: true/false);
  tuple-valued keys are not settable this way. Unknown keys raise ValueError.
  """
  from colortrack.configs import base  # pylint: disable=g-import-not-at-top
  defaults = base.get_base_config().inference
  config = ml_collections.ConfigDict(config.to_dict())
  for assignment in assignments:
    key, sep, text = assignment.partition("=")
    if not sep or key not in defaults or isinstance(defaults[key], (tuple, list)):
      settable = sorted(k for k, v in defaults.items() if not isinstance(v, (tuple, list)))
      raise ValueError(f"{assignment!r}: expected KEY=VALUE with KEY one of {settable}")
    kind = type(defaults[key])
    if kind is bool:
      if text.lower() not in ("true", "false"):
        raise ValueError(f"{assignment!r}: {key} takes true or false")
      value = text.lower() == "true"
    else:
      try:
        value = kind(text)
      except ValueError as e:
        raise ValueError(f"{assignment!r}: {key} takes a value of type {kind.__name__}") from e
    config.inference[key] = value
  return config


def make_module(model: colorizer_lib.Colorizer, config=None,
                features: Optional[str] = None) -> TrackerModule:
  """A TrackerModule with the input and (unless `features` is given) features of `config`."""
  if config is None:
    return TrackerModule(model, "gray", features=features or "embedding")
  return TrackerModule(model, color_space(config), features=features or tracking_features(config))


def export(model: colorizer_lib.Colorizer, export_dir: str, config=None) -> TrackerModule:
  """Writes the SavedModel and the config (to a temp folder, renamed when complete)."""
  module = make_module(model, config)
  tmp_dir = export_dir.rstrip("/") + ".tmp"
  if tf.io.gfile.exists(tmp_dir):
    tf.io.gfile.rmtree(tmp_dir)
  tf.saved_model.save(module, tmp_dir, signatures={
      "embed": module.embed, "propagate": module.propagate})
  if config is not None:
    with open(os.path.join(tmp_dir, CONFIG_NAME), "w") as f:
      f.write(config.to_json_best_effort(indent=2))
  if tf.io.gfile.exists(export_dir):
    tf.io.gfile.rmtree(export_dir)
  tf.io.gfile.rename(tmp_dir, export_dir)
  return module
