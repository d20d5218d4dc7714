r"""Benchmark: data prep throughput (source frames/s and x real time).

Example (the numbers in BENCHMARKS.md):
  python -m benchmarks.data_prep_throughput \
      --input=../shared/data/unlabeled/videos,../shared/data/unlabeled/davis2016-train-256p \
      --workers=2

Fits a codebook, builds TFRecords into a fresh temp folder (nothing is reused),
and reports wall time including process start-up. "x real time" = seconds of
source video (frames / source fps, summed) divided by wall seconds.
"""

import json
import os
import tempfile
import time

from absl import app
from absl import flags
from absl import logging

from colortrack.data import tfrecord_builder

_INPUT = flags.DEFINE_string("input", None, "Videos / frame folders (comma-separated).")
_WORKERS = flags.DEFINE_integer("workers", 2, "Processes.")
_SIZE = flags.DEFINE_integer("size", 256, "Clip frame size.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None,
                                  "Where to write (default: a temp folder, removed after).")
flags.mark_flags_as_required(["input"])


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as tmp:
    out = _OUTPUT_DIR.value or tmp
    codebook_path = os.path.join(out, "codebook.npz")
    start = time.monotonic()
    tfrecord_builder.fit_codebook(_INPUT.value, codebook_path)
    fit_seconds = time.monotonic() - start
    clips_dir = os.path.join(out, "clips")
    start = time.monotonic()
    summary = tfrecord_builder.build(tfrecord_builder.BuildConfig(
        input_spec=_INPUT.value, codebook_path=codebook_path, output_dir=clips_dir,
        size=_SIZE.value, workers=_WORKERS.value))
    build_seconds = time.monotonic() - start
    with open(summary.manifest_path) as f:
      manifest = json.load(f)
    video_seconds = sum(e["source_frames"] / e["source_fps"] for e in manifest["sources"]
                        if e.get("source_fps"))
    size_mb = sum(os.path.getsize(os.path.join(clips_dir, n))
                  for n in os.listdir(clips_dir) if n.endswith(".tfrecord")) / 2**20
  result = {
      "sources": len(manifest["sources"]),
      "sources_skipped": manifest["sources_skipped"],
      "source_frames": summary.source_frames,
      "source_video_seconds": round(video_seconds, 1),
      "clips": manifest["clips"],
      "tfrecord_mb": round(size_mb, 1),
      "codebook_fit_seconds": round(fit_seconds, 1),
      "build_seconds": round(build_seconds, 1),
      "build_source_frames_per_s": round(summary.source_frames / build_seconds, 1),
      "build_x_real_time": round(video_seconds / build_seconds, 1),
      "workers": _WORKERS.value,
  }
  logging.info("result: %s", json.dumps(result))
  print(json.dumps(result, indent=1))


if __name__ == "__main__":
  app.run(main)
