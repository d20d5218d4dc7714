"""The colorization tracker (Vondrick et al. 2018): gray clip -> embeddings -> copied colours."""

from typing import Dict, Sequence

import keras
import ml_collections
from keras import ops

from colortrack.modeling import layers as ct_layers
from colortrack.modeling import resnet


@keras.saving.register_keras_serializable(package="colortrack")
class Colorizer(keras.Model):
  """Embeds every frame of a clip; the pointer copies labels between frames.

  Input: gray `[B, T, H, W, 1]` in [-1, 1] (Lab L / 50 - 1). Output: embeddings
  `[B, T, h, w, embed_dim]` with h = ceil(H / output_stride), w likewise; cell
  (i, j) covers pixels [i*s, (i+1)*s) x [j*s, (j+1)*s), s = output_stride.
  ResNet features of each frame get x, y coordinate channels (unless
  `coordinates=False`, as MAST's network), then the 3D head (with
  `head_dilations=()`, as MAST's network, only its linear 1x1x1 projection).
  With `normalize_embeddings`, embeddings are L2-normalized, so the pointer's
  affinity is a cosine similarity and `temperature` alone sets its sharpness
  (the paper uses raw dot products; cosine + a small temperature learns much
  faster when few steps are affordable, as on a CPU).
  """

  def __init__(self, encoder_widths: Sequence[int] = (64, 128, 256, 512),
               encoder_blocks: Sequence[int] = (2, 2, 2, 2), output_stride: int = 8,
               head_width: int = 256, head_dilations: Sequence[int] = (1, 2, 4, 8),
               head_temporal_kernel: int = 1, embed_dim: int = 64, temperature: float = 1.0,
               chunk_size: int = 1024, normalize_embeddings: bool = False,
               coordinates: bool = True, **kwargs):
    super().__init__(**kwargs)
    self.use_coordinates = coordinates
    self.normalize_embeddings = normalize_embeddings
    self.encoder_widths = tuple(encoder_widths)
    self.encoder_blocks = tuple(encoder_blocks)
    self.output_stride = output_stride
    self.head_width = head_width
    self.head_dilations = tuple(head_dilations)
    self.head_temporal_kernel = head_temporal_kernel
    self.embed_dim = embed_dim
    self.temperature = temperature
    self.chunk_size = chunk_size
    self.encoder = resnet.ResNetEncoder(encoder_widths, encoder_blocks, output_stride,
                                        name="encoder")
    self.coordinates = ct_layers.CoordinateChannels(name="coordinates")
    self.head = ct_layers.EmbeddingHead(head_width, embed_dim, head_dilations,
                                        head_temporal_kernel, name="head")
    self.pointer = ct_layers.Pointer(temperature, chunk_size, name="pointer")

  def build(self, input_shape):
    # Sub-layers build on first use; one call on zeros of a small valid size
    # (unknown dims -> 2 cells) creates every weight up front.
    stride = self.output_stride
    shape = [d if d is not None else (2 * stride if i >= 2 else 1)
             for i, d in enumerate(input_shape)]
    self.call(ops.zeros(shape))

  def _stages(self, inputs, training, names=("stage4",)):
    """Clips `[B, T, H, W, C]` -> ResNet stages by name, each `[B, T, h, w, width]`."""
    shape = ops.shape(inputs)
    frames = ops.reshape(inputs, (-1, shape[2], shape[3], inputs.shape[-1]))
    features = self.encoder(frames, training=training)
    out = []
    for name in names:
      stage = features[name]
      stage_shape = ops.shape(stage)
      out.append(ops.reshape(stage, (shape[0], shape[1], stage_shape[1], stage_shape[2],
                                     stage.shape[-1])))
    return out

  def call(self, gray, training=False):
    features, = self._stages(gray, training)
    if self.use_coordinates:
      features = self.coordinates(features)
    embeddings = self.head(features, training=training)
    return _l2_normalize(embeddings) if self.normalize_embeddings else embeddings

  def encoder_features(self, inputs, stages: Sequence[str] = ("stage4",)):
    """ResNet `stages` of clips `[B, T, H, W, C]`, for tracking (inference).

    Each stage is L2-normalized; several are concatenated and scaled by
    1 / sqrt(len(stages)), so every location's vector has unit norm and its dot
    product with another is the mean of the stages' cosine similarities. Output
    `[B, T, h, w, sum of the stages' widths]` on the embeddings' grid, without
    the coordinate channels and the dilated head: an alternative tracking
    feature (config `inference.features`). The stages must share a grid (stages
    3 and 4 do for output stride <= 16).
    """
    features = [_l2_normalize(f) for f in self._stages(inputs, False, stages)]
    if len(features) == 1:
      return features[0]
    return ops.concatenate(features, axis=-1) / float(len(features)) ** 0.5

  def get_config(self):
    config = super().get_config()
    config.update(encoder_widths=self.encoder_widths, encoder_blocks=self.encoder_blocks,
                  output_stride=self.output_stride, head_width=self.head_width,
                  head_dilations=self.head_dilations,
                  head_temporal_kernel=self.head_temporal_kernel, embed_dim=self.embed_dim,
                  temperature=self.temperature, chunk_size=self.chunk_size,
                  normalize_embeddings=self.normalize_embeddings,
                  coordinates=self.use_coordinates)
    return config


