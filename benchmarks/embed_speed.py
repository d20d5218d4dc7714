r"""A model's networks alone: seconds to embed one 854x480 frame.

Example (under a minute here; idle machine):
  python -m benchmarks.embed_speed
  python -m benchmarks.embed_speed --networks=2
  python -m benchmarks.embed_speed --network_precision=float32
  python -m benchmarks.embed_speed --amp_bfloat16 --network_precision=float32

`--networks=N`: an ensemble export's first N networks (`ensemble_members=N`).
`--amp_bfloat16` turns on TensorFlow's oneDNN bfloat16 graph rewrite for the
whole process first (a measurement, not a colortrack option). With it, or with
networks in bfloat16 (`--network_precision`, or the model's own "auto" on a CPU with
AVX512_BF16), it prints the cosine of the features to float32's, computed in a child
process in float32.
"""

import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np

from colortrack import pretrained

_MODEL = flags.DEFINE_string("model", pretrained.DEFAULT_MODEL, "Export or workdir.")
_NETWORKS = flags.DEFINE_integer("networks", 0, "First N networks of an ensemble (0: all).")
_PRECISION = flags.DEFINE_enum("network_precision", None, ["auto", "float32", "bfloat16"],
                               "The networks' arithmetic (default: the model's own).")
_AMP = flags.DEFINE_bool("amp_bfloat16", False, "TensorFlow's bfloat16 rewrite, process-wide.")
_REPEATS = flags.DEFINE_integer("repeats", 8, "Timed calls.")
_SAVE = flags.DEFINE_string("save", None, "Write the embedding here (.npy).")


def main(argv):
  del argv
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  if _AMP.value:
    tf.config.optimizer.set_experimental_options({"auto_mixed_precision_onednn_bfloat16": True})
  from colortrack.data import synthetic  # pylint: disable=g-import-not-at-top
  from colortrack.inference import embedder as embedder_lib  # pylint: disable=g-import-not-at-top
  frame = np.stack(synthetic.generate_video(0, num_frames=1, height=480, width=854).frames[:1])
  embedder = embedder_lib.load(_MODEL.value, network_precision=_PRECISION.value)
  embeddings = embedder(frame, networks=_NETWORKS.value)  # traced, caches filled
  start = time.perf_counter()
  for _ in range(_REPEATS.value):
    embeddings = embedder(frame, networks=_NETWORKS.value)
  print(f"embed, networks={_NETWORKS.value or 'all'}, {embedder.network_precision}: "
        f"{(time.perf_counter() - start) / _REPEATS.value:.3f} s per 854x480 frame")
  if _SAVE.value:
    np.save(_SAVE.value, embeddings)
  if _AMP.value or embedder.network_precision != "float32":
    with tempfile.NamedTemporaryFile(suffix=".npy") as f:
      subprocess.run([sys.executable, "-m", "benchmarks.embed_speed", f"--model={_MODEL.value}",
                      f"--networks={_NETWORKS.value}", "--repeats=1", f"--save={f.name}",
                      "--network_precision=float32"],
                     check=True, capture_output=True)
      exact = np.load(f.name)
    cosine = np.sum(embeddings * exact, -1) / np.sqrt(
        np.sum(embeddings ** 2, -1) * np.sum(exact ** 2, -1))
    print(f"cosine to float32: mean {cosine.mean():.5f}, min {cosine.min():.5f}")


if __name__ == "__main__":
  app.run(main)
