r"""The windowed pointer alone: seconds per frame for tile sizes, radii, precisions and XLA.

Example (about 3 minutes here; idle machine):
  python -m benchmarks.pointer_speed
  python -m benchmarks.pointer_speed --tiles=12 --radii=16 --precisions=float32 --jit

Random unit features of the default's size at 854x480 (a 60x107 grid, 1,024
dimensions, 4 reference frames, 2 label channels), top-10, T 0.05; each variant
traced once, then timed over `--repeats` calls. Also one tile's matrix product
(144 queries x 7,744 window cells, the default's interior tile) in each precision.
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
  target, references = unit(rng, (60, 107, 1024)), unit(rng, (4, 60, 107, 1024))
  labels = rng.random((4, 60, 107, 2)).astype(np.float32)
  print("| precision | radius | tile | XLA | seconds per frame |")
  print("|---|---|---|---|---|")
  for precision in _PRECISIONS.value:
    dtype = tf.bfloat16 if precision == "bfloat16" else tf.float32
    inputs = (tf.cast(target, dtype), tf.cast(references, dtype), labels)
    for radius in (int(r) for r in _RADII.value):
      for tile in (int(t) for t in _TILES.value):
        for jit in ((False, True) if _JIT.value else (False,)):
          fn = tf.function(functools.partial(
              propagation.propagate_local, temperature=0.05, radius=radius, top_k=10,
              tile=tile, precision=precision), jit_compile=jit)
          cost = seconds(fn, *inputs, repeats=_REPEATS.value)
          print(f"| {precision} | {radius} | {tile} | {'yes' if jit else 'no'} | {cost:.3f} |",
                flush=True)


if __name__ == "__main__":
  app.run(main)
