"""Checkpoints a workdir holds, in either format, and the backend-neutral `.npz` one.

  TensorFlow runs: `checkpoints/ckpt-<step>.index` + data (tf.train.Checkpoint): model
      weights under "weights/w0000...", the optimizer, the input iterator.
  JAX runs: `checkpoints/ckpt-<step>.npz` (numpy only, so a machine without
      TensorFlow writes it and any machine reads it): "weights/w0000"... (the
      model's weights by position, as `model_weights` keys them), "optimizer/v0000"...
      (the optimizer's variables in order) and "step".
Model weights are keyed by position in `model.weights`, the same for the same
config on every backend, so a JAX-trained model exports and tracks under TF.
"""

import glob
import os
import re
from typing import Dict, List, Optional

import keras
import numpy as np

from colortrack import errors
from colortrack.utils import files

CHECKPOINT_DIR = "checkpoints"
_NPZ = re.compile(r"ckpt-(\d+)\.npz$")


class CheckpointError(errors.UserError):
  """A checkpoint is missing, damaged, or of another model."""


def model_weights(model: keras.Model) -> Dict[str, keras.Variable]:
  """Every weight of `model` (trainable and BatchNorm statistics), keyed by position.

  What checkpoints save as the model. `tf.train.Checkpoint(model=model)` is not
  enough with Keras 3: it does not follow sub-layers kept in Python lists (the
  ResNet stages, the head's convolutions), so their weights would be saved only
  through the optimizer and their BatchNorm statistics not at all. Keys are
  positions in `model.weights` (the same for the same config; auto-generated
  layer names are not stable across builds in one process); a restore also
  checks every shape.
  """
  return {f"w{index:04d}": variable for index, variable in enumerate(model.weights)}


def all_finite(variables) -> bool:
  """True when every floating-point value of `variables` is finite."""
  for variable in variables:
    values = np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable)
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
      return False
  return True


def npz_checkpoints(checkpoint_dir: str) -> List[str]:
  """The `.npz` checkpoints of a folder, oldest step first."""
  found = []
  for path in glob.glob(os.path.join(checkpoint_dir, "ckpt-*.npz")):
    match = _NPZ.search(path)
    if match:
      found.append((int(match.group(1)), path))
  return [path for _, path in sorted(found)]


def latest(workdir: str) -> Optional[str]:
  """The latest checkpoint of a workdir: a TF prefix or an `.npz` path; None if none."""
  checkpoint_dir = os.path.join(workdir, CHECKPOINT_DIR)
  npz = npz_checkpoints(checkpoint_dir)
  if npz:
    return npz[-1]
  if os.path.exists(os.path.join(checkpoint_dir, "checkpoint")):
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.train.latest_checkpoint(checkpoint_dir)
  return None


def step_of(checkpoint: str) -> int:
  return int(re.search(r"ckpt-(\d+)", os.path.basename(checkpoint)).group(1))


def load_model_weights(model: keras.Model, checkpoint: str) -> None:
  """Loads every model weight from `checkpoint` (either format); a missing one is an error."""
  keys = model_weights(model)
  if checkpoint.endswith(".npz"):
    with np.load(checkpoint) as data:
      missing = [key for key in keys if f"weights/{key}" not in data]
      if not missing:
        for key, variable in keys.items():
          value = data[f"weights/{key}"]
          if tuple(value.shape) != tuple(variable.shape):
            raise CheckpointError(f"{checkpoint}: weight {key} has shape {value.shape}, the "
                                  f"model's is {tuple(variable.shape)}")
          variable.assign(value)
  else:
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    names = set(tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map())
    missing = [key for key in keys if f"weights/{key}/.ATTRIBUTES/VARIABLE_VALUE" not in names]
    if not missing:
      tf.train.Checkpoint(weights=keys).restore(checkpoint).expect_partial()
  if missing:
    raise CheckpointError(f"{checkpoint}: {len(missing)} model weights missing (e.g. "
                          f"{missing[0]}); written by an older colortrack? Retrain.")


def npz_path(checkpoint_dir: str, step: int) -> str:
  return os.path.join(checkpoint_dir, f"ckpt-{step}.npz")


def save_npz(checkpoint_dir: str, step: int, model: keras.Model,
             optimizer: keras.optimizers.Optimizer, keep: int) -> str:
  """Writes `ckpt-<step>.npz` atomically and keeps the newest `keep` of them."""
  arrays = {f"weights/{k}": np.asarray(v.numpy()) for k, v in model_weights(model).items()}
  arrays.update({f"optimizer/v{i:04d}": np.asarray(v.numpy())
                 for i, v in enumerate(optimizer.variables)})
  arrays["step"] = np.array(step, np.int64)
  path = npz_path(checkpoint_dir, step)
  files.ensure_output_dir(checkpoint_dir, "checkpoint folder")
  with files.atomic_output(path, known_ours=True) as tmp_path:  # the workdir's own folder
    with open(tmp_path, "wb") as f:
      np.savez(f, **arrays)
  for old in npz_checkpoints(checkpoint_dir)[:-keep]:
    os.remove(old)
  return path


def restore_npz(checkpoint: str, model: keras.Model,
                optimizer: keras.optimizers.Optimizer) -> int:
  """Model weights and optimizer state from an `.npz` checkpoint; returns its step."""
  load_model_weights(model, checkpoint)
  with np.load(checkpoint) as data:
    saved = sorted(k for k in data.files if k.startswith("optimizer/"))
    if len(saved) != len(optimizer.variables):
      raise CheckpointError(f"{checkpoint}: {len(saved)} optimizer variables, this run's "
                            f"optimizer has {len(optimizer.variables)}")
    for key, variable in zip(saved, optimizer.variables):
      variable.assign(data[key])
    return int(data["step"])
