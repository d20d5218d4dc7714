"""MAST's memory-augmented tracking (Lai, Lu, Xie 2020, sec. 3.4).

Memory: long-term frames (0 and 5 by default, each once it is in the past) and
short-term frames t - k (k in 5, 3, 1). For a query cell, each memory frame is
searched in two steps:
  1. ROI localization: a softmax over a (2R + 1)^2 window of that frame's cells
     around the query's own position, dilated by ceil(distance_in_frames / 15);
     the soft-argmax of the window gives the ROI centre (fractional).
  2. Fine matching: keys and labels are bilinearly resampled on a (2P + 1)^2
     grid around that centre; the affinities of all ROIs of all memory frames
     are normalized together by one softmax, which weights the labels.
Localization runs in tiles of queries against their window (one matmul each),
so memory stays bounded at any resolution; only the frames the schedule will
still need are kept.
"""

import math
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from colortrack.inference import labels as labels_lib
from colortrack.inference import propagation
from colortrack.inference import pointer


def memory_schedule(t: int, long_term: Sequence[int] = (0, 5),
                    short_term: Sequence[int] = (5, 3, 1)) -> List[int]:
  """Sorted memory frame indices for target frame t (all in the past)."""
  frames = {f for f in long_term if f < t}
  frames |= {t - k for k in short_term if 0 <= t - k < t}
  return sorted(frames)


def dilation(distance: int) -> int:
  return max(1, math.ceil(distance / 15))


def _bilinear_grid(values, frac):
  """values `[b, w, n + 1, n + 1, C]` on integer offsets, frac `[b, w, 2]` (row, col)
  -> `[b, w, n, n, C]` sampled at offset + frac (each value is a 2x2 blend)."""
  fy = frac[:, :, 0][:, :, None, None, None]
  fx = frac[:, :, 1][:, :, None, None, None]
  top = values[:, :, :-1, :-1] * (1 - fx) + values[:, :, :-1, 1:] * fx
  bottom = values[:, :, 1:, :-1] * (1 - fx) + values[:, :, 1:, 1:] * fx
  return top * (1 - fy) + bottom * fy


def localize(query, keys, temperature, radius: int, rate: int, tile: int = 16):
  """ROI centres (row, col) `[h, w, 2]`: soft-argmax of each query over a dilated window.

  query, keys `[h, w, D]` (keys: one memory frame). Candidates of query (i, j)
  are the cells (i + rate*dy, j + rate*dx), |dy|, |dx| <= radius, inside the
  frame. Queries are processed in `tile x tile` blocks against the block's
  window of keys with one matmul (fast on CPUs); cells of the window that are
  not candidates are masked.
  """
  query = tf.convert_to_tensor(query, tf.float32)
  keys = tf.convert_to_tensor(keys, tf.float32)
  h, w, dim = query.shape
  reach = radius * rate
  blocks = []
  for rows, cols, key_rows, key_cols in propagation.window_tiles(h, w, tile, reach):
    queries = tf.reshape(query[rows, cols], [-1, dim])
    window = tf.reshape(keys[key_rows, key_cols], [-1, dim])
    logits = tf.matmul(queries, window, transpose_b=True) / temperature
    q_rows, q_cols = tf.meshgrid(tf.range(rows.start, rows.stop),
                                 tf.range(cols.start, cols.stop), indexing="ij")
    k_rows, k_cols = tf.meshgrid(tf.range(key_rows.start, key_rows.stop),
                                 tf.range(key_cols.start, key_cols.stop), indexing="ij")
    d_rows = tf.reshape(k_rows, [1, -1]) - tf.reshape(q_rows, [-1, 1])
    d_cols = tf.reshape(k_cols, [1, -1]) - tf.reshape(q_cols, [-1, 1])
    candidate = ((tf.abs(d_rows) <= reach) & (tf.abs(d_cols) <= reach) &
                 (d_rows % rate == 0) & (d_cols % rate == 0))
    weights = tf.nn.softmax(tf.where(candidate, logits, -1e9), axis=-1)
    offset = tf.stack([tf.reduce_sum(weights * tf.cast(d_rows, tf.float32), -1),
                       tf.reduce_sum(weights * tf.cast(d_cols, tf.float32), -1)], -1)
    position = tf.cast(tf.stack([tf.reshape(q_rows, [-1]), tf.reshape(q_cols, [-1])], -1),
                       tf.float32)
    blocks.append(tf.reshape(position + offset, [rows.stop - rows.start,
                                                 cols.stop - cols.start, 2]))
  return propagation.assemble_tiles(blocks, h, w, tile)


