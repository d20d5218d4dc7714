"""absl flags shared by the tracking binaries (`colortrack.track`, `eval.*`).

For binaries only: no library module imports this file, so the library stays
free of absl.flags.
"""

from absl import flags

from colortrack.inference import trackers

METHOD = flags.DEFINE_enum("method", "model", ["model", "identity", "flow"],
                           "model: the learned pointer; identity / flow: baselines.")
MODEL = flags.DEFINE_string("model", None, "SavedModel folder or training workdir (--method=model).")
WINDOW = flags.DEFINE_integer("window", 3, "Previous frames used as references.")
USE_FIRST = flags.DEFINE_bool("use_first", True, "Also copy from the annotated first frame.")
TEMPERATURE = flags.DEFINE_float("temperature", 0.5, "Pointer temperature at test time.")
TOP_K = flags.DEFINE_integer("top_k", 10, "Keep each location's top-k affinities (0: all, "
                             "the paper's global pointer).")
RADIUS = flags.DEFINE_integer("radius", 12, "Local search radius in grid cells (0: global).")
SCALE = flags.DEFINE_float("scale", 1.0, "Resize frames by this before embedding (0.5: ~4x "
                           "faster, coarser masks).")
BFLOAT16 = flags.DEFINE_bool("bfloat16", False, "Run the network in bfloat16 (training "
                             "workdirs; ~2x faster on AVX512_BF16 CPUs).")
HARD = flags.DEFINE_bool("hard", False, "Hard propagation: one-hot labels enter the memory.")


def propagation_config() -> trackers.PropagationConfig:
  return trackers.PropagationConfig(window=WINDOW.value, use_first=USE_FIRST.value,
                                    temperature=TEMPERATURE.value, top_k=TOP_K.value,
                                    radius=RADIUS.value, hard=HARD.value, scale=SCALE.value)


def make_tracker():
  if METHOD.value == "model" and not MODEL.value:
    raise ValueError("--method=model needs --model=SAVEDMODEL_OR_WORKDIR")
  return trackers.make_tracker(METHOD.value, MODEL.value or "", propagation_config(),
                               bfloat16=BFLOAT16.value)


def method_name() -> str:
  return METHOD.value
