r"""The windowed pointer alone: seconds per frame for tile sizes, radii, precisions and XLA.

Example (about 3 minutes here; idle machine):
  python -m benchmarks.pointer_speed
  python -m benchmarks.pointer_speed --tiles=12 --radii=16 --precisions=float32 --jit
  python -m benchmarks.pointer_speed --tiles=12 --radii=13 --precisions=bfloat16 \
      --grid=50x89 --compare_top_k                         # the default, frames at 400 px
  python -m benchmarks.pointer_speed --tiles=12 --radii=8 --precisions=bfloat16 \
      --grid=50x89 --dims=128 --top_k=20 --compare_top_k   # `fast`

Random unit features of the default's size at 854x480 (a 60x107 grid, 1,024
dimensions, 4 reference frames, 2 label channels; `--grid`, `--dims`), top-10
(`--top_k`), T 0.05; each variant traced once, then timed over `--repeats` calls.
Also one tile's matrix product (144 queries x 7,744 window cells, the default's
interior tile) in each precision. `--compare_top_k` also times each variant with
`tf.math.top_k` in place of the pointer's `grouped_top_k`.
"""

import functools
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from colortrack.inference import propagation

_TILES = flags.DEFINE_list("tiles", ["8", "12", "16", "20"], "Tile sizes (cells).")
_RADII = flags.DEFINE_list("radii", ["16", "12"], "Search radii (cells).")
_PRECISIONS = flags.DEFINE_list("precisions", ["bfloat16", "float32"], "Pointer precisions.")
_JIT = flags.DEFINE_bool("jit", False, "Also each variant compiled with XLA (jit_compile).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed calls per variant.")
_GRID = flags.DEFINE_string("grid", "60x107", "Grid cells, HEIGHTxWIDTH.")
_DIMS = flags.DEFINE_integer("dims", 1024, "Feature dimensions.")
_TOP_K = flags.DEFINE_integer("top_k", 10, "Candidates kept per cell.")
_COMPARE_TOP_K = flags.DEFINE_bool("compare_top_k", False,
                                   "Also time tf.math.top_k in place of grouped_top_k.")


def unit(rng, shape):
  x = rng.normal(size=shape).astype(np.float32)
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


def seconds(fn, *args, repeats: int) -> float:
  """Mean seconds of `fn(*args)` after one untimed call (tracing, compiling)."""
  fn(*args).numpy()
  start = time.perf_counter()
  for _ in range(repeats):
    fn(*args).numpy()
  return (time.perf_counter() - start) / repeats


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  queries, window = unit(rng, (144, 1024)), unit(rng, (7744, 1024))
  product = tf.function(lambda a, b: tf.matmul(a, b, transpose_b=True))
  for precision in _PRECISIONS.value:
    dtype = tf.bfloat16 if precision == "bfloat16" else tf.float32
    cost = seconds(product, tf.cast(queries, dtype), tf.cast(window, dtype),
                   repeats=10 * _REPEATS.value)
    print(f"one tile's product, {precision}: {1000 * cost:.1f} ms", flush=True)
  height, width = (int(n) for n in _GRID.value.split("x"))
  target = unit(rng, (height, width, _DIMS.value))
  references = unit(rng, (4, height, width, _DIMS.value))
  labels = rng.random((4, height, width, 2)).astype(np.float32)
  grouped = propagation.grouped_top_k
  top_k_variants = {"grouped": grouped}
  if _COMPARE_TOP_K.value:
    top_k_variants["tf.math.top_k"] = lambda logits, k: tf.math.top_k(logits, k=k)
  print("| precision | radius | tile | XLA | top-k | seconds per frame |")
  print("|---|---|---|---|---|---|")
  for precision in _PRECISIONS.value:
    dtype = tf.bfloat16 if precision == "bfloat16" else tf.float32
    inputs = (tf.cast(target, dtype), tf.cast(references, dtype), labels)
    for radius in (int(r) for r in _RADII.value):
      for tile in (int(t) for t in _TILES.value):
        for jit in ((False, True) if _JIT.value else (False,)):
          for name, top_k_fn in top_k_variants.items():
            propagation.grouped_top_k = top_k_fn  # what propagate_local calls, while traced
            try:
              fn = tf.function(functools.partial(
                  propagation.propagate_local, temperature=0.05, radius=radius,
                  top_k=_TOP_K.value, tile=tile, precision=precision), jit_compile=jit)
              cost = seconds(fn, *inputs, repeats=_REPEATS.value)
            finally:
              propagation.grouped_top_k = grouped
            print(f"| {precision} | {radius} | {tile} | {'yes' if jit else 'no'} | {name} | "
                  f"{cost:.3f} |", flush=True)


if __name__ == "__main__":
  app.run(main)
