r"""Benchmark: tracking frames/s and peak memory at 854x480 (DAVIS size) or any size.

Examples (the numbers in BENCHMARKS.md):
  python -m benchmarks.tracking_speed --config=colortrack/configs/paper.py --num_frames=60
  python -m benchmarks.tracking_speed --config=colortrack/configs/paper.py --num_frames=60 \
      --bfloat16 --scale=0.5
  python -m benchmarks.tracking_speed --config=colortrack/configs/cpu.py --num_frames=1000
  python -m benchmarks.tracking_speed --config=colortrack/configs/mast_multi.py:cpu --num_frames=60
  python -m benchmarks.tracking_speed --config=colortrack/configs/mast_multi.py:cpu \
      --num_frames=5000 --height=240 --width=427

Speed does not depend on the weights, so the preset's model is built with
random weights. Frames are a 48-frame synthetic video (854x480 unless
--height/--width say otherwise) played back and
forth (streamed, so any --num_frames fits in memory); masks with 3 objects.
Reported: steady-state frames/s after --warmup frames (graph tracing), with
the mask written as PNG each frame like eval.davis does, and peak RSS.
"""

import json
import os
import resource
import tempfile
import time

import keras
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from colortrack import serving
from colortrack.data import masks as masks_lib
from colortrack.data import synthetic
from colortrack.inference import embedder as embedder_lib
from colortrack.inference import trackers
from colortrack.methods import registry
from colortrack.modeling import colorizer

_CONFIG = config_flags.DEFINE_config_file("config", None, "Preset in colortrack/configs/.")
_NUM_FRAMES = flags.DEFINE_integer("num_frames", 60, "Frames to track.")
_WARMUP = flags.DEFINE_integer("warmup", 5, "Frames before timing starts.")
_SCALE = flags.DEFINE_float("scale", 1.0, "Inference scale.")
_BFLOAT16 = flags.DEFINE_bool("bfloat16", False, "Network in bfloat16.")
_TOP_K = flags.DEFINE_integer("top_k", None, "Top-k. Default: the preset's.")
_RADIUS = flags.DEFINE_integer("radius", None, "Local radius in grid cells (0: global). "
                               "Default: the preset's.")
_MEMORY = flags.DEFINE_enum("memory", None, ["window", "mast"], "Default: the preset's.")
_FEATURES = flags.DEFINE_enum("features", None, list(serving.FEATURES),
                              "Tracked features; default: the preset's inference.features.")
_HEIGHT = flags.DEFINE_integer("height", 480, "Frame height of the synthetic video.")
_WIDTH = flags.DEFINE_integer("width", 854, "Frame width of the synthetic video.")
flags.mark_flags_as_required(["config"])


def frame_stream(video, count):
  """Plays the clip forwards and backwards until `count` frames are out."""
  order = list(range(len(video.frames))) + list(range(len(video.frames) - 2, 0, -1))
  for index in range(count):
    yield video.frames[order[index % len(order)]]


def main(argv):
  del argv
  config = _CONFIG.value
  keras.mixed_precision.set_global_policy("mixed_bfloat16" if _BFLOAT16.value else "float32")
  model = colorizer.build_colorizer(config.model, 1, 64, registry.get(config).input_channels)
  keras.mixed_precision.set_global_policy("float32")
  module = serving.make_module(model, config, _FEATURES.value)
  embedder = embedder_lib.Embedder(lambda f: module.embed(f)["embeddings"],
                                   model.output_stride, "random weights")
  overrides = {"top_k": _TOP_K.value, "radius": _RADIUS.value, "memory": _MEMORY.value}
  values = trackers.settings(config, {"scale": _SCALE.value,
                                      **{k: v for k, v in overrides.items() if v is not None}})
  tracker = trackers.learned_tracker(embedder, values)
  video = synthetic.generate_video(0, num_frames=48, height=_HEIGHT.value, width=_WIDTH.value)
  times = []
  with tempfile.TemporaryDirectory() as out:
    start = time.monotonic()
    stream = tracker.track_masks(frame_stream(video, _NUM_FRAMES.value), video.masks[0])
    for index, ids in enumerate(stream):
      masks_lib.write_mask(os.path.join(out, "mask.png"), ids)
      times.append(time.monotonic() - start)
  steady = times[-1] - times[_WARMUP.value - 1]
  result = {
      "preset": config.model.encoder_widths, "frames": len(times),
      "frames_per_s": round((len(times) - _WARMUP.value) / steady, 2),
      "first_frame_s": round(times[0], 2),
      "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
      "scale": _SCALE.value, "bfloat16": _BFLOAT16.value, "top_k": values["top_k"],
      "radius": values["radius"], "memory": values["memory"],
      "features": module.features, "size": f"{_WIDTH.value}x{_HEIGHT.value}",
  }
  logging.info("result: %s", json.dumps(result))
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
