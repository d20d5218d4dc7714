"""Layers of the colorization tracker: coordinates, 3D head, and the pointer."""

from typing import Optional, Sequence

import keras
from keras import layers
from keras import ops


@keras.saving.register_keras_serializable(package="colortrack")
class CoordinateChannels(layers.Layer):
  """Appends x and y coordinate channels to a feature map.

  Input `[..., H, W, C]` -> `[..., H, W, C + 2]`; channel C is x, C + 1 is y,
  both in [-1, 1] at cell centres: x_j = (2j + 1) / W - 1 for column j.
  """

  def call(self, features):
    shape = ops.shape(features)
    height, width = shape[-3], shape[-2]
    xs = (2.0 * ops.arange(width, dtype="float32") + 1.0) / ops.cast(width, "float32") - 1.0
    ys = (2.0 * ops.arange(height, dtype="float32") + 1.0) / ops.cast(height, "float32") - 1.0
    grid_x = ops.broadcast_to(xs[None, :], (height, width))
    grid_y = ops.broadcast_to(ys[:, None], (height, width))
    coords = ops.cast(ops.stack([grid_x, grid_y], axis=-1), features.dtype)
    coords = ops.broadcast_to(coords, tuple(shape[:-1]) + (2,))
    return ops.concatenate([features, coords], axis=-1)

  def compute_output_shape(self, input_shape):
    return tuple(input_shape[:-1]) + (input_shape[-1] + 2,)


@keras.saving.register_keras_serializable(package="colortrack")
class EmbeddingHead(layers.Layer):
  """The 5-layer 3D-conv head: features of a clip -> embeddings.

  Input `[B, T, h, w, C]` -> `[B, T, h, w, embed_dim]`. One Conv3D + BN + ReLU
  per dilation (kernel `temporal_kernel x 3 x 3`, spatial dilation d), then a
  1x1x1 projection with no activation. `temporal_kernel=1` keeps frames
  independent (what tracking caches); 3 mixes neighbouring frames.
  """

  def __init__(self, width: int = 256, embed_dim: int = 64,
               dilations: Sequence[int] = (1, 2, 4, 8), temporal_kernel: int = 1, **kwargs):
    super().__init__(**kwargs)
    self.width = width
    self.embed_dim = embed_dim
    self.dilations = tuple(dilations)
    self.temporal_kernel = temporal_kernel
    self.convs = [layers.Conv3D(width, (temporal_kernel, 3, 3), padding="same",
                                dilation_rate=(1, d, d), use_bias=False) for d in self.dilations]
    self.norms = [layers.BatchNormalization() for _ in self.dilations]
    self.projection = layers.Conv3D(embed_dim, 1)

  def build(self, input_shape):
    shape = input_shape
    for conv, norm in zip(self.convs, self.norms):
      conv.build(shape)
      shape = conv.compute_output_shape(shape)
      norm.build(shape)
    self.projection.build(shape)

  def call(self, x, training=False):
    for conv, norm in zip(self.convs, self.norms):
      x = ops.relu(norm(conv(x), training=training))
    return self.projection(x)

  def compute_output_shape(self, input_shape):
    return tuple(input_shape[:-1]) + (self.embed_dim,)

  def get_config(self):
    config = super().get_config()
    config.update(width=self.width, embed_dim=self.embed_dim, dilations=self.dilations,
                  temporal_kernel=self.temporal_kernel)
    return config


@keras.saving.register_keras_serializable(package="colortrack")
class Pointer(layers.Layer):
  """Copies labels from reference locations to target locations (the paper's eq. 1).

  A[i, j] = softmax_j(f_i . f_j / temperature) over all reference locations j
  (every reference frame together); output y_i = sum_j A[i, j] c_j.

  Inputs: target `[B, N, D]`, references `[B, M, D]`, reference labels
  `[B, M, C]` (one-hot codes, masks, heatmaps, colours: any C), optional
  `temperature` (defaults to the layer's). Output `[B, N, C]`. Target locations
  are processed in chunks of `chunk_size`, so the affinity held at once is
  `[B, chunk_size, M]` rather than `[B, N, M]`.
  """

  def __init__(self, temperature: float = 1.0, chunk_size: int = 1024, **kwargs):
    super().__init__(**kwargs)
    self.temperature = temperature
    self.chunk_size = chunk_size

  def attention(self, target, references, temperature: Optional[float] = None):
    """Rows of A: `[B, N, M]`, each summing to 1."""
    temperature = self.temperature if temperature is None else temperature
    logits = ops.einsum("bnd,bmd->bnm", target, references) / temperature
    return ops.softmax(logits, axis=-1)

  def call(self, target, references, reference_labels, temperature=None):
    num_targets = target.shape[1]
    if num_targets is None or num_targets <= self.chunk_size:
      return ops.einsum("bnm,bmc->bnc", self.attention(target, references, temperature),
                        reference_labels)
    outputs = []
    for start in range(0, num_targets, self.chunk_size):
      chunk = target[:, start:start + self.chunk_size]
      outputs.append(ops.einsum("bnm,bmc->bnc",
                                self.attention(chunk, references, temperature),
                                reference_labels))
    return ops.concatenate(outputs, axis=1)

  def get_config(self):
    config = super().get_config()
    config.update(temperature=self.temperature, chunk_size=self.chunk_size)
    return config
