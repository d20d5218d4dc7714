"""Packed models: each network's weights stored once (kernels in float16), shared by models.

A packed model is a folder holding the export config (CONFIG_NAME, as in a SavedModel
export) and MANIFEST_NAME, which lists its networks in order (the first
network, then the config's `ensemble` members):

  {"format": 1, "store": "../networks",
   "networks": [{"file": "3f2a....npz", "weights": 77, "sha256": "3f2a..."}, ...]}

`store` is the folder, relative to the model's, of the network files: one `.npz` per
network with its weights under `checkpoints.model_weights`' keys ("weights/w0000", ...,
by position in `model.weights`, the same for the same config on every backend), kernels
in float16 (half the bytes; loaded into float32 weights), vectors in float32. A file is named by
the sha256 of its contents (keys, shapes, values), so two models with the same network
point to one file, a re-shipped model adds only the networks that changed, and a
damaged or swapped file is detected on load.

The shipped models (`colortrack/pretrained/`) are packed: `ensemble_cpu`'s four networks
include `vondrick_cpu`'s and `mast_cpu`'s. `python -m train.export --packed` writes one;
`--from_export` turns one back into a SavedModel.
"""

import contextlib
import hashlib
import os
import zipfile
import zlib
from typing import Dict, List, Sequence

import numpy as np

from colortrack import errors
from colortrack.training import checkpoints
from colortrack.utils import files

CONFIG_NAME = "colortrack_config.json"  # an export's config (`serving.CONFIG_NAME`)
MANIFEST_NAME = "colortrack_networks.json"
STORE_NAME = "networks"  # the store's folder, beside the packed models
FORMAT = 1
STORAGE_DTYPE = np.float16
_PREFIX = "weights/"


class PackError(errors.UserError):
  """A packed model's manifest or network files are missing, damaged or of another network."""


def is_packed(path: str) -> bool:
  return os.path.isfile(os.path.join(path, MANIFEST_NAME))


def stored_value(value: np.ndarray) -> np.ndarray:
  """What the store holds for a weight: kernels (floats of 2+ dims) in STORAGE_DTYPE,
  vectors (biases, BatchNorm scales and statistics) as they are."""
  return value.astype(STORAGE_DTYPE) if value.dtype.kind == "f" and value.ndim > 1 else value


@contextlib.contextmanager
def weights_as_stored(models: Sequence):
  """Within the block, `models`' weights hold what a packed export stores of them (the
  kernels rounded to STORAGE_DTYPE, as `load_weights` assigns them); restored after."""
  originals = [(variable, variable.numpy()) for model in models for variable in model.weights]
  try:
    for variable, value in originals:
      variable.assign(stored_value(value).astype(value.dtype))
    yield
  finally:
    for variable, value in originals:
      variable.assign(value)


def network_arrays(model) -> Dict[str, np.ndarray]:
  """Every weight of `model`, keyed as checkpoints key them: kernels in STORAGE_DTYPE,
  vectors (biases, BatchNorm scales and statistics) as they are.

  Vectors are a few KB of a network, and float16 would cost them most: BatchNorm variances
  of 1e-8 underflow it (features move by half as much with them in float32).
  PackError when a kernel does not fit float16 (|w| > 65504 would become inf).
  """
  arrays = {}
  for key, variable in checkpoints.model_weights(model).items():
    value = np.asarray(variable.numpy())
    stored = stored_value(value)
    if not np.all(np.isfinite(stored)):
      raise PackError(f"weight {variable.path} does not fit in {np.dtype(STORAGE_DTYPE).name} "
                      f"(largest |value| {np.abs(value).max():g}); export a SavedModel instead")
    arrays[_PREFIX + key] = stored
  return arrays


def content_hash(arrays: Dict[str, np.ndarray]) -> str:
  """sha256 of the keys, dtypes, shapes and values (not of the .npz bytes, which hold times)."""
  digest = hashlib.sha256()
  for key in sorted(arrays):
    value = np.ascontiguousarray(arrays[key])
    digest.update(f"{key}:{value.dtype.str}:{value.shape};".encode())
    digest.update(value.tobytes())
  return digest.hexdigest()


def _read_network(path: str) -> Dict[str, np.ndarray]:
  if not zipfile.is_zipfile(path):
    raise PackError(f"{path}: unreadable network file (not an .npz archive)")
  try:
    with np.load(path, allow_pickle=False) as data:
      return {key: data[key] for key in data.files}
  except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
    raise PackError(f"{path}: unreadable network file ({errors.first_line(e)})") from e