def roi_sample(query, keys, values, centres, temperature, fine_radius: int):
  """ROI affinities `[h, w, S]` and labels `[h, w, S, C]` around `centres`, S = (2P + 1)^2.

  Keys and labels are resampled bilinearly on the grid centre + (dy, dx),
  |dy|, |dx| <= P (clamped at the frame border).
  """
  query = tf.convert_to_tensor(query, tf.float32)
  h, w = tf.shape(keys)[0], tf.shape(keys)[1]
  dim = tf.shape(keys)[2]
  num_labels = tf.shape(values)[2]
  base = tf.floor(centres)
  frac = centres - base
  base = tf.cast(base, tf.int32)
  steps = tf.range(-fine_radius, fine_radius + 2)  # one extra for the bilinear blend
  rows = tf.clip_by_value(base[:, :, 0, None] + steps, 0, h - 1)  # [h, w, n]
  cols = tf.clip_by_value(base[:, :, 1, None] + steps, 0, w - 1)
  index = rows[:, :, :, None] * w + cols[:, :, None, :]  # [h, w, n, n]
  window_keys = tf.gather(tf.reshape(keys, [-1, dim]), index)  # [h, w, n, n, D]
  window_values = tf.gather(tf.reshape(values, [-1, num_labels]), index)
  logits = tf.einsum("hwd,hwijd->hwij", query, window_keys) / temperature
  # Affinity is linear in the key, so the bilinear blend of integer-position
  # affinities equals the affinity with the bilinearly resampled key.
  roi_logits = _bilinear_grid(logits[..., None], frac)[..., 0]
  roi_values = _bilinear_grid(window_values, frac)
  size = (2 * fine_radius + 1) ** 2
  return (tf.reshape(roi_logits, [h, w, size]),
          tf.reshape(roi_values, [h, w, size, num_labels]))


def roi_attend(query, keys, values, dilations: Sequence[int], temperature: float,
               coarse_radius: int, fine_radius: int, localize_fn=localize,
               sample_fn=roi_sample):
  """Two-step attention: query `[h, w, D]`, keys `[F, h, w, D]`, values `[F, h, w, C]`.

  `dilations[f]` is the localization dilation of memory frame f. The ROIs of
  all memory frames share one softmax. Returns the copied labels `[h, w, C]`.
  """
  all_logits, all_values = [], []
  for f, rate in enumerate(dilations):
    centres = localize_fn(query, keys[f], temperature, coarse_radius, rate)
    logits, roi_values = sample_fn(query, keys[f], values[f], centres, temperature, fine_radius)
    all_logits.append(logits)
    all_values.append(roi_values)
  weights = tf.nn.softmax(tf.concat(all_logits, axis=-1), axis=-1)
  return tf.einsum("hws,hwsc->hwc", weights, tf.concat(all_values, axis=2))


class MastTracker(pointer.PointerTracker):
  """PointerTracker whose references are MAST's memory, searched by `roi_attend`."""

  name = "model"

  def __init__(self, embedder, config: pointer.PropagationConfig = pointer.PropagationConfig(),
               long_term: Sequence[int] = (0, 5), short_term: Sequence[int] = (5, 3, 1),
               coarse_radius: int = 8, fine_radius: int = 3,
               keypoint_config: Optional[pointer.PropagationConfig] = None):
    super().__init__(embedder, config, keypoint_config)
    self.long_term = tuple(long_term)
    self.short_term = tuple(short_term)
    self.coarse_radius = coarse_radius
    self.fine_radius = fine_radius
    # Compiled once per grid size and dilation; the sampler once per label count.
    self._localize = tf.function(localize)
    self._sample = tf.function(roi_sample)

  def propagate_grid(self, frames: Iterable[np.ndarray], first_labels_fn,
                     renormalize: bool = False, gate: bool = False,
                     config: Optional[pointer.PropagationConfig] = None) -> Iterator[np.ndarray]:
    del gate  # MAST's memory: no first-frame gate
    config = config or self.config
    memory: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
    keep_recent = max(self.short_term, default=0)
    for t, frame in enumerate(frames):
      frame = pointer.resize(frame, *pointer.scaled_size(
          *frame.shape[:2], self.scale_for(*frame.shape[:2], config)))
      embedding = self.embed(frame, config)
      if t == 0:
        labels = first_labels_fn(*embedding.shape[:2])
      else:
        indices = memory_schedule(t, self.long_term, self.short_term)
        labels = roi_attend(
            embedding, np.stack([memory[i][0] for i in indices]),
            np.stack([memory[i][1] for i in indices]),
            [dilation(t - i) for i in indices], config.temperature,
            self.coarse_radius, self.fine_radius, self._localize, self._sample).numpy()
        if renormalize:
          labels = labels_lib.renormalize(labels, config.renormalize_floor)
      stored = labels_lib.harden(labels) if (config.hard and t) else labels
      memory[t] = (embedding, stored)
      # Keep only what a later schedule can ask for: bounded memory.
      for index in list(memory):
        if index not in self.long_term and index <= t - keep_recent:
          del memory[index]
      yield labels
