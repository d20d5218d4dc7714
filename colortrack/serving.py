"""SavedModel export for serving: `embed` frames and `propagate` labels.

Signatures:
  embed(frames: uint8 [T, H, W, 3] RGB, any size)
      -> embeddings float32 [T, ceil(H/s), ceil(W/s), D], s = output stride:
         the features the config's `inference.features` names (the head's
         embedding, the L2-normalized last ResNet stage, or the last two).
         The model's input is computed inside by the method
         (`Method.serving_input`: gray Lab L for the colorization method, the
         configured colour space for MAST; in-graph); frames are padded at the bottom/right by
         edge replication to a multiple of s, so cell (i, j) covers pixels
         [i*s, (i+1)*s) x [j*s, (j+1)*s).
  propagate(target_embeddings [h, w, D], reference_embeddings [R, h, w, D],
            reference_labels [R, h, w, C], temperature [])
      -> labels float32 [h, w, C]: the pointer's copy of the labels.
The export folder also holds CONFIG_NAME, the training config (method, model,
test-time defaults), which colortrack's trackers read. An ensemble export
(`EnsembleModule`) embeds with several networks at once; its config is the first
network's, with the others' methods and networks listed under `ensemble` and
each network's feature channels under `ensemble_feature_dims` (so a tracker's
`ensemble_members=N` can use the first N networks), and one more signature per
network, `embed_network_<i>`(frames) -> its L2-normalized features alone (so those
N networks are the only ones run).
`export(..., packed=True)` writes a packed model instead (`packing`: the same config,
each network's weights once, kernels in float16, in a store shared with other models); trackers
rebuild its networks from the config (`restore_export`) and run the same functions.
"""

import glob
import os
import shutil
import tempfile
from typing import Optional, Sequence

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from colortrack import errors
from colortrack import packing
from colortrack import validation
from colortrack.inference import feature_basis
from colortrack.inference import propagation
from colortrack.methods import base
from colortrack.methods import registry
from colortrack.modeling import colorizer as colorizer_lib
from colortrack.utils import files

CONFIG_NAME = packing.CONFIG_NAME
# What `embed` returns: the head's embedding, or these ResNet stages (L2-normalized each,
# concatenated; `Colorizer.encoder_features`).
ENCODER_STAGES = {"encoder": ("stage4",), "encoder_stages34": ("stage3", "stage4")}
FEATURES = ("embedding",) + tuple(ENCODER_STAGES)
# An ensemble export's config key: the feature channels of each network, in order
# (the first network's, then its `ensemble` members'), so a tracker can use the first N.
ENSEMBLE_DIMS_KEY = "ensemble_feature_dims"
# An ensemble export's signatures `embed_network_0`, `embed_network_1`, ...: one network's
# L2-normalized features each (`EnsembleModule.member_signatures`).
MEMBER_SIGNATURE = "embed_network_"


class TrackerModule(tf.Module):
  """tf.Module wrapping a Colorizer with the serving signatures."""

  def __init__(self, model: colorizer_lib.Colorizer, method: base.Method,
               chunk_size: int = 4096, features: str = "embedding"):
    """`method` says what the network sees (`Method.serving_input`).

    `features`: what `embed` returns, "embedding" (the head's output, what the
    pointer was trained on), "encoder" (the L2-normalized last ResNet stage) or
    "encoder_stages34" (the last two stages, each L2-normalized, concatenated).
    """
    super().__init__(name="colortrack")
    if features not in FEATURES:
      raise errors.UserError(f"unknown features {features!r}; choose from {FEATURES}")
    if features == "encoder_stages34" and model.output_stride > 16:
      raise errors.UserError(f"features {features!r} need output stride <= 16 (stage 3 and "
                             f"stage 4 on one grid); this model runs at {model.output_stride}")
    self.model = model
    self.method = method
    self.color_space = method.color_space  # "gray", or MAST's "lab" / "rgb" / "hsv"
    self.features = features
    # Saved with the model so a loaded SavedModel knows its pixel <-> grid mapping.
    self.stride = tf.Variable(model.output_stride, trainable=False, name="stride")
    self.chunk_size = chunk_size

  def model_input(self, frames):
    """uint8 RGB `[T, H, W, 3]` -> padded model input `[T, H', W', C]` in [-1, 1]."""
    x = self.method.serving_input(tf.cast(frames, tf.float32) / 255.0)
    height, width = tf.shape(frames)[1], tf.shape(frames)[2]
    stride = self.model.output_stride
    pad_h = (-height) % stride
    pad_w = (-width) % stride
    return tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]], mode="SYMMETRIC")

  def embed_frames(self, frames):
    """uint8 RGB `[T, H, W, 3]` -> embeddings `[T, h, w, D]`."""
    x = self.model_input(frames)
    if self.features in ENCODER_STAGES:
      embeddings = self.model.encoder_features(x[:, None], ENCODER_STAGES[self.features])[:, 0]
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


