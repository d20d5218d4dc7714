"""Frame embedders for tracking: a SavedModel export or a training workdir."""

import json
import os
from typing import Optional

import ml_collections
import numpy as np
import tensorflow as tf

from colortrack import serving


class ModelLoadError(ValueError):
  """--model is neither a SavedModel nor a training workdir with a checkpoint."""


class Embedder:
  """uint8 RGB frames `[T, H, W, 3]` -> float32 embeddings `[T, ceil(H/s), ceil(W/s), D]`.

  `config` is the training config of the model (None when unknown): its
  `inference` section holds the model's test-time defaults.
  """

  def __init__(self, embed_fn, stride: int, description: str, config=None):
    self._embed_fn = embed_fn
    self.stride = stride
    self.description = description
    self.config = config

  def __call__(self, frames: np.ndarray) -> np.ndarray:
    return self._embed_fn(tf.constant(frames, tf.uint8)).numpy()


def load(path: str, bfloat16: bool = False, features: Optional[str] = None) -> Embedder:
  """Loads `path`: a SavedModel from train.export, or a workdir of train.train.

  `bfloat16` (workdirs only) computes the network in bfloat16 with float32
  weights: about 2x faster on CPUs with AVX512_BF16, embeddings slightly less
  precise. A SavedModel runs in the precision it was exported with.
  `features` (workdirs only) overrides the config's `inference.features`; a
  SavedModel returns the features it was exported with.
  """
  if not path or not os.path.exists(path):
    raise ModelLoadError(f"{path}: model not found (a SavedModel folder or a training workdir)")
  if os.path.exists(os.path.join(path, "saved_model.pb")):
    loaded = tf.saved_model.load(path)
    signature = loaded.signatures["embed"]
    config = None
    config_path = os.path.join(path, serving.CONFIG_NAME)
    if os.path.exists(config_path):
      with open(config_path) as f:
        config = ml_collections.ConfigDict(json.load(f))
    return Embedder(lambda frames: signature(frames=frames)["embeddings"],
                    int(loaded.stride.numpy()), f"SavedModel {path}", config)
  from colortrack.training import trainer  # pylint: disable=g-import-not-at-top
  try:
    config = trainer.load_config(path)
    model = trainer.restore_model(path, "mixed_bfloat16" if bfloat16 else None)
  except trainer.TrainingError as e:
    raise ModelLoadError(str(e)) from e
  module = serving.make_module(model, config, features)
  return Embedder(lambda frames: module.embed(frames)["embeddings"], model.output_stride,
                  f"checkpoint in {path}", config)