def write_network(store_dir: str, model) -> dict:
  """Stores `model`'s weights in `store_dir` (once: a file with the same contents is
  reused); returns its manifest entry. A file of that name with other contents (damaged,
  or not colortrack's) is a PackError, never overwritten."""
  arrays = network_arrays(model)
  sha = content_hash(arrays)
  name = f"{sha[:32]}.npz"
  path = os.path.join(store_dir, name)
  if os.path.exists(path):
    try:
      same = content_hash(_read_network(path)) == sha
    except PackError:
      same = False
    if not same:
      raise PackError(f"{path}: exists with other contents; move it away to store this network")
  else:
    files.ensure_output_dir(store_dir, "network store")
    with files.atomic_output(path) as tmp_path:
      with open(tmp_path, "wb") as f:
        np.savez(f, **arrays)
  return {"file": name, "weights": len(arrays), "sha256": sha}


def write_manifest(folder: str, store_dir: str, entries: Sequence[dict]) -> None:
  """Writes MANIFEST_NAME in `folder` (the store given relative to it, so folder and store
  move together)."""
  store = os.path.relpath(store_dir, folder).replace(os.sep, "/")
  files.write_json_atomic(os.path.join(folder, MANIFEST_NAME),
                          {"format": FORMAT, "store": store, "networks": list(entries)},
                          known_ours=True)  # `folder` is the export's own new folder


def read_manifest(folder: str) -> dict:
  """The manifest of a packed model, checked for what loading it needs (PackError)."""
  path = os.path.join(folder, MANIFEST_NAME)
  try:
    manifest = files.read_json(path)
  except (OSError, ValueError) as e:
    raise PackError(f"{path}: unreadable ({errors.first_line(e)})") from e
  entries = manifest.get("networks") if isinstance(manifest, dict) else None
  valid = (isinstance(manifest, dict) and manifest.get("format") == FORMAT and
           isinstance(entries, list) and entries and
           all(isinstance(e, dict) and {"file", "sha256"} <= set(e) for e in entries))
  if not valid:
    raise PackError(f"{path}: not a colortrack manifest of format {FORMAT} (needs `networks`: "
                    "[{file, sha256}, ...])")
  if not isinstance(manifest.get("store"), str) or os.path.isabs(manifest["store"]):
    raise PackError(f"{path}: `store` must be a folder relative to the model's")
  return manifest


def network_paths(folder: str) -> List[str]:
  """The network files of the packed model at `folder`, in order."""
  manifest = read_manifest(folder)
  store_dir = os.path.normpath(os.path.join(folder, manifest["store"]))
  paths = []
  for entry in manifest["networks"]:
    name = entry["file"]
    if os.path.basename(name) != name:
      raise PackError(f"{os.path.join(folder, MANIFEST_NAME)}: network file {name!r} is not "
                      "a plain name")
    paths.append(os.path.join(store_dir, name))
  return paths


def load_weights(folder: str, models: Sequence) -> None:
  """Assigns each network file of the packed model at `folder` to the model in the same
  position: every weight present with its shape, contents as the manifest's sha256."""
  entries = read_manifest(folder)["networks"]
  paths = network_paths(folder)
  if len(paths) != len(models):
    raise PackError(f"{os.path.join(folder, MANIFEST_NAME)}: lists {len(paths)} networks, "
                    f"its config describes {len(models)}")
  for path, entry, model in zip(paths, entries, models):
    if not os.path.isfile(path):
      raise PackError(f"{path}: network file missing (the store must stay beside the model "
                      "folder, as its manifest says)")
    arrays = _read_network(path)
    if content_hash(arrays) != entry["sha256"]:
      raise PackError(f"{path}: contents differ from what the manifest recorded (damaged "
                      "or replaced)")
    weights = checkpoints.model_weights(model)
    for key, variable in weights.items():
      value = arrays.get(_PREFIX + key)
      if value is None or tuple(value.shape) != tuple(variable.shape):
        got = "missing" if value is None else f"shape {tuple(value.shape)}"
        raise PackError(f"{path}: weight {key} is {got}; the network its config describes "
                        f"has {tuple(variable.shape)}")
      variable.assign(value.astype(np.float32) if value.dtype == STORAGE_DTYPE else value)
    extra = len(arrays) - len(weights)
    if extra:
      raise PackError(f"{path}: {extra} more weights than the network its config describes")


def referenced_files(root: str) -> set:
  """Names of the network files that packed models directly under `root` use."""
  names = set()
  for name in sorted(os.listdir(root)):
    folder = os.path.join(root, name)
    if os.path.isdir(folder) and is_packed(folder):
      names.update(os.path.basename(p) for p in network_paths(folder))
  return names