def _l2_normalize(x):
  return x / ops.sqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + 1e-12)


def build_colorizer(model_config: ml_collections.ConfigDict, clip_len: int,
                    image_size: int, channels: int = 1) -> Colorizer:
  """A Colorizer from `config.model`, with its weights created."""
  model = Colorizer(
      encoder_widths=model_config.encoder_widths, encoder_blocks=model_config.encoder_blocks,
      output_stride=model_config.output_stride, head_width=model_config.head_width,
      head_dilations=model_config.head_dilations,
      head_temporal_kernel=model_config.head_temporal_kernel,
      embed_dim=model_config.embed_dim, temperature=model_config.temperature,
      chunk_size=model_config.chunk_size,
      normalize_embeddings=model_config.normalize_embeddings,
      coordinates=model_config.get("coordinates", True), name="colorizer")
  model(ops.zeros((1, clip_len, image_size, image_size, channels)))
  return model


def gray_input(lightness):
  """Lab L in [0, 100] -> the model's gray input in [-1, 1]."""
  return lightness / 50.0 - 1.0


def codes_at_feature_grid(codes, stride: int):
  """Codes `[B, T, H, W]` -> `[B, T, H/stride, W/stride]`, sampled at cell centres.

  Cell i covers pixels [i*s, (i+1)*s); its centre pixel is i*s + s//2. Sampling
  (rather than averaging) keeps codes categorical. H, W must be multiples of s.
  """
  return codes[:, :, stride // 2::stride, stride // 2::stride]


def copy_to_target(model: Colorizer, embeddings, labels, temperature=None):
  """Labels of the last frame copied from the earlier frames by the pointer.

  embeddings `[B, T, h, w, D]`, labels `[B, T, h, w, C]` (one-hot codes,
  colour values, ...; the last frame's are not used). Returns `[B, h, w, C]`.
  """
  shape = ops.shape(embeddings)
  batch, height, width = shape[0], shape[2], shape[3]
  dim = embeddings.shape[-1]
  channels = labels.shape[-1]
  references = ops.reshape(embeddings[:, :-1], (batch, -1, dim))
  target = ops.reshape(embeddings[:, -1], (batch, -1, dim))
  reference_labels = ops.reshape(labels[:, :-1], (batch, -1, channels))
  copied = model.pointer(target, references, reference_labels, temperature=temperature)
  return ops.reshape(copied, (batch, height, width, channels))


def copy_target_colors(model: Colorizer, embeddings, grid_codes, num_clusters: int,
                       temperature=None) -> Dict[str, object]:
  """Predicted colour distribution of the last frame from the earlier frames.

  embeddings `[B, T, h, w, D]`, grid_codes `[B, T, h, w]` int. Returns
  "probabilities" `[B, h, w, K]` (sums to 1 over K).
  """
  onehot = ops.one_hot(grid_codes, num_clusters)
  return {"probabilities": copy_to_target(model, embeddings, onehot, temperature)}
