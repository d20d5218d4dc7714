"""Frame embedders for tracking: an export (packed or SavedModel) or a training workdir."""

import glob
import json
import os
from typing import Optional, Tuple

import ml_collections
import numpy as np
import tensorflow as tf

from colortrack import errors
from colortrack import packing
from colortrack import serving
from colortrack.inference import feature_basis
from colortrack.inference import propagation
from colortrack.utils import files


class ModelLoadError(errors.UserError):
  """--model is neither an export (packed or SavedModel) nor a training workdir."""


class Embedder:
  """uint8 RGB frames `[T, H, W, 3]` -> float32 embeddings `[T, ceil(H/s), ceil(W/s), D]`.

  `config` is the training config of the model (None when unknown): its
  `inference` section holds the model's test-time defaults. `path` and
  `fingerprint` (a hash of the model's files) say which model made a result.
  Non-finite embeddings (a diverged model) are an error, never silent masks.
  """

  def __init__(self, embed_fn, stride: int, description: str, config=None, path: str = "",
               fingerprint: str = "", bases: Optional[dict] = None, network_fns=(),
               network_precision: str = "float32"):
    self._embed_fn = embed_fn
    # An ensemble's networks one by one (frames -> unit features), where the export has
    # them: the first N of them are all that `networks=N` runs.
    self._network_fns = tuple(network_fns)
    self.stride = stride
    self.description = description
    self.config = config
    self.path = path
    self.fingerprint = fingerprint
    # {networks: [D_n, K]}: principal directions of the features (feature_basis), or None.
    self.bases = bases
    self.network_precision = network_precision  # what the networks compute in

  @property
  def network_dims(self) -> Tuple[int, ...]:
    """The feature channels of each network of an ensemble export, in order; () otherwise."""
    if self.config is None:
      return ()
    return tuple(int(d) for d in self.config.get(serving.ENSEMBLE_DIMS_KEY, ()))

  def check_networks(self, networks: int) -> None:
    """UserError unless tracking with the first `networks` networks (0: all) is possible."""
    available = len(self.network_dims) or 1
    if not 0 <= networks <= available:
      raise errors.UserError(
          f"{self.path or self.description}: ensemble_members={networks}, but the model has "
          f"{available} network(s)" + ("" if self.network_dims else
                                       " (not an ensemble export, or exported before "
                                       "ensemble_members existed)"))

  def check_feature_dims(self, dims: int, networks: int = 0) -> None:
    """UserError unless the features can be projected on `dims` principal directions."""
    where = self.path or self.description
    if self.bases is None:
      raise errors.UserError(f"{where}: feature_dims={dims}, but the model has no feature "
                             "basis (train.export --retune --fit_basis=FRAMES adds one)")
    basis = self._basis(networks)
    if basis is None:
      raise errors.UserError(f"{where}: no feature basis for ensemble_members={networks}")
    if not 0 < dims <= basis.shape[1]:
      raise errors.UserError(f"{where}: feature_dims={dims}; its basis has "
                             f"{basis.shape[1]} directions")

  def _basis(self, networks: int):
    all_networks = not networks or networks >= max(len(self.network_dims), 1)
    return self.bases.get(0 if all_networks else networks)

  def __call__(self, frames: np.ndarray, networks: int = 0, dims: int = 0) -> np.ndarray:
    """Embeds `frames`; `networks` > 0: the features of an ensemble's first N networks only;
    `dims` > 0: projected on the first `dims` principal directions of the features.

    An ensemble's features are its networks' unit vectors, each scaled by
    1 / sqrt(n) (`serving.EnsembleModule`); the first N are rescaled by
    sqrt(n / N), so they are exactly what an N-network export would return.
    """
    self.check_networks(networks)
    if dims:
      self.check_feature_dims(dims, networks)
    widths = self.network_dims
    subset = bool(networks) and networks < len(widths)
    if subset and len(self._network_fns) == len(widths):
      # Only the networks used are run: each one's unit vectors, scaled by 1 / sqrt(N).
      frames_tensor = tf.constant(frames, tf.uint8)
      embeddings = np.concatenate([np.asarray(fn(frames_tensor))
                                   for fn in self._network_fns[:networks]], axis=-1)
      embeddings *= np.float32(1.0 / np.sqrt(networks))
      subset = False  # nothing left to slice
    else:
      embeddings = np.asarray(self._embed_fn(tf.constant(frames, tf.uint8)))
    cells = lambda pixels: -(-pixels // self.stride)  # frames are padded to the stride
    expected = (len(frames), cells(frames.shape[1]), cells(frames.shape[2]))
    if embeddings.ndim != 4 or embeddings.shape[:3] != expected:
      raise ModelLoadError(f"{self.path or self.description}: `embed` returned shape "
                           f"{list(embeddings.shape)} for {frames.shape[2]}x{frames.shape[1]} "
                           f"frames; a colortrack model at stride {self.stride} returns "
                           f"{list(expected) + ['D']}")
    if not np.all(np.isfinite(embeddings)):
      raise ModelLoadError(f"{self.path}: the model's embeddings hold NaN or inf (its "
                           "training diverged?); nothing tracked with it")
    if subset:  # an export without per-network signatures: all ran, the first N are kept
      embeddings = embeddings[..., :sum(widths[:networks])] * np.float32(
          np.sqrt(len(widths) / networks))
    if dims:
      embeddings = embeddings @ self._basis(networks)[:, :dims]
    return embeddings


def savedmodel_fingerprint(path: str) -> str:
  names = [os.path.join(path, "saved_model.pb"), os.path.join(path, serving.CONFIG_NAME),
           os.path.join(path, feature_basis.BASIS_NAME)]
  names += sorted(glob.glob(os.path.join(path, "variables", "*")))
  return files.sha256_of_files([n for n in names if os.path.isfile(n)])


def _check_signature(path: str, signature, loaded) -> None:
  """ModelLoadError unless `embed` takes uint8 frames `[T, H, W, 3]` and returns
  `embeddings`, at a stride colortrack exports (checked before any user video is read).

  A SavedModel is a program: loading and running one runs its graph (TensorFlow's
  security notes). These checks catch a wrong model, not a malicious one: load only
  models you trust.
  """
  inputs = signature.structured_input_signature[1]
  spec = inputs.get("frames") if isinstance(inputs, dict) else None
  if (spec is None or spec.dtype != tf.uint8 or spec.shape.rank != 4
      or spec.shape[-1] not in (3, None)):
    raise ModelLoadError(f"{path}: `embed` does not take uint8 frames [T, H, W, 3] "
                         f"(it takes {inputs}); not a colortrack export")
  if "embeddings" not in signature.structured_outputs:
    raise ModelLoadError(f"{path}: `embed` returns {sorted(signature.structured_outputs)}, "
                         "not `embeddings`; not a colortrack export")
  try:
    stride = int(loaded.stride.numpy())
  except (AttributeError, TypeError, ValueError) as e:
    raise ModelLoadError(f"{path}: its `stride` is not a number; not a colortrack export") from e
  if stride not in (4, 8, 16, 32):
    raise ModelLoadError(f"{path}: stride {stride}; colortrack exports use 4, 8, 16 or 32")


def _load_savedmodel(path: str) -> Embedder:
  try:
    loaded = tf.saved_model.load(path)
  except Exception as e:  # pylint: disable=broad-except
    # TF raises many types (OSError, NotFoundError, DecodeError, ValueError) here.
    raise ModelLoadError(f"{path}: not a readable SavedModel ({errors.first_line(e)[:160]})") from e
  if "embed" not in loaded.signatures or not hasattr(loaded, "stride"):
    raise ModelLoadError(f"{path}: not a colortrack SavedModel (no `embed` signature; export "
                         "one with train.export)")
  signature = loaded.signatures["embed"]
  _check_signature(path, signature, loaded)
  config = None
  config_path = os.path.join(path, serving.CONFIG_NAME)
  if os.path.exists(config_path):
    try:
      with open(config_path) as f:
        config = ml_collections.ConfigDict(json.load(f))
    except (OSError, ValueError) as e:
      raise ModelLoadError(f"{config_path}: unreadable ({errors.first_line(e)})") from e
  networks = []
  while f"{serving.MEMBER_SIGNATURE}{len(networks)}" in loaded.signatures:
    network = loaded.signatures[f"{serving.MEMBER_SIGNATURE}{len(networks)}"]
    networks.append(lambda frames, network=network: network(frames=frames)["embeddings"])
  return Embedder(lambda frames: signature(frames=frames)["embeddings"],
                  int(loaded.stride.numpy()), f"SavedModel {path}", config, path,
                  savedmodel_fingerprint(path), feature_basis.load(path), networks)


def _own_network_precision(config) -> str:
  """The `inference.network_precision` a model's config names, else the base config's."""
  from colortrack.configs import base  # pylint: disable=g-import-not-at-top
  own = ((config or {}).get("inference") or {}).get("network_precision")
  return own or base.get_base_config().inference.network_precision


def _load_packed(path: str, network_precision: Optional[str]) -> Embedder:
  """A packed export (`packing`): its networks rebuilt from its config, float16 weights
  loaded into float32 ones, computed in `network_precision` (None: the config's);
  `embed` and the per-network functions traced as a SavedModel export's are."""
  if network_precision is None:
    try:
      network_precision = _own_network_precision(
          files.read_json(os.path.join(path, serving.CONFIG_NAME)))
    except (OSError, ValueError):
      network_precision = "float32"  # restore_export names what is wrong with the config
  bfloat16 = propagation.resolve_precision(network_precision) == "bfloat16"
  try:
    model, config, ensemble = serving.restore_export(path, "mixed_bfloat16" if bfloat16
                                                     else None)
  except errors.UserError as e:
    raise ModelLoadError(str(e)) from e
  module = serving.module_for(model, config, ensemble)
  networks = []
  if isinstance(module, serving.EnsembleModule):
    signatures = module.member_signatures()
    networks = [lambda frames, fn=signatures[f"{serving.MEMBER_SIGNATURE}{i}"]: fn(frames)[
        "embeddings"] for i in range(len(signatures))]
  fingerprint = files.sha256_of_files(
      [os.path.join(path, name) for name in (serving.CONFIG_NAME, packing.MANIFEST_NAME,
                                             feature_basis.BASIS_NAME)
       if os.path.isfile(os.path.join(path, name))] + packing.network_paths(path))
  return Embedder(lambda frames: module.embed(frames)["embeddings"], model.output_stride,
                  f"packed export {path}", config, path,
                  fingerprint, feature_basis.load(path), networks,
                  "bfloat16" if bfloat16 else "float32")


def load(path: str, network_precision: Optional[str] = None, features: Optional[str] = None,
         output_stride: Optional[int] = None) -> Embedder:
  """Loads `path`: an export of train.export (packed or SavedModel), or a workdir of
  train.train.

  `network_precision` ("float32", "bfloat16", "auto": bfloat16 where the CPU has
  AVX512_BF16 or AMX; None: the model's `inference.network_precision`, else the base
  config's) is what a workdir's or packed export's networks compute in: bfloat16 with
  float32 weights is faster there, its features slightly less precise. A SavedModel runs
  in the precision it was exported with: asking it for bfloat16 is an error.
  `features` (workdirs only) overrides the config's `inference.features`; a
  an export returns the features it was exported with. `output_stride`
  (workdirs; 0 or None: the model's) runs the encoder at another output stride
  with the same weights; an export has the stride it was exported with.
  """
  if not path or not os.path.exists(path):
    raise ModelLoadError(f"{path}: model not found (an export folder or a training workdir)")
  is_savedmodel = os.path.isdir(path) and os.path.exists(os.path.join(path, "saved_model.pb"))
  if is_savedmodel or (os.path.isdir(path) and packing.is_packed(path)):
    if is_savedmodel and network_precision == "bfloat16":
      raise ModelLoadError(f"{path}: a SavedModel runs in the precision it was exported with; "
                           "for bfloat16 networks, export it packed (train.export "
                           "--from_export=... --packed)")
    embedder = (_load_savedmodel(path) if is_savedmodel else
                _load_packed(path, network_precision))
    if output_stride and output_stride != embedder.stride:
      raise ModelLoadError(f"{path}: exported at output stride {embedder.stride}; export the "
                           f"workdir with --inference=output_stride={output_stride} instead")
    return embedder
  if os.path.isdir(path) and os.path.isdir(os.path.join(path, "variables")):
    raise ModelLoadError(f"{path}: SavedModel folder without saved_model.pb")
  from colortrack.training import trainer  # pylint: disable=g-import-not-at-top
  try:
    config = trainer.load_config(path)
    bfloat16 = propagation.resolve_precision(
        network_precision or _own_network_precision(config)) == "bfloat16"
    model = trainer.restore_model(path, "mixed_bfloat16" if bfloat16 else None, output_stride)
  except trainer.TrainingError as e:
    raise ModelLoadError(str(e)) from e
  latest = trainer.latest_checkpoint(path)
  # A JAX run's checkpoint is one .npz; a TensorFlow run's, an index and its data shards.
  checkpoint_files = ([latest] if latest.endswith(".npz") else
                      [latest + ".index"] + sorted(glob.glob(latest + ".data-*")))
  fingerprint = files.sha256_of_files([os.path.join(path, trainer.CONFIG_NAME)] +
                                      checkpoint_files)
  module = serving.make_module(model, config, features)
  return Embedder(lambda frames: module.embed(frames)["embeddings"], model.output_stride,
                  f"checkpoint in {path}", config, path,
                  fingerprint, network_precision="bfloat16" if bfloat16 else "float32")
