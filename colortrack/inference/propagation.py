"""Label propagation with the pointer, in TensorFlow, for any number of locations.

`propagate` (global) is what the exported SavedModel runs: the pointer of
`colortrack.modeling.layers.Pointer` with dynamic shapes and memory bounded by
chunking over target locations. `propagate_local` restricts each target cell
to reference cells within `radius` cells in row and column of every reference
frame. Both can keep only each row's top-k affinities (test-time options).
"""

import functools

import numpy as np
import tensorflow as tf

from colortrack import validation


@functools.lru_cache(maxsize=None)
def bfloat16_is_fast() -> bool:
  """Whether this CPU multiplies bfloat16 matrices natively (AVX512_BF16 or AMX)."""
  try:
    with open("/proc/cpuinfo") as f:
      flags = f.read()
  except OSError:  # not Linux: no way to tell cheaply, keep float32
    return False
  return " avx512_bf16" in flags or " amx_bf16" in flags


def resolve_precision(precision: str) -> str:
  """"auto" -> "bfloat16" where it is native (`bfloat16_is_fast`), else "float32"."""
  if precision == "auto":
    return "bfloat16" if bfloat16_is_fast() else "float32"
  if precision not in validation.POINTER_PRECISIONS:
    raise ValueError(f"pointer precision {precision!r}: use one of "
                     f"{validation.POINTER_PRECISIONS}")
  return precision


def propagate(target, references, reference_labels, temperature, chunk_size: int = 4096,
              top_k: int = 0):
  """Copies labels from reference locations to target locations (global pointer).

  target `[N, D]`, references `[M, D]`, reference_labels `[M, C]`, temperature
  scalar. Returns `[N, C]` = softmax(target . references^T / temperature)
  @ labels, with the softmax over each row's `top_k` largest affinities when
  `top_k > 0`. Affinity memory is `chunk_size x M` at a time.
  """
  target = tf.convert_to_tensor(target, tf.float32)
  references = tf.convert_to_tensor(references, tf.float32)
  reference_labels = tf.convert_to_tensor(reference_labels, tf.float32)
  temperature = tf.cast(temperature, tf.float32)
  num_targets = tf.shape(target)[0]
  num_chunks = (num_targets + chunk_size - 1) // chunk_size
  pad = num_chunks * chunk_size - num_targets
  chunks = tf.reshape(tf.pad(target, [[0, pad], [0, 0]]),
                      [num_chunks, chunk_size, tf.shape(target)[1]])

  def one_chunk(chunk):
    logits = tf.matmul(chunk, references, transpose_b=True) / temperature
    if top_k > 0:
      k = tf.minimum(top_k, tf.shape(references)[0])
      values, indices = tf.math.top_k(logits, k=k)
      weights = tf.nn.softmax(values, axis=-1)
      return tf.einsum("nk,nkc->nc", weights, tf.gather(reference_labels, indices))
    return tf.matmul(tf.nn.softmax(logits, axis=-1), reference_labels)

  labels = tf.map_fn(one_chunk, chunks,
                     fn_output_signature=tf.TensorSpec([chunk_size, None], tf.float32))
  return tf.reshape(labels, [-1, tf.shape(reference_labels)[1]])[:num_targets]

def window_tiles(height: int, width: int, tile: int, reach: int):
  """Yields (rows, cols, key_rows, key_cols) slices: a `tile x tile` block of
  query cells and the window of cells within `reach` of it, clipped to the grid."""
  for row0 in range(0, height, tile):
    row1 = min(row0 + tile, height)
    for col0 in range(0, width, tile):
      col1 = min(col0 + tile, width)
      yield (slice(row0, row1), slice(col0, col1),
             slice(max(0, row0 - reach), min(height, row1 + reach)),
             slice(max(0, col0 - reach), min(width, col1 + reach)))


