"""Vondrick et al. 2018: gray frames in, the target's 16 colour codes copied, cross-entropy."""

from typing import Dict

import numpy as np

from colortrack.data import clip_features
from colortrack.data import color
from colortrack.methods import base
from colortrack.modeling import colorizer
from colortrack.modeling import losses
from colortrack.training import summaries


class Colorization(base.Method):
  """Gray (Lab L) input; the pointer copies the references' k-means ab codes.

  Targets are the codes at the cell centres (`colorizer.codes_at_feature_grid`);
  "prediction" is the copied code distribution `[B, h, w, K]`; metrics: "loss"
  (cross-entropy) and "accuracy" (argmax code == true code).
  """

  name = "vondrick"
  color_space = "gray"

  @property
  def input_keys(self):
    return (clip_features.LIGHTNESS, clip_features.AB_CODES)

  @property
  def input_channels(self) -> int:
    return 1

  def model_inputs(self, batch, training: bool):
    del training
    return colorizer.gray_input(batch[clip_features.LIGHTNESS])

  def target_codes(self, batch):
    """The codes the loss compares with, on the feature grid `[B, T, h, w]`."""
    return colorizer.codes_at_feature_grid(batch[clip_features.AB_CODES], self.stride)

  def losses(self, model, batch, embeddings) -> Dict[str, object]:
    return code_copy_losses(model, embeddings, self.target_codes(batch), self.num_clusters)

  def prediction_rgb(self, prediction: np.ndarray, lightness: np.ndarray) -> np.ndarray:
    return codes_rgb(prediction, lightness, self.centroids, self.stride)

  def serving_input(self, rgb):
    return colorizer.gray_input(color.rgb_to_lab_ops(rgb)[..., :1])


def code_copy_losses(model, embeddings, grid_codes, num_clusters: int) -> Dict[str, object]:
  """The last frame copies the references' codes (`grid_codes` `[B, T, h, w]`): cross-entropy
  with its own codes, accuracy, and the copied distribution as "prediction" `[B, h, w, K]`."""
  probabilities = colorizer.copy_target_colors(model, embeddings, grid_codes,
                                               num_clusters)["probabilities"]
  out = losses.colorization_loss(probabilities, grid_codes[:, -1])
  out["prediction"] = probabilities
  return out


def codes_rgb(prediction: np.ndarray, lightness: np.ndarray, centroids: np.ndarray,
              stride: int) -> np.ndarray:
  """uint8 RGB `[H, W, 3]`: the expected ab of a copied code distribution `[h, w, K]`
  (upsampled by `stride`), with the target's own L `[H, W]`."""
  ab = summaries.upsample_nearest(prediction @ centroids, stride)
  lab = np.concatenate([lightness[..., None], ab[:lightness.shape[0], :lightness.shape[1]]],
                       axis=-1)
  return color.lab_to_rgb_uint8(lab)
