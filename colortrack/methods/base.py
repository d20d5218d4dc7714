"""The method contract: everything that differs between self-supervised objectives.

A method (Vondrick et al.'s colorization, MAST's reconstruction, or a new one)
is one object, built from the training config, that the trainer, its
TensorBoard visualizer, export and the trackers consult; none of them tests
`config.method` (TF Model Garden's `Task`: inputs, losses, metrics). It says

  * which clip features it reads            `input_keys` (only these are decoded)
  * what the network sees                   `input_channels`, `model_inputs(batch)`
  * the loss and its metrics                `losses(model, batch, embeddings)`
  * how a prediction looks in TensorBoard   `prediction_rgb(prediction, lightness)`
  * what `embed` computes from uint8 frames `serving_input(rgb)` (in the SavedModel)

Batches are dicts of the input sources' features (`colortrack.data.clip_features`):
"lightness" `[B, T, H, W, 1]` (L in [0, 100]), "ab_codes" `[B, T, H, W]` int,
"rgb" `[B, T, H, W, 3]` (sRGB in [0, 1]), "augment_seed" int `[B, 2]`.
Embeddings are the model's output `[B, T, h, w, D]`, h = H / output_stride.
"""

from typing import Dict, Optional, Sequence

import ml_collections
import numpy as np


class Method:
  """Base class; subclasses set `name` and override what they need."""

  name = ""
  # What `embed` feeds the network, recorded with exports ("gray", "lab", "rgb", "hsv").
  color_space = "gray"
  # Keras backends whose training step can run `model_inputs` and `losses`
  # (keras.ops code runs on all; TensorFlow ops only under "tensorflow").
  backends = ("tensorflow", "jax")

  def __init__(self, config: ml_collections.ConfigDict,
               centroids: Optional[np.ndarray] = None, num_clusters: Optional[int] = None):
    """`centroids` `[K, 2]`: the data's colour codebook (training; None when serving)."""
    self.config = config
    self.centroids = centroids
    self.num_clusters = int(num_clusters if num_clusters is not None else
                            (len(centroids) if centroids is not None else 0))
    self.stride = int(config.model.output_stride)

  @property
  def input_keys(self) -> Sequence[str]:
    raise NotImplementedError

  @property
  def input_channels(self) -> int:
    raise NotImplementedError

  def model_inputs(self, batch: Dict[str, object], training: bool):
    """The network's input `[B, T, H, W, input_channels]` for a batch."""
    raise NotImplementedError

  def losses(self, model, batch: Dict[str, object], embeddings) -> Dict[str, object]:
    """Per-example "loss" `[B]` and metrics `[B]`, and "prediction" (for pictures).

    Reduce over the batch outside, so distributed training can divide by the
    global batch size.
    """
    raise NotImplementedError

  def prediction_rgb(self, prediction: np.ndarray, lightness: np.ndarray) -> np.ndarray:
    """One example's prediction `[h, w, ...]` -> uint8 RGB `[H, W, 3]` (TensorBoard).

    `lightness` `[H, W]` is the target frame's L in [0, 100].
    """
    raise NotImplementedError

  def serving_input(self, rgb):
    """In-graph (TensorFlow) uint8 frames' float RGB `[T, H, W, 3]` in [0, 1] -> input."""
    raise NotImplementedError