def assemble_tiles(blocks, height: int, width: int, tile: int):
  """Inverse of the `window_tiles` order: row-major blocks -> one `[h, w, ...]` tensor."""
  per_row = -(-width // tile)
  rows = [tf.concat(blocks[i:i + per_row], axis=1) for i in range(0, len(blocks), per_row)]
  return tf.concat(rows, axis=0)


def _window_bias(geometry, radius: int) -> np.ndarray:
  """`[queries, key cells]` (both row-major): 0 where the key cell is within `radius` rows and
  columns of the query, -1e9 elsewhere. `geometry`: for rows, then columns, (first query -
  first key, number of queries, number of keys)."""
  (row_offset, query_rows, key_rows), (col_offset, query_cols, key_cols) = geometry
  far_rows = np.abs(np.arange(query_rows)[:, None] + row_offset - np.arange(key_rows)) > radius
  far_cols = np.abs(np.arange(query_cols)[:, None] + col_offset - np.arange(key_cols)) > radius
  outside = far_rows[:, None, :, None] | far_cols[None, :, None, :]
  return np.where(outside, -1e9, 0.0).astype(np.float32).reshape(
      query_rows * query_cols, key_rows * key_cols)


def grouped_top_k(logits, k, group: int = 16):
  """`tf.math.top_k(logits, k)` of `[N, M]` rows (k <= M), faster for wide rows.

  Each row is cut into groups of `group` columns: the top k values lie in the k groups
  with the largest maxima (a value outside them is below k group maxima, each a
  distinct column), so a top-k over the group maxima, then one over those k groups'
  columns, finds the same values (where values tie at the k-th place, it may keep another
  column of the same value). The windowed pointer's rows are thousands of candidates
  wide (bfloat16 affinities tie often), k is 10-20: the default's pointer takes 0.145 s
  per frame instead of 0.157 (`benchmarks.pointer_speed --compare_top_k`).
  """
  rows = tf.shape(logits)[0]
  columns = logits.shape[1] if logits.shape[1] is not None else tf.shape(logits)[1]
  padded = tf.pad(logits, [[0, 0], [0, (-columns) % group]],
                  constant_values=logits.dtype.min)  # never above a real column
  groups = tf.reshape(padded, [rows, -1, group])
  num_groups = groups.shape[1] if groups.shape[1] is not None else tf.shape(groups)[1]
  _, best_groups = tf.math.top_k(tf.reduce_max(groups, axis=-1),
                                 k=tf.minimum(k, num_groups) if tf.is_tensor(num_groups)
                                 or tf.is_tensor(k) else min(k, num_groups))
  # In column order, so that equal values are taken leftmost first, as top_k takes them.
  best_groups = tf.sort(best_groups, axis=-1)
  members = tf.reshape(tf.gather(groups, best_groups, batch_dims=1), [rows, -1])
  scores, flat = tf.math.top_k(members, k=k)
  return scores, tf.gather(best_groups, flat // group, batch_dims=1) * group + flat % group


def propagate_local(target, references, reference_labels, temperature, radius: int,
                    top_k: int = 0, tile: int = 12, global_keys=None, global_labels=None,
                    precision: str = "float32"):
  """The pointer restricted to a (2 radius + 1)^2 window, on grids.

  target `[h, w, D]`, references `[F, h, w, D]`, reference_labels `[F, h, w, C]`.
  Returns `[h, w, C]`, equal to `propagate` with `radius`. Targets are
  processed in `tile x tile` blocks; a block meets only the reference cells
  within `radius` of it, so cost and memory grow with the window, not with
  the frame (at 480p with radius 12: ~4x fewer affinities than whole rows).
  `global_keys` `[M, D]` / `global_labels` `[M, C]` (optional): candidates
  every target cell may copy from wherever they are (the first frame's object
  cells, so an object that left and came back elsewhere is found again); they
  share the window's softmax (and its top-k). `precision` "bfloat16": features
  are rounded to bfloat16 for the dot products (summed in float32 by oneDNN, each
  affinity rounded to bfloat16; softmax and labels stay float32).
  """
  dtype = tf.bfloat16 if precision == "bfloat16" else tf.float32
  # Cast once, not per tile (the windows overlap); features may come cast already.
  target = tf.cast(target, dtype)
  references = tf.cast(references, dtype)
  reference_labels = tf.convert_to_tensor(reference_labels, tf.float32)
  height, width, dim = target.shape
  frames = tf.shape(references)[0]  # may vary between calls of one trace (a filling window)
  num_labels = reference_labels.shape[-1]
  radius = int(radius)
  if global_keys is not None:
    global_keys = tf.cast(global_keys, dtype)

  def affinity(queries, keys):
    return tf.cast(tf.matmul(queries, keys, transpose_b=True), tf.float32) / temperature

  blocks = []
  biases = {}
  for rows, cols, key_rows, key_cols in window_tiles(height, width, tile, radius):
    queries = tf.reshape(target[rows, cols], [-1, dim])
    keys = tf.reshape(references[:, key_rows, key_cols], [-1, dim])
    values = tf.reshape(reference_labels[:, key_rows, key_cols], [-1, num_labels])
    logits = affinity(queries, keys)
    # Keys outside the window get -1e9: an additive bias per (query, key cell), the same for
    # every reference frame, built at trace time (the grid size is static) and shared by
    # the tiles of one geometry (all interior tiles).
    geometry = tuple((q.start - k.start, q.stop - q.start, k.stop - k.start)
                     for q, k in ((rows, key_rows), (cols, key_cols)))
    if geometry not in biases:
      biases[geometry] = tf.constant(_window_bias(geometry, radius))
    bias = biases[geometry]  # [queries, cells]
    num_queries, cells = bias.shape
    logits = tf.reshape(tf.reshape(logits, [num_queries, frames, cells]) + bias[:, None],
                        [num_queries, -1])
    if global_keys is not None:
      logits = tf.concat([logits, affinity(queries, global_keys)], axis=1)
      values = tf.concat([values, global_labels], axis=0)
    if top_k > 0:
      candidates = logits.shape[1]
      k = (min(top_k, candidates) if candidates is not None
           else tf.minimum(top_k, tf.shape(logits)[1]))
      scores, indices = grouped_top_k(logits, k)
      block = tf.einsum("nk,nkc->nc", tf.nn.softmax(scores, axis=-1),
                        tf.gather(values, indices))
    else:
      block = tf.matmul(tf.nn.softmax(logits, axis=-1), values)
    blocks.append(tf.reshape(block, [rows.stop - rows.start, cols.stop - cols.start,
                                     num_labels]))
  return assemble_tiles(blocks, height, width, tile)
