"""The learned pointer tracker: copies labels from the first frame and a window of recent ones.

Takes a stream of uint8 RGB frames `[H, W, 3]` and the first frame's
annotation, and yields one result per frame (the first frame included), so
long videos are never held in memory:
  track_masks(frames, first_ids)      -> ids `[H, W]` uint8 per frame
  track_points(frames, first_points)  -> (points `[K, 2]` x, y pixels, visible `[K]`)
Points are 0-based pixels, pixel (col c, row r) centred at (c, r).
"""

import collections
import dataclasses
import functools
import itertools
import weakref
from typing import Iterable, Iterator, Optional, Tuple

import cv2
import numpy as np

from colortrack.inference import grid as grid_lib
from colortrack.inference import labels as labels_lib

Points = Tuple[np.ndarray, np.ndarray]


@dataclasses.dataclass
class PropagationConfig:
  """Test-time settings of the pointer (paper sec. 3.3 and its ablations)."""
  window: int = 3  # previous frames used as references (recursive)
  use_first: bool = True  # also point into the annotated first frame
  temperature: float = 0.5
  top_k: int = 0  # 0: softmax over all reference cells
  radius: int = 0  # grid cells; 0: global
  hard: bool = False  # one-hot labels enter the memory (MAST)
  renormalize: bool = False  # masks: rescale each object's channel to [0, 1] per frame
  # ... except a channel whose values span less than this (a gone object fades)
  renormalize_floor: float = 0.0
  # Masks returned: object k where its probability beats background's x t / (1 - t)
  # (`labels.background_weighted`; 0.5: argmax). The memory keeps the soft masks.
  mask_threshold: float = 0.5
  # ... and an object's connected pieces below this fraction of its largest are dropped
  # (`labels.drop_small_components`; 0: none). Output only, like the threshold.
  min_component_fraction: float = 0.0
  # Masks returned: before the threshold, the soft masks are moved onto the frame's edges
  # by a colour guided filter of this radius (`labels.guided_filter`, in pixels of the
  # frame as tracked: `scale`, `max_short_side`; fitted at a quarter of that size). 0: off.
  guided_filter_radius: int = 0
  # With a radius: the first frame's object cells are also searched over the whole
  # frame (re-finds an object that left and came back elsewhere).
  first_global: bool = False
  # Masks: a cell keeps object k's label only if its best affinity (cosine for
  # normalized features) to the first frame's cells of k is at least this; else
  # background. An object that left cannot live on in background that resembles
  # none of it. 0: off.
  min_first_similarity: float = 0.0
  scale: float = 1.0  # frames are resized by this before embedding
  # ... and to at most this many pixels on their short side (0: no limit): the models
  # are trained and tuned at 480p, and HD frames would only cost time.
  max_short_side: int = 0
  # Keypoints: width (sigma, in grid cells) of the Gaussian each keypoint is drawn as.
  keypoint_sigma: float = 0.75
  # An ensemble export's embedder: track with its first N networks (0: all).
  ensemble_members: int = 0
  # Compare cells on the first k principal directions of the features (0: all).
  feature_dims: int = 0
  # The windowed pointer's dot products: float32, bfloat16 or auto (see propagation).
  pointer_precision: str = "float32"
  chunk_size: int = 4096


def scaled_size(height: int, width: int, scale: float):
  return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


# The last resize: (a weak reference to the image, height, width, result). The tracker and
# the overlay preview shrink each frame to the same size; the second gets the first's.
_last_resize = (None, 0, 0, None)


