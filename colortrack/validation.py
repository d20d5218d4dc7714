"""One place that says which settings can work: test-time, training and data-prep values.

Every entry point (the binaries' flags, `colortrack.load_tracker`, a model's
`config.inference`, `train.export --retune`, `train.train`'s config) goes
through these checks, so an impossible value is one `errors.UserError` naming
the setting, never a traceback or an all-background result with exit 0.
Dependency-free (no TensorFlow), so any layer may import it.
"""

import math
from typing import Any, Mapping

from colortrack import errors

_OUTPUT_STRIDES = (4, 8, 16, 32)


class SettingError(errors.UserError):
  """A setting's value cannot work; the message names the setting."""


def _number(name: str, value: Any, where: str) -> float:
  if isinstance(value, bool) or not isinstance(value, (int, float)):
    try:
      value = float(value)
    except (TypeError, ValueError):
      raise SettingError(f"{where}{name}={value!r}: not a number") from None
  if not math.isfinite(value):
    raise SettingError(f"{where}{name}={value!r}: not a finite number")
  return value


def _positive(name: str, value: Any, where: str) -> None:
  if _number(name, value, where) <= 0:
    raise SettingError(f"{where}{name}={value!r}: must be > 0")


def _non_negative(name: str, value: Any, where: str) -> None:
  if _number(name, value, where) < 0:
    raise SettingError(f"{where}{name}={value!r}: must be >= 0")


def _open_unit(name: str, value: Any, where: str) -> None:
  if not 0 < _number(name, value, where) < 1:
    raise SettingError(f"{where}{name}={value!r}: must be between 0 and 1 (exclusive)")


def _unit(name: str, value: Any, where: str) -> None:
  if not 0 <= _number(name, value, where) <= 1:
    raise SettingError(f"{where}{name}={value!r}: must be between 0 and 1")


def _whole(name: str, value: Any, where: str, low: int = 0) -> None:
  number = _number(name, value, where)
  if number != int(number) or number < low:
    raise SettingError(f"{where}{name}={value!r}: must be a whole number >= {low}")


# The windowed pointer's dot products and the networks' arithmetic
# (`propagation.resolve_precision`).
POINTER_PRECISIONS = ("auto", "float32", "bfloat16")

# Test-time settings (`trackers.TrackingSettings`, `config.inference`): name -> check.
_INFERENCE_CHECKS = {
    "temperature": _positive,
    "scale": _positive,
    "keypoint_sigma": _positive,
    "top_k": _whole,
    "radius": _whole,
    "window": _whole,
    "max_short_side": _whole,
    "coarse_radius": _whole,
    "fine_radius": _whole,
    "ensemble_members": _whole,
    "feature_dims": _whole,
    "renormalize_floor": _non_negative,
    "mask_threshold": _open_unit,
    "min_component_fraction": _unit,
    "guided_filter_radius": _whole,
    "min_first_similarity": _number,
}


def check_inference(values: Mapping[str, Any], where: str = "") -> None:
  """SettingError for the first test-time setting in `values` that cannot track.

  `where` prefixes the message (e.g. "model.json: inference."). Unset (None)
  values are skipped: they fall back to another section's.
  """
  for name, check in _INFERENCE_CHECKS.items():
    if values.get(name) is not None:
      check(name, values[name], where)
  output_stride = values.get("output_stride")
  if output_stride not in (None, 0) and output_stride not in _OUTPUT_STRIDES:
    raise SettingError(f"{where}output_stride={output_stride!r}: use 0 (as trained) or one "
                       f"of {_OUTPUT_STRIDES}")
  if values.get("window") == 0 and values.get("use_first") is False:
    raise SettingError(f"{where}window=0 without the first frame: no reference to copy from")
  for name in ("long_term", "short_term"):
    for value in values.get(name) or ():
      _whole(name, value, where)
  for name in ("pointer_precision", "network_precision"):
    if values.get(name) not in (None,) + POINTER_PRECISIONS:
      raise SettingError(f"{where}{name}={values[name]!r}: use one of "
                         f"{', '.join(POINTER_PRECISIONS)}")
  if values.get("memory") not in (None, "window", "mast"):
    raise SettingError(f"{where}memory={values['memory']!r}: use window or mast")


def check_training(config) -> None:
  """SettingError for the first shape field of a training config that cannot train, and
  for its test-time section (the trainer checks its rates and counts itself)."""
  model, data = config.model, config.data
  if model.output_stride not in _OUTPUT_STRIDES:
    raise SettingError(f"config.model.output_stride={model.output_stride!r}: use one of "
                       f"{_OUTPUT_STRIDES}")
  _whole("config.data.clip_len", data.clip_len, "", low=2)
  _whole("config.model.embed_dim", model.embed_dim, "", low=1)
  _whole("config.data.image_size", data.image_size, "", low=16)
  if any(w < 1 for w in model.encoder_widths) or any(b < 1 for b in model.encoder_blocks):
    raise SettingError("config.model.encoder_widths / encoder_blocks: every entry must be >= 1")
  check_inference(dict(config.inference), "config.inference.")
  check_inference(dict(config.inference.get("keypoints") or {}), "config.inference.keypoints.")

