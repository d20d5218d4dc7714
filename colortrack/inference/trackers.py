"""Picks a tracker from test-time settings: the learned pointer (window or MAST memory) or a baseline.

Trackers (`pointer.PointerTracker`, `mast.MastTracker`, `baselines.*`) all take
a stream of uint8 RGB frames `[H, W, 3]` and the first frame's annotation, and
yield one result per frame (the first frame included):
  track_masks(frames, first_ids)      -> ids `[H, W]` uint8 per frame
  track_points(frames, first_points)  -> (points `[K, 2]` x, y pixels, visible `[K]`)
Points are 0-based pixels, pixel (col c, row r) centred at (c, r).

Imports run one way: this factory imports the trackers, never the reverse.
"""

import dataclasses
from typing import Optional, Tuple

from colortrack import errors
from colortrack import validation
from colortrack.inference import baselines
from colortrack.inference import mast
from colortrack.inference import pointer
from colortrack.inference import propagation

# The trackers' names, for callers of this module.
PropagationConfig = pointer.PropagationConfig
PointerTracker = pointer.PointerTracker
MastTracker = mast.MastTracker
IdentityTracker = baselines.IdentityTracker
FlowTracker = baselines.FlowTracker
Points = pointer.Points
resize = pointer.resize
scaled_size = pointer.scaled_size

METHODS = ("model", "identity", "flow")


@dataclasses.dataclass(frozen=True)
class TrackingSettings:
  """Test-time settings of the learned tracker (see `settings` for where they come from).

  memory: "window" (the first frame + the previous `window` frames, the paper)
  or "mast" (long-term frames `long_term`, short-term offsets `short_term`,
  two-step ROI attention with `coarse_radius` / `fine_radius` grid cells).
  temperature: the pointer's softmax temperature; top_k (0: all) and radius
  (grid cells; 0: global) restrict each location's candidates; hard: one-hot
  labels enter the memory; renormalize: masks rescaled to [0, 1] per object
  and frame, except channels spanning less than renormalize_floor; mask_threshold:
  masks returned make a pixel object k where k's probability beats background's
  x t / (1 - t) (one object: above t; 0.5: the argmax; the memory keeps soft masks);
  min_component_fraction: then an object's connected pieces smaller than this fraction of
  its largest become background (0: none; output only); guided_filter_radius: before
  the threshold, masks returned are moved onto the frame's edges by a colour guided
  filter of this radius in pixels of the frame as tracked (0: off; output only); first_global:
  the first frame's object cells are candidates everywhere (with a radius);
  min_first_similarity: masks keep object k only where a cell resembles a
  first-frame cell of k that much (0: off);
  features: "embedding", "encoder" or "encoder_stages34" (serving.FEATURES;
  training workdirs); scale: frames resized by this before embedding, and to
  at most max_short_side pixels on their short side (0: no limit);
  output_stride: the encoder's stride at test time (0: as trained; 4 for a
  model trained at 8: a finer grid, same weights);
  keypoint_sigma: the width in grid cells of the Gaussian a keypoint is drawn as;
  ensemble_members: an ensemble export tracks with its first N networks (0: all);
  feature_dims: cells are compared on the first k principal directions of the
  features (the export's basis; 0: the full features);
  pointer_precision: "float32", "bfloat16" or "auto" (bfloat16 where the CPU
  computes it natively: `propagation.bfloat16_is_fast`);
  network_precision: the same for the networks (training workdirs and packed exports;
  a SavedModel export runs in the precision it was exported with).
  """
  memory: str
  window: int
  use_first: bool
  temperature: float
  top_k: int
  radius: int
  hard: bool
  renormalize: bool
  renormalize_floor: float
  mask_threshold: float
  min_component_fraction: float
  guided_filter_radius: int
  first_global: bool
  min_first_similarity: float
  features: str
  scale: float
  max_short_side: int
  output_stride: int
  keypoint_sigma: float
  ensemble_members: int
  feature_dims: int
  pointer_precision: str
  network_precision: str
  long_term: Tuple[int, ...]
  short_term: Tuple[int, ...]
  coarse_radius: int
  fine_radius: int

  def propagation(self) -> pointer.PropagationConfig:
    return pointer.PropagationConfig(
        window=self.window, use_first=self.use_first, temperature=self.temperature,
        top_k=self.top_k, radius=self.radius, hard=self.hard, scale=self.scale,
        max_short_side=self.max_short_side, keypoint_sigma=self.keypoint_sigma,
        renormalize=self.renormalize, renormalize_floor=self.renormalize_floor,
        mask_threshold=self.mask_threshold, min_component_fraction=self.min_component_fraction,
        guided_filter_radius=self.guided_filter_radius,
        first_global=self.first_global, min_first_similarity=self.min_first_similarity,
        ensemble_members=self.ensemble_members, feature_dims=self.feature_dims,
        pointer_precision=self.pointer_precision)

  def as_dict(self) -> dict:
    return dataclasses.asdict(self)