# The guided filter's coefficients are fitted at 1/4 of the frame as tracked, near the
# label grid's own resolution, and applied at full size (He and Sun's fast guided filter,
# 2015): 5 ms instead of 39 per 712x400 frame, and 0.7059 vs 0.7031 DAVIS dev J&F for
# the default (BENCHMARKS.md, "Masks that follow the frame's edges").
GUIDED_FILTER_SUBSAMPLE = 4


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
  """`image` at `height x width`: area averaging to shrink, bilinear to enlarge.

  An image twice the size or more (on even sides) is halved first, as often as that
  holds: OpenCV averages whole 2x2 blocks on a fast path, so 1920x1080 -> 711x400
  takes about half the time of one step, to nearly the same pixels. The same image (the
  same array object, alive) resized to the same size again returns the same result,
  read-only, without computing it again (colortrack never changes a frame in place).
  """
  global _last_resize
  if image.shape[:2] == (height, width):
    return image
  reference, last_height, last_width, result = _last_resize
  if reference is not None and reference() is image and (last_height, last_width) == (
      height, width):
    return result
  shrink = height < image.shape[0]
  out = image
  while (shrink and out.shape[0] >= 2 * height and out.shape[1] >= 2 * width
         and out.shape[0] % 2 == 0 and out.shape[1] % 2 == 0):
    out = cv2.resize(out, (out.shape[1] // 2, out.shape[0] // 2), interpolation=cv2.INTER_AREA)
  out = cv2.resize(out, (width, height),
                   interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
  out = out[..., None] if out.ndim == 2 and image.ndim == 3 else out
  out.flags.writeable = False  # shared by the callers that resize this image
  _last_resize = (weakref.ref(image), height, width, out)
  return out


class PointerTracker:
  """Copies labels with the learned embedding, from a window of previous frames."""

  name = "model"

  def __init__(self, embedder, config: PropagationConfig = PropagationConfig(),
               keypoint_config: Optional[PropagationConfig] = None):
    """`keypoint_config`: the settings `track_points` uses (default: `config`)."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from colortrack.inference import propagation  # pylint: disable=g-import-not-at-top
    if config.window < 1 and not config.use_first:
      raise ValueError("no reference frames: use a window >= 1 or the first frame")
    self.embedder = embedder
    self.config = config
    self.keypoint_config = keypoint_config or config
    self.stride = embedder.stride
    # Compiled once per grid size and settings, for any number of reference frames (the
    # window fills up over the first frames); the Python tiling loop becomes one graph.
    self._local_graphs = {}
    self._local = tf.function(propagation.propagate_local)  # with global candidates
    self._global = propagation.propagate

  def _pointer_key(self, embedding: np.ndarray, config: PropagationConfig):
    """The embedding as the windowed pointer reads it (a tensor in its precision), made
    once per frame: a frame stays in memory for `window` more frames."""
    if config.radius <= 0:
      return None
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    return tf.cast(tf.constant(embedding, tf.float32), self._precision(config))

  def _copy(self, embedding: np.ndarray, memory, first=None,
            config: Optional[PropagationConfig] = None, key=None) -> np.ndarray:
    """Labels `[h, w, C]` of `embedding` copied from `memory`: (embedding, labels,
    pointer key) per reference frame; `key` is `embedding`'s pointer key."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    config = config or self.config
    h, w, dim = embedding.shape
    if config.radius > 0:
      key = key if key is not None else self._pointer_key(embedding, config)
      extra = {}
      local = memory
      if first is not None and config.first_global:
        rest = [m for m in memory if m is not first]
        foreground = first[1][..., 1:].max(axis=-1) >= 0.5
        if rest and foreground.any():
          local = rest
          extra = dict(global_keys=first[0][foreground], global_labels=first[1][foreground])
      keys = tf.stack([m[2] for m in local])
      values = np.stack([m[1] for m in local]).astype(np.float32, copy=False)
      if extra:
        return self._local(key, keys, values, config.temperature, int(config.radius),
                           config.top_k, precision=self._precision(config), **extra).numpy()
      return self._local_graph(embedding.shape, values.shape[-1], config)(
          key, keys, values).numpy()
    references = np.concatenate([m[0].reshape(-1, dim) for m in memory])
    reference_labels = np.concatenate([m[1].reshape(h * w, -1) for m in memory])
    labels = self._global(embedding.reshape(-1, dim), references, reference_labels,
                          config.temperature, chunk_size=config.chunk_size,
                          top_k=config.top_k)
    return labels.numpy().reshape(h, w, -1)

  def _local_graph(self, grid_shape, num_labels: int, config: PropagationConfig):
    """`propagate_local` traced once for `[h, w, D]` grids and any number of references."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from colortrack.inference import propagation  # pylint: disable=g-import-not-at-top
    precision = self._precision(config)
    key = (tuple(grid_shape), num_labels, float(config.temperature), int(config.radius),
           int(config.top_k), precision)
    if key not in self._local_graphs:
      h, w, dim = grid_shape
      self._local_graphs[key] = tf.function(
          functools.partial(propagation.propagate_local, temperature=float(config.temperature),
                            radius=int(config.radius), top_k=int(config.top_k),
                            precision=precision),
          input_signature=[tf.TensorSpec([h, w, dim], precision),
                           tf.TensorSpec([None, h, w, dim], precision),
                           tf.TensorSpec([None, h, w, num_labels], tf.float32)])
    return self._local_graphs[key]

  @staticmethod
  def _precision(config: PropagationConfig) -> str:
    from colortrack.inference import propagation  # pylint: disable=g-import-not-at-top
    return propagation.resolve_precision(config.pointer_precision)

  def propagate_grid(self, frames: Iterable[np.ndarray], first_labels_fn,
                     renormalize: bool = False, gate: bool = False,
                     config: Optional[PropagationConfig] = None) -> Iterator[np.ndarray]:
    """Yields grid labels `[h, w, C]` per frame; `first_labels_fn(h, w)` makes frame 0's.

    Frames are resized by `scale_for` first. Each frame is embedded once;
    memory holds the first frame and the last `window` frames (embeddings and
    labels), whatever the video length. `renormalize` (masks only): copied
    labels go through `labels.renormalize` before they are stored and yielded.
    `config` (default: the tracker's) sets the window, temperature, scale, ...
    """
    config = config or self.config
    recent = collections.deque(maxlen=config.window)
    first = None
    for frame in frames:
      frame = resize(frame, *scaled_size(*frame.shape[:2],
                                         self.scale_for(*frame.shape[:2], config)))
      embedding = self.embed(frame, config)  # [h, w, D]
      key = self._pointer_key(embedding, config)
      if first is None:
        labels = first_labels_fn(*embedding.shape[:2])
        first = (embedding, labels, key)
        recent.append(first)
        yield labels
        continue
      memory = list(recent)
      if config.use_first and not any(m is first for m in memory):
        memory = [first] + memory
      labels = self._copy(embedding, memory, first if config.use_first else None, config, key)
      if gate and config.min_first_similarity > 0:
        labels = labels_lib.gate_by_first_frame(labels, embedding, first[0], first[1],
                                                config.min_first_similarity)
      if renormalize:
        labels = labels_lib.renormalize(labels, config.renormalize_floor)
      recent.append((embedding, labels_lib.harden(labels) if config.hard else labels, key))
      yield labels

  def embed(self, frame: np.ndarray, config: PropagationConfig) -> np.ndarray:
    """One frame `[H, W, 3]` -> its embedding `[h, w, D]` (the networks `config` names)."""
    options = {}  # only what is set: an embedder need not take the options it is not asked
    if config.ensemble_members:
      options["networks"] = config.ensemble_members
    if config.feature_dims:
      options["dims"] = config.feature_dims
    return self.embedder(frame[None], **options)[0]

  def scale_for(self, height: int, width: int,
                config: Optional[PropagationConfig] = None) -> float:
    """The resize factor of `height x width` frames: `scale`, capped by `max_short_side`."""
    config = config or self.config
    scale = config.scale
    if config.max_short_side > 0:
      scale = min(scale, config.max_short_side / min(height, width))
    return scale

  def processing_size(self, height: int, width: int, keypoints: bool = False):
    """(height, width) at which frames of this size are embedded (for masks or points)."""
    config = self.keypoint_config if keypoints else self.config
    return scaled_size(height, width, self.scale_for(height, width, config))

  def track_masks(self, frames: Iterable[np.ndarray], first_ids: np.ndarray) -> Iterator[np.ndarray]:
    object_ids = labels_lib.first_mask_objects(first_ids)
    current = {}

    def remembered(frames):  # the frame whose soft masks come next (the guided filter's guide)
      for frame in frames:
        current["frame"] = frame
        yield frame

    for index, grid_labels in enumerate(self.soft_masks(remembered(frames), first_ids)):
      if index == 0:
        yield first_ids
        continue
      yield self.decode_masks(grid_labels, *first_ids.shape, object_ids, frame=current["frame"])

  def soft_masks(self, frames: Iterable[np.ndarray], first_ids: np.ndarray) -> Iterator[np.ndarray]:
    """Yields the propagated soft masks on the grid, `[h, w, 1 + K]` per frame (frame 0's
    from `first_ids` `[H, W]`); `decode_masks` turns one into ids as `track_masks` does."""
    object_ids = labels_lib.first_mask_objects(first_ids)
    scaled = self.processing_size(*first_ids.shape)
    first_onehot = resize(labels_lib.ids_to_onehot(first_ids, object_ids), *scaled)
    return self.propagate_grid(
        frames, lambda h, w: grid_lib.pixels_to_grid(first_onehot, self.stride),
        renormalize=self.config.renormalize, gate=True)

  def decode_masks(self, grid_labels: np.ndarray, height: int, width: int,
                   object_ids: np.ndarray, mask_threshold: Optional[float] = None,
                   min_component_fraction: Optional[float] = None,
                   frame: Optional[np.ndarray] = None,
                   guided_filter_radius: Optional[int] = None) -> np.ndarray:
    """Soft grid masks `[h, w, 1 + K]` of `height x width` frames -> ids `[height, width]`:
    guided-filtered by `frame` (`[height, width, 3]` RGB uint8) with `guided_filter_radius`,
    upsampled bilinearly, background weighed by `mask_threshold`, then pieces below
    `min_component_fraction` of their object's largest dropped (all three default: the
    tracker's settings; the filter needs `frame`)."""
    config = self.config
    threshold = config.mask_threshold if mask_threshold is None else mask_threshold
    fraction = (config.min_component_fraction if min_component_fraction is None
                else min_component_fraction)
    radius = config.guided_filter_radius if guided_filter_radius is None else guided_filter_radius
    scaled = self.processing_size(height, width)
    soft = grid_lib.grid_to_pixels(grid_labels, self.stride, *scaled)
    if radius > 0:
      if frame is None:
        raise ValueError("decode_masks: guided_filter_radius > 0 needs the frame")
      # The frame as tracked (`resize` returns propagate_grid's copy, not a new one).
      guide = resize(frame, *scaled).astype(np.float32) / 255.0
      soft = labels_lib.guided_filter(guide, soft, radius, subsample=GUIDED_FILTER_SUBSAMPLE)
    soft = labels_lib.background_weighted(soft, threshold)
    if scaled[0] <= height and scaled[1] <= width:  # as processed, or smaller (HD video)
      ids = labels_lib.upsampled_ids(soft, height, width, object_ids)
    else:
      ids = labels_lib.onehot_to_ids(resize(soft, height, width), object_ids)
    return labels_lib.drop_small_components(ids, object_ids, fraction)

  def track_points(self, frames: Iterable[np.ndarray], first_points: np.ndarray) -> Iterator[Points]:
    first_points = np.asarray(first_points, np.float32)
    frames = iter(frames)
    first = next(frames)
    config = self.keypoint_config
    scale = self.scale_for(*first.shape[:2], config)
    # Pixel centres map as (x + 0.5) * scale - 0.5.
    scaled_points = (first_points + 0.5) * scale - 0.5
    peaks = {}

    def first_labels(h, w):
      heat = labels_lib.keypoint_heatmaps(scaled_points, h, w, self.stride,
                                          config.keypoint_sigma)
      peaks["value"] = heat[..., 1:].reshape(-1, len(first_points)).max(axis=0)
      return heat

    stream = self.propagate_grid(itertools.chain([first], frames), first_labels,
                                 config=config)
    for index, grid_labels in enumerate(stream):
      if index == 0:
        yield first_points, np.ones(len(first_points), bool)
        continue
      points, visible = labels_lib.decode_keypoints(grid_labels, self.stride, peaks["value"])
      yield (points + 0.5) / scale - 0.5, visible