class EnsembleModule(TrackerModule):
  """Several trained networks tracking as one: `embed` concatenates their features.

  Each member's features (its `TrackerModule.embed_frames`, from the frames as
  its own method sees them) are L2-normalized and scaled by 1 / sqrt(members),
  so every location's vector has unit norm and the pointer's dot product is the
  mean of the members' cosine similarities. All members share one output stride
  (one grid). `propagate` is the first member's.
  """

  def __init__(self, members: Sequence[TrackerModule]):
    first = members[0]
    super().__init__(first.model, first.method, first.chunk_size, first.features)
    strides = sorted({m.model.output_stride for m in members})
    if len(strides) > 1:
      raise errors.UserError(f"ensemble members run at output strides {strides}; export them "
                             "at one stride (--inference=output_stride=N)")
    self.members = list(members)

  def member_dims(self) -> list:
    """Each member's feature channels, in the order `embed_frames` concatenates them."""
    frame = tf.zeros([1, 2 * self.model.output_stride, 2 * self.model.output_stride, 3],
                     tf.uint8)
    return [int(m.embed_frames(frame).shape[-1]) for m in self.members]

  def embed_frames(self, frames):
    scale = 1.0 / float(len(self.members)) ** 0.5
    return tf.concat([tf.math.l2_normalize(m.embed_frames(frames), axis=-1) * scale
                      for m in self.members], axis=-1)

  def member_signatures(self) -> dict:
    """{`MEMBER_SIGNATURE` + i: network i's features alone, L2-normalized}: a tracker that
    uses the first N networks runs those N only (`Embedder`), not all of them."""
    spec = tf.TensorSpec([None, None, None, 3], tf.uint8)

    def member_fn(member):
      return tf.function(
          lambda frames: {"embeddings": tf.math.l2_normalize(member.embed_frames(frames),
                                                             axis=-1)},
          input_signature=[spec])

    return {f"{MEMBER_SIGNATURE}{i}": member_fn(m) for i, m in enumerate(self.members)}


def tracking_features(config) -> str:
  """The features a training config tracks with (older configs lack the key: the head's)."""
  inference = config.get("inference") or {}
  return inference.get("features", "embedding")