KEYPOINTS = "keypoints"  # the section of `config.inference` for tracking points


def settings(model_config=None, overrides: Optional[dict] = None,
             for_keypoints: bool = False,
             profile_settings: Optional[dict] = None) -> TrackingSettings:
  """`overrides` (e.g. flags), else the model's `config.inference`, else the base config's.

  With `for_keypoints`, the set values of `config.inference.keypoints` (settings
  tuned for points, e.g. upsampled frames) replace the others before `overrides`.
  `profile_settings` (a `--profile`'s) replace the model's own settings, below its
  keypoint section: a profile's window for masks leaves the keypoints' tuning alone.
  """
  from colortrack.configs import base  # pylint: disable=g-import-not-at-top
  values = dict(base.get_base_config().inference)
  values.update(use_first=True)
  if model_config is not None and "inference" in model_config:
    values.update(dict(model_config.inference))
  values.update(profile_settings or {})
  keypoint_values = dict(values.pop(KEYPOINTS, None) or {})
  if for_keypoints:
    values.update({k: v for k, v in keypoint_values.items() if v is not None})
  values.update(overrides or {})
  unknown = set(values) - {f.name for f in dataclasses.fields(TrackingSettings)}
  if unknown:
    raise errors.UserError(f"unknown test-time setting(s) {sorted(unknown)}")
  kinds = {f.name: f.type for f in dataclasses.fields(TrackingSettings)}
  out = {}
  for key, value in values.items():
    kind = kinds[key]
    try:
      out[key] = tuple(int(v) for v in value) if kind == Tuple[int, ...] else kind(value)
    except (TypeError, ValueError) as e:
      kind_name = kind.__name__ if isinstance(kind, type) else "tuple of integers"
      raise validation.SettingError(f"{key}={value!r}: not a {kind_name} "
                                    f"({errors.first_line(e)})") from e
    if kind is int and isinstance(value, float) and value != int(value):
      raise validation.SettingError(f"{key}={value!r}: must be a whole number")
  validation.check_inference(out)  # one validator for flags, the API and config.inference
  return TrackingSettings(**out)


def make_tracker(method: str, model_path: str = "", overrides: Optional[dict] = None,
                 profile_settings: Optional[dict] = None):
  """'model' (needs model_path), 'identity' or 'flow'.

  For 'model', the tracker (window or MAST memory) and its settings come from
  `settings(model's config, overrides, profile_settings=profile_settings)`; the networks
  are built in the `network_precision` of the overrides, else the profile's, else the
  model's own.
  """
  if method == "identity":
    return baselines.IdentityTracker()
  if method == "flow":
    return baselines.FlowTracker()
  if method != "model":
    raise errors.UserError(f"unknown method {method!r}: use one of {METHODS}")
  from colortrack.inference import embedder as embedder_lib  # pylint: disable=g-import-not-at-top
  chosen = {**(profile_settings or {}), **(overrides or {})}
  validation.check_inference({"network_precision": chosen.get("network_precision")})
  embedder = embedder_lib.load(model_path, network_precision=chosen.get("network_precision"),
                               features=(overrides or {}).get("features"),
                               output_stride=(overrides or {}).get("output_stride"))
  return learned_tracker(
      embedder, settings(embedder.config, overrides, profile_settings=profile_settings),
      settings(embedder.config, overrides, for_keypoints=True,
               profile_settings=profile_settings))


def learned_tracker(embedder, values: TrackingSettings,
                    keypoint_values: Optional[TrackingSettings] = None):
  """The pointer with test-time settings `values` (`keypoint_values` for points, default
  `values`): window or MAST memory."""
  keypoint_config = (keypoint_values or values).propagation()
  for config in (values, keypoint_values or values):
    if config.ensemble_members and hasattr(embedder, "check_networks"):
      embedder.check_networks(config.ensemble_members)  # a clear error before the first frame
    if config.feature_dims and hasattr(embedder, "check_feature_dims"):
      embedder.check_feature_dims(config.feature_dims, config.ensemble_members)
  if values.memory == "mast":
    tracker = mast.MastTracker(embedder, values.propagation(), long_term=values.long_term,
                               short_term=values.short_term,
                               coarse_radius=values.coarse_radius,
                               fine_radius=values.fine_radius, keypoint_config=keypoint_config)
  elif values.memory == "window":
    tracker = pointer.PointerTracker(embedder, values.propagation(), keypoint_config)
  else:
    raise errors.UserError(f"memory={values.memory!r}: use window or mast")
  tracker.settings = values.as_dict()  # what a results record names: "auto" resolved
  tracker.settings["pointer_precision"] = propagation.resolve_precision(values.pointer_precision)
  # What the networks ran in: a SavedModel runs as exported, whatever was asked.
  tracker.settings["network_precision"] = getattr(embedder, "network_precision", "float32")
  return tracker
