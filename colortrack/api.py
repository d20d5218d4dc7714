"""Tracking from Python: frames you hold in memory in, masks or keypoints out, as numpy.

    import colortrack
    tracker = colortrack.load_tracker()                # the shipped default model
    masks = tracker.track_masks(frames, first_mask)    # [T, H, W, 3] uint8, [H, W] ids
    points, visible = tracker.track_points(frames, first_points)   # [K, 2] x, y

`load_tracker(model=...)` takes any export of `train.export` (SavedModel or packed) or a
training workdir; `load_tracker(profile="fast")` a shipped model and settings on the speed /
quality frontier; `method="flow"` / `"identity"` gives the baselines; keyword settings
(`radius=8`, `max_short_side=0`, ...; `colortrack.inference.trackers.TrackingSettings`)
override the model's test-time defaults, as the binaries' flags do.
Coordinates: 0-based pixels, pixel (column c, row r) centred at (c, r).
"""

from typing import Optional, Tuple

import numpy as np

from colortrack import errors
from colortrack import pretrained


# Smaller frames leave the networks (output stride up to 8) less than two cells a side.
MIN_FRAME_SIZE = 16


class Tracker:
  """A loaded tracker; every call tracks one video from its first frame's annotation."""

  def __init__(self, tracker):
    self._tracker = tracker

  @property
  def description(self) -> str:
    embedder = getattr(self._tracker, "embedder", None)
    return f"{self._tracker.name} ({embedder.description})" if embedder else self._tracker.name

  @staticmethod
  def _check_frames(frames) -> np.ndarray:
    try:
      frames = np.asarray(frames)
    except ValueError as e:  # a ragged list: frames of different sizes
      raise errors.UserError(f"frames must be uint8 RGB [T, H, W, 3] of one size "
                             f"({errors.first_line(e)})") from e
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 1:
      raise errors.UserError(f"frames must be uint8 RGB [T, H, W, 3], got shape "
                             f"{list(frames.shape)}")
    if frames.dtype != np.uint8:
      raise errors.UserError(f"frames must be uint8 RGB (0-255), got {frames.dtype}")
    if min(frames.shape[1:3]) < MIN_FRAME_SIZE:
      raise errors.UserError(f"frames are {frames.shape[2]}x{frames.shape[1]}; the trackers "
                             f"need at least {MIN_FRAME_SIZE}x{MIN_FRAME_SIZE} pixels")
    return frames

  def track_masks(self, frames, first_mask=None, boxes=None, points=None) -> np.ndarray:
    """frames uint8 `[T, H, W, 3]`, and one of: first_mask `[H, W]` object ids (0
    background); boxes `[N, 4]` x0, y0, x1, y1 pixels (object k + 1 per box); points
    `[N, 2]` x, y foreground clicks on one object -> ids uint8 `[T, H, W]` (frame 0 is
    the first mask; from boxes or points, the one OpenCV's GrabCut made)."""
    frames = self._check_frames(frames)
    if sum(a is not None for a in (first_mask, boxes, points)) != 1:
      raise errors.UserError("give exactly one of first_mask, boxes or points")
    if first_mask is None:
      from colortrack.inference import first_mask as first_mask_lib  # pylint: disable=g-import-not-at-top
      first_mask = (first_mask_lib.mask_from_boxes(frames[0], boxes) if boxes is not None
                    else first_mask_lib.mask_from_clicks(frames[0], points))
    first_mask = np.asarray(first_mask)
    if first_mask.shape != frames.shape[1:3]:
      raise errors.UserError(f"first_mask is {list(first_mask.shape)}, frames are "
                             f"{list(frames.shape[1:3])}")
    if first_mask.min() < 0 or first_mask.max() > 254:
      raise errors.UserError("first_mask ids must be 0 (background) to 254")
    first_mask = first_mask.astype(np.uint8)
    if not np.any((first_mask > 0) & (first_mask < 255)):
      raise errors.UserError("first_mask has no object (every pixel is 0)")
    return np.stack(list(self._tracker.track_masks(iter(frames), first_mask)))

  def track_points(self, frames, first_points) -> Tuple[np.ndarray, np.ndarray]:
    """frames uint8 `[T, H, W, 3]`, first_points `[K, 2]` (x, y)
    -> points float32 `[T, K, 2]`, visible bool `[T, K]`."""
    frames = self._check_frames(frames)
    first_points = np.asarray(first_points, np.float32).reshape(-1, 2)
    if not len(first_points) or not np.all(np.isfinite(first_points)):
      raise errors.UserError("first_points must be a non-empty [K, 2] array of finite x, y")
    results = list(self._tracker.track_points(iter(frames), first_points))
    return (np.stack([p for p, _ in results]).astype(np.float32),
            np.stack([v for _, v in results]))


def load_tracker(model: Optional[str] = None, method: str = "model",
                 profile: Optional[str] = None, **settings) -> Tracker:
  """The shipped tracker, an export / training workdir (`model`), or a baseline.

  `profile` ("default"; "best"; "fast": `pretrained.PROFILES`) picks a
  shipped model and settings on the speed / quality frontier (its settings replace the
  model's mask settings; the model's keypoint settings stay); `model` and keyword
  settings override it.
  """
  from colortrack.inference import trackers  # pylint: disable=g-import-not-at-top
  profile_model, profile_settings = pretrained.profile(profile or pretrained.DEFAULT_PROFILE)
  return Tracker(trackers.make_tracker(method, model or profile_model, settings,
                                       profile_settings={} if model else profile_settings))