def with_inference_defaults(config, assignments: Sequence[str]):
  """A copy of `config` whose `inference` section has `KEY=VALUE` assignments applied.

  KEY is a key of the base config's `inference` section, or `keypoints.KEY` for
  the settings used for keypoints only. Values are parsed by the type of the
  base config's default (bool: true/false); tuple-valued keys are not settable
  this way. Unknown keys raise UserError.
  """
  from colortrack.configs import base  # pylint: disable=g-import-not-at-top
  base_config = base.get_base_config()
  config = ml_collections.ConfigDict(config.to_dict())
  if "keypoints" not in config.inference:
    config.inference.keypoints = base_config.inference.keypoints.to_dict()
  for assignment in assignments:
    key, sep, text = assignment.partition("=")
    section, name = (("keypoints", key.split(".", 1)[1]) if key.startswith("keypoints.")
                     else (None, key))
    defaults = base_config.inference.keypoints if section else base_config.inference
    known = name in defaults and not isinstance(defaults[name], (tuple, list, dict,
                                                                 ml_collections.ConfigDict))
    if not sep or not known:
      settable = sorted(k for k, v in base_config.inference.items()
                        if not isinstance(v, (tuple, list, ml_collections.ConfigDict)))
      settable += [f"keypoints.{k}" for k in base_config.inference.keypoints]
      raise errors.UserError(f"{assignment!r}: expected KEY=VALUE with KEY one of {settable}")
    default = defaults[name]
    kind = type(default) if default is not None else defaults.get_type(name)
    if kind is bool:
      if text.lower() not in ("true", "false"):
        raise errors.UserError(f"{assignment!r}: {key} takes true or false")
      value = text.lower() == "true"
    else:
      try:
        value = kind(text)
      except ValueError as e:
        raise errors.UserError(
            f"{assignment!r}: {key} takes a value of type {kind.__name__}") from e
    if section:
      config.inference.keypoints[name] = value
    else:
      config.inference[name] = value
  # A retuned export must still track: the same validator as flags and the API.
  validation.check_inference(dict(config.inference), "--inference=")
  validation.check_inference(dict(config.inference.keypoints), "--inference=keypoints.")
  return config


def make_module(model: colorizer_lib.Colorizer, config=None,
                features: Optional[str] = None) -> TrackerModule:
  """A TrackerModule with the method and (unless `features` is given) features of `config`.

  Without a config: the colorization method's gray input and the head's embedding.
  """
  if config is None:
    config = ml_collections.ConfigDict({"method": "vondrick",
                                        "model": {"output_stride": model.output_stride}})
  return TrackerModule(model, registry.get(config),
                       features=features or tracking_features(config))


def module_for(model: colorizer_lib.Colorizer, config, ensemble: Sequence = ()) -> TrackerModule:
  """The module an export serves: `model`'s, or with `ensemble` ((model, config) pairs) an
  EnsembleModule of all of them with `config`'s features."""
  module = make_module(model, config)
  if ensemble:
    module = EnsembleModule([module] + [make_module(member, member_config, module.features)
                                        for member, member_config in ensemble])
  return module


def build_networks(config):
  """The networks an export's config describes, untrained: (model, ensemble) as `export`
  takes them, each at the stride the export runs at (`inference.output_stride`, else the
  trained one; the weights' shapes do not depend on it)."""
  stride = (config.get("inference") or {}).get("output_stride") or None

  def build(network_config):
    model_config = ml_collections.ConfigDict(network_config.model.to_dict())
    if stride:
      model_config.output_stride = int(stride)
    return colorizer_lib.build_colorizer(model_config, network_config.data.clip_len,
                                         network_config.data.image_size,
                                         registry.get(network_config).input_channels)

  members = [ml_collections.ConfigDict(entry) for entry in config.get("ensemble") or []]
  return build(config), [(build(c), c) for c in members]


# Config fields holding paths of the machine a model was trained on. An export keeps only
# their names (`stored_name`): what the data or the starting point was called, never where.
MACHINE_PATH_FIELDS = (("data", "train_pattern"), ("data", "codebook"),
                       ("train", "init_workdir"))
_GLOB_CHARACTERS = frozenset("*?[")


def stored_name(path: str) -> str:
  """A path as an export records it: its last component, or the last two when the last is
  a glob pattern ("/work/runs/clips_all/*.tfrecord" -> "clips_all/*.tfrecord")."""
  parts = [p for p in path.replace(os.sep, "/").split("/") if p not in ("", ".", "..")]
  keep = 2 if parts and _GLOB_CHARACTERS & set(parts[-1]) else 1
  return "/".join(parts[-keep:])


def without_machine_paths(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """A copy of `config` (and of its ensemble members' entries) whose MACHINE_PATH_FIELDS
  hold names instead of paths (comma-separated lists name by name)."""
  values = config.to_dict()
  for entry in [values] + list(values.get("ensemble") or []):
    for section, key in MACHINE_PATH_FIELDS:
      value = (entry.get(section) or {}).get(key)
      if isinstance(value, str) and value:
        entry[section][key] = ",".join(stored_name(p) for p in value.split(","))
  return ml_collections.ConfigDict(values)


def ensemble_entry(config) -> dict:
  """What an export's config records of an ensemble member: its method and network."""
  config = config.to_dict()
  return {key: config[key] for key in ("method", "model", "mast", "data", "train")
          if key in config}


class ExportError(errors.UserError):
  """The export folder cannot be written, or the exported model fails its check."""


# What tf.saved_model.save and `export` write; a folder holding only these (with
# CONFIG_NAME and saved_model.pb, or a packed model's manifest) is a previous colortrack
# export and may be replaced.
EXPORT_ENTRIES = frozenset({"saved_model.pb", "variables", "assets", "fingerprint.pb",
                            packing.MANIFEST_NAME, CONFIG_NAME, files.WRITTEN_RECORD,
                            feature_basis.BASIS_NAME})
# A packed export must compute what its stored weights do as closely as a SavedModel
# computes the Keras model (1e-4); against the float32 network, float16 kernels may move its
# embed by up to this much: the shipped default's move by 1.0e-4 on DAVIS frames, a tiny
# untrained network's L2-normalized features (an ensemble member's, in the tests) by 1.2e-3
# to 2.8e-3 with the draw and the CPU: 2e-3 refused them now and then. A wrong weight is
# caught by the 1e-4 check against the stored weights, not by this bound.
PACKED_TOLERANCE = 1e-2


def check_export_dir(export_dir: str) -> None:
  """Raises ExportError unless `export_dir` is new, empty, or a previous colortrack export.

  colortrack never deletes what it did not write: a file, a training workdir or
  a folder with other files is refused.
  """
  if not export_dir:
    raise ExportError("no export folder given")
  if os.path.basename(os.path.normpath(export_dir)) == packing.STORE_NAME:
    raise ExportError(f"{export_dir}: {packing.STORE_NAME!r} is the name of packed models' "
                      "network store; choose another name")
  if os.path.lexists(export_dir) and not os.path.isdir(export_dir):
    raise ExportError(f"{export_dir}: is a file, not an export folder; choose a new folder")
  parent = os.path.dirname(os.path.abspath(export_dir))
  files.ensure_output_dir(parent, "folder of the export")
  if not os.path.isdir(export_dir):
    return
  entries = sorted(os.listdir(export_dir))
  if not entries:
    return
  if "config.json" in entries or "checkpoints" in entries:
    raise ExportError(f"{export_dir}: is a training workdir; export to another folder")
  foreign = [e for e in entries if e not in EXPORT_ENTRIES]
  model_files = {"saved_model.pb", packing.MANIFEST_NAME} & set(entries)
  if foreign or not model_files or CONFIG_NAME not in entries:
    shown = ", ".join(foreign[:3] or entries[:3])
    raise ExportError(f"{export_dir}: holds files colortrack did not write ({shown}); "
                      "export to a new or empty folder")


def check_finite_weights(model, what: str = "model") -> None:
  """Raises ExportError naming the first weight of `model` that holds NaN or inf."""
  for variable in model.weights:
    if not np.all(np.isfinite(np.asarray(variable.numpy(), np.float64))):
      raise ExportError(f"the {what}'s weight {variable.path} holds NaN or inf "
                        "(training diverged?)")


def _check_frames() -> tf.Tensor:
  """Fixed random uint8 frames `[2, 70, 90, 3]` on which exports are compared."""
  return tf.constant(np.random.default_rng(0).integers(0, 256, size=(2, 70, 90, 3),
                                                       dtype=np.uint8))


def _served_embeddings(export_dir: str, frames: tf.Tensor) -> np.ndarray:
  """What the export at `export_dir` (SavedModel or packed) embeds `frames` as."""
  if packing.is_packed(export_dir):
    module = module_for(*restore_export(export_dir))  # held: `embed` refers to it weakly
    return module.embed(frames)["embeddings"].numpy()
  return tf.saved_model.load(export_dir).signatures["embed"](frames=frames)["embeddings"].numpy()


def embed_difference(export_dir: str, other_dir: str) -> float:
  """Max |diff| of two exports' `embed` on the same random frames (NaN if not finite)."""
  frames = _check_frames()
  outputs = [_served_embeddings(d, frames) for d in (export_dir, other_dir)]
  if outputs[0].shape != outputs[1].shape:
    return float("inf")
  return float(np.abs(outputs[0] - outputs[1]).max())


def verify_export(module: TrackerModule, export_dir: str, tolerance: float = 1e-4,
                  stored_networks: Sequence = ()) -> float:
  """Reloads `export_dir` and compares `embed` with the Keras model; returns max |diff|.

  Fails (ExportError) when the outputs are not finite or differ by more than
  `tolerance`: NaN never passes. `stored_networks` (a packed export's Keras networks):
  `embed` must first match them with their weights as stored (`packing.weights_as_stored`)
  within 1e-4, so a wrong or misplaced weight is refused however small float16's own
  effect is; `tolerance` then bounds that effect.
  """
  frames = _check_frames()
  served = _served_embeddings(export_dir, frames)
  keras_out = module.embed_frames(frames).numpy()
  if not (np.all(np.isfinite(served)) and np.all(np.isfinite(keras_out))):
    raise ExportError(f"{export_dir}: the model's embeddings hold NaN or inf; not exported")
  if stored_networks:
    with packing.weights_as_stored(stored_networks):
      as_stored = module.embed_frames(frames).numpy()
    stored_diff = float(np.abs(served - as_stored).max())
    if not stored_diff <= 1e-4:  # also false for NaN
      raise ExportError(f"{export_dir}: the packed networks' embed differs from the Keras "
                        f"model with the stored weights by {stored_diff:g} (> 1e-4); not exported")
  max_diff = float(np.abs(served - keras_out).max())
  if not max_diff <= tolerance:  # also false for NaN
    raise ExportError(f"{export_dir}: the exported embed differs from the Keras model by "
                      f"{max_diff:g} (> {tolerance:g}); not exported")
  return max_diff


def export(model: colorizer_lib.Colorizer, export_dir: str, config=None,
           ensemble: Sequence = (), packed: bool = False):
  """Writes and checks the SavedModel and its config; returns (module, max |diff|).

  `ensemble`: (model, config) pairs of more networks tracking with `model`
  (`EnsembleModule`; each with its own method, all with the features of
  `config`); the stored config lists them under `ensemble`.
  `packed`: write a packed model instead (`packing`: each network's weights, kernels
  in float16, in the store beside `export_dir`, shared with the models already there);
  its embed must match the Keras model's with the stored weights within 1e-4, and the
  float32 model's within PACKED_TOLERANCE (`verify_export`). Network files are
  stored before that check; after a failed one they stay, unlisted (named by their
  contents: a later export of the same network reuses them).

  Everything is written to a temp folder beside `export_dir`, reloaded and
  compared with the Keras model there, and only then renamed into place, so a
  failed or killed export leaves `export_dir` as it was. `export_dir` must be
  new, empty or a previous colortrack export (`check_export_dir`).
  """
  check_export_dir(export_dir)
  check_finite_weights(model)
  if (ensemble or packed) and config is None:
    raise ExportError("an ensemble or packed export needs the model's config")
  module = module_for(model, config, ensemble)
  if ensemble:
    for index, (member, _) in enumerate(ensemble, start=2):
      check_finite_weights(member, f"ensemble member {index}")
    config = ml_collections.ConfigDict(config.to_dict())
    config.ensemble = [ensemble_entry(c) for _, c in ensemble]
    config[ENSEMBLE_DIMS_KEY] = module.member_dims()
  parent = os.path.dirname(os.path.abspath(export_dir))
  name = os.path.basename(os.path.normpath(export_dir))
  for stale in glob.glob(os.path.join(parent, f".{name}.export-*")):
    shutil.rmtree(stale, ignore_errors=True)  # left by a killed export of ours
  tmp_dir = tempfile.mkdtemp(prefix=f".{name}.export-", dir=parent)
  networks = [model] + [member for member, _ in ensemble]
  try:
    if packed:
      store_dir = os.path.join(parent, packing.STORE_NAME)
      entries = [packing.write_network(store_dir, network) for network in networks]
      packing.write_manifest(tmp_dir, store_dir, entries)
    else:
      signatures = {"embed": module.embed, "propagate": module.propagate}
      if isinstance(module, EnsembleModule):
        signatures.update(module.member_signatures())
      tf.saved_model.save(module, tmp_dir, signatures=signatures)
    if config is not None:
      with files.atomic_output(os.path.join(tmp_dir, CONFIG_NAME)) as tmp_path:
        with open(tmp_path, "w") as f:
          f.write(without_machine_paths(config).to_json_best_effort(indent=2))
    max_diff = (verify_export(module, tmp_dir, PACKED_TOLERANCE, stored_networks=networks)
                if packed else verify_export(module, tmp_dir))
    os.chmod(tmp_dir, 0o777 & ~files.umask())
    if os.path.isdir(export_dir) and os.listdir(export_dir):
      old_dir = tmp_dir.replace(".export-", ".old-")
      os.rename(export_dir, old_dir)
      os.rename(tmp_dir, export_dir)
      shutil.rmtree(old_dir, ignore_errors=True)
    else:
      if os.path.isdir(export_dir):
        os.rmdir(export_dir)
      os.rename(tmp_dir, export_dir)
  except BaseException:
    shutil.rmtree(tmp_dir, ignore_errors=True)
    raise
  return module, max_diff


def restore_export(export_dir: str, dtype_policy: Optional[str] = None):
  """The Keras networks of a colortrack export (SavedModel or packed), rebuilt from its
  config and weights: (model, config, ensemble) as `export` takes them, to track with or
  to write the export again (in this version's format, packed, or as a SavedModel).
  `dtype_policy` (e.g. "mixed_bfloat16", to track with) builds the layers with that Keras
  policy; the weights stay float32, so every export restores the same way.

  A packed export's networks load from its network files (`packing.load_weights`). A
  SavedModel's variables are assigned from its checkpoint by their object path
  (`members/1/model/encoder/stages/0/0/conv1/_kernel`): the modules are rebuilt as
  `export` builds them, so every path resolves; one that does not is an ExportError,
  never a silently untrained weight.
  """
  check_retune_target(export_dir)
  try:
    config = ml_collections.ConfigDict(files.read_json(os.path.join(export_dir, CONFIG_NAME)))
  except ValueError as e:
    raise ExportError(f"{export_dir}: unreadable {CONFIG_NAME} ({errors.first_line(e)})") from e
  previous = keras.mixed_precision.global_policy()
  if dtype_policy:
    keras.mixed_precision.set_global_policy(dtype_policy)
  try:
    model, ensemble = build_networks(config)
  finally:
    keras.mixed_precision.set_global_policy(previous)
  module = module_for(model, config, ensemble)
  module.embed_frames(tf.zeros([1, 2 * model.output_stride, 2 * model.output_stride, 3],
                               tf.uint8))  # builds the variables
  if packing.is_packed(export_dir):
    packing.load_weights(export_dir, [model] + [member for member, _ in ensemble])
    return model, config, ensemble
  reader = tf.train.load_checkpoint(os.path.join(export_dir, "variables", "variables"))
  suffix = "/.ATTRIBUTES/VARIABLE_VALUE"
  assigned = set()
  for key in reader.get_variable_to_shape_map():
    if not key.endswith(suffix):
      continue
    target = module
    try:
      for part in key[:-len(suffix)].split("/"):
        target = target[int(part)] if isinstance(target, (list, tuple)) else getattr(target,
                                                                                      part)
      target.assign(reader.get_tensor(key))
    except (AttributeError, IndexError, ValueError, TypeError) as e:
      raise ExportError(f"{export_dir}: weight {key} has no place in the network its config "
                        f"describes ({errors.first_line(e)})") from e
    assigned.add(id(target))
  unset = [w.path for m in [model] + [m for m, _ in ensemble] for w in m.weights
           if id(w) not in assigned]
  if unset:
    raise ExportError(f"{export_dir}: holds no value for weight {unset[0]} (and "
                      f"{len(unset) - 1} more) of the network its config describes")
  return model, config, ensemble


def select_networks(export_dir: str, selection: Sequence[str]):
  """(model, config, ensemble) of a new export made of some networks of the export at
  `export_dir` and of trained workdirs, in the order of `selection`: an integer i is the
  export's network i (0: its first, then its `ensemble` members), anything else a training
  workdir (its latest checkpoint). The export's test-time defaults (`inference`) stay;
  each network keeps its own method and training record.
  """
  from colortrack.training import trainer  # pylint: disable=g-import-not-at-top
  model, config, ensemble = restore_export(export_dir)
  networks = [(model, config)] + list(ensemble)
  stride = model.output_stride  # all of an export's networks run at one stride
  chosen = []
  for item in selection:
    if item.strip().isdigit():
      index = int(item)
      if index >= len(networks):
        raise ExportError(f"{export_dir}: has networks 0..{len(networks) - 1}, not {index}")
      chosen.append(networks[index])
    else:
      try:
        chosen.append((trainer.restore_model(item, output_stride=stride),
                       trainer.load_config(item)))
      except trainer.TrainingError as e:
        raise ExportError(str(e)) from e
  if not chosen:
    raise ExportError("no networks selected")
  first_model, first_config = chosen[0]
  first_config = ml_collections.ConfigDict(first_config.to_dict())
  first_config.inference = config.inference.to_dict()
  for key in ("ensemble", ENSEMBLE_DIMS_KEY):  # `export` records the new ones
    if key in first_config:
      del first_config[key]
  return first_model, first_config, chosen[1:]


def check_retune_target(export_dir: str) -> None:
  """ExportError unless `export_dir` is a colortrack export: its config and saved_model.pb
  or a packed model's manifest."""
  has_model = (os.path.isfile(os.path.join(export_dir, "saved_model.pb")) or
               packing.is_packed(export_dir))
  if not (has_model and os.path.isfile(os.path.join(export_dir, CONFIG_NAME))):
    raise ExportError(f"{export_dir}: not a colortrack export (needs {CONFIG_NAME} and "
                      f"saved_model.pb or {packing.MANIFEST_NAME})")


def retune(export_dir: str, assignments: Sequence[str]):
  """Stores new test-time defaults in the colortrack export at `export_dir`; returns its config.

  `assignments` are `KEY=VALUE` as in `with_inference_defaults`. Only
  CONFIG_NAME is rewritten (atomically); the weights and any other files in the
  folder (a model card) are left as they are. Paths of the training machine in the
  config become names (`without_machine_paths`), as in a new export.
  """
  check_retune_target(export_dir)
  path = os.path.join(export_dir, CONFIG_NAME)
  try:
    config = ml_collections.ConfigDict(files.read_json(path))
  except ValueError as e:
    raise ExportError(f"{path}: unreadable ({errors.first_line(e)})") from e
  config = without_machine_paths(with_inference_defaults(config, assignments))
  files.ensure_output_dir(export_dir, "export folder")
  # The folder was recognized above as a colortrack export: its config is colortrack's.
  with files.atomic_output(path, known_ours=True) as tmp_path:
    with open(tmp_path, "w") as f:
      f.write(config.to_json_best_effort(indent=2))
  return config


def directory_size_bytes(path: str) -> int:
  """Bytes of the files under `path`; a packed export's network files (in the store beside
  it, maybe shared with other models) count too."""
  size = sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(path) for name in names)
  if packing.is_packed(path):
    size += sum(os.path.getsize(p) for p in packing.network_paths(path))
  return size
