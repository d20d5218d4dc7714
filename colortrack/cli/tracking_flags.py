"""absl flags shared by the tracking binaries (`colortrack.track`, `eval.*`).

For binaries only: no library module imports this file, so the library stays
free of absl.flags. Propagation flags left unset take the model's own test-time
defaults (the `inference` section of its training config), then the paper's.
"""

from absl import flags

from colortrack import pretrained
from colortrack import serving
from colortrack.inference import trackers

METHOD = flags.DEFINE_enum("method", "model", ["model", "identity", "flow"],
                           "model: the learned pointer; identity / flow: baselines.")
MODEL = flags.DEFINE_string("model", pretrained.DEFAULT_MODEL,
                            "Export (packed or SavedModel) or training workdir (--method=model). Default: "
                            "the shipped trained tracker (colortrack/pretrained/). A SavedModel "
                            "is a program: loading one runs its code; use only models you "
                            "trust.")
PROFILE = flags.DEFINE_enum(
    "profile", None, list(pretrained.PROFILES), "A shipped model and settings on the speed / "
    "quality frontier: default, best (480p frames as they are, a wider search: slower), "
    "fast (one network: ~3x faster); README, \"Results\". Ignored when --model is given.")
SCALE = flags.DEFINE_float("scale", None, "Resize frames by this before embedding (0.5: ~4x "
                           "faster, coarser masks). Default 1.")
MAX_SHORT_SIDE = flags.DEFINE_integer(
    "max_short_side", None, "Embed frames at most this many pixels on their short side "
    "(results stay at the video's size; 0: full resolution). Default 480.")
OUTPUT_STRIDE = flags.DEFINE_integer(
    "output_stride", None, "Encoder output stride at test time (training workdirs): 4 for a "
    "model trained at 8 gives a finer grid with the same weights. Default: the model's.")
KEYPOINT_SIGMA = flags.DEFINE_float("keypoint_sigma", None, "Keypoints: width (sigma, grid "
                                     "cells) of the Gaussian each keypoint is drawn as.")
MEMORY = flags.DEFINE_enum("memory", None, ["window", "mast"],
                           "References: window (first + previous N frames, the paper) or mast "
                           "(long/short-term memory with ROI attention). Default: the model's.")
WINDOW = flags.DEFINE_integer("window", None, "Previous frames used as references (window).")
USE_FIRST = flags.DEFINE_bool("use_first", None, "Also copy from the annotated first frame.")
TEMPERATURE = flags.DEFINE_float("temperature", None, "Pointer temperature at test time.")
TOP_K = flags.DEFINE_integer("top_k", None, "Keep each location's top-k affinities (0: all).")
RADIUS = flags.DEFINE_integer("radius", None, "Local search radius in grid cells (0: global).")
HARD = flags.DEFINE_bool("hard", None, "Hard propagation: one-hot labels enter the memory.")
LONG_TERM = flags.DEFINE_list("long_term", None, "MAST long-term memory frames, e.g. 0,5.")
SHORT_TERM = flags.DEFINE_list("short_term", None, "MAST short-term offsets, e.g. 5,3,1.")
COARSE_RADIUS = flags.DEFINE_integer("coarse_radius", None, "MAST ROI localization radius.")
FINE_RADIUS = flags.DEFINE_integer("fine_radius", None, "MAST ROI half size.")
RENORMALIZE = flags.DEFINE_bool("renormalize", None, "Masks: rescale each object's propagated "
                                 "probabilities to [0, 1] per frame (against shrinking).")
RENORMALIZE_FLOOR = flags.DEFINE_float(
    "renormalize_floor", None, "With --renormalize: leave an object's channel as it is when "
    "its values span less than this, so an object that left the frame fades (0: always "
    "rescale).")
MASK_THRESHOLD = flags.DEFINE_float(
    "mask_threshold", None, "Masks: a pixel is the object where its probability is above this "
    "(several objects: where it beats background's x t / (1 - t)); 0.5: the argmax.")
MIN_COMPONENT_FRACTION = flags.DEFINE_float(
    "min_component_fraction", None, "Masks: an object's connected pieces smaller than this "
    "fraction of its largest piece become background (0: keep every piece).")
GUIDED_FILTER_RADIUS = flags.DEFINE_integer(
    "guided_filter_radius", None, "Masks: before the threshold, move the soft masks onto the "
    "frame's colour edges with a guided filter of this radius (pixels of the frame as "
    "tracked, after --scale / --max_short_side; 0: off).")
FIRST_GLOBAL = flags.DEFINE_bool("first_global", None, "With --radius: also search the first "
                                 "frame's object cells over the whole frame (re-finds objects "
                                 "that left and came back).")
MIN_FIRST_SIMILARITY = flags.DEFINE_float(
    "min_first_similarity", None, "Masks: keep object k only where a cell's best affinity to "
    "the first frame's cells of k is at least this, else background (0: off).")
FEATURE_DIMS = flags.DEFINE_integer(
    "feature_dims", None, "Compare cells on the first k principal directions of the "
    "features (the export's colortrack_basis.npz; 0: the full features). Default: the "
    "model's.")
POINTER_PRECISION = flags.DEFINE_enum(
    "pointer_precision", None, ["auto", "float32", "bfloat16"], "The windowed pointer's dot "
    "products: bfloat16 is ~2.8x faster on CPUs with AVX512_BF16 or AMX; auto (the "
    "default) uses it there, float32 elsewhere.")
NETWORK_PRECISION = flags.DEFINE_enum(
    "network_precision", None, ["auto", "float32", "bfloat16"], "The networks' arithmetic "
    "(training workdirs and packed exports): bfloat16 is ~1.4x faster on CPUs with "
    "AVX512_BF16 or AMX; auto (the default) uses it there, float32 elsewhere.")
FEATURES = flags.DEFINE_enum("features", None, list(serving.FEATURES),
                             "Track with the head's embedding, the last ResNet stage or "
                             "the last two (training workdirs). Default: the model's.")

_OVERRIDES = (SCALE, MAX_SHORT_SIDE, OUTPUT_STRIDE, KEYPOINT_SIGMA, MEMORY, WINDOW, USE_FIRST,
              TEMPERATURE, TOP_K, RADIUS, HARD, COARSE_RADIUS, FINE_RADIUS, FEATURES,
              RENORMALIZE, RENORMALIZE_FLOOR, MASK_THRESHOLD,
              MIN_COMPONENT_FRACTION, GUIDED_FILTER_RADIUS, FIRST_GLOBAL, MIN_FIRST_SIMILARITY,
              FEATURE_DIMS,
              POINTER_PRECISION, NETWORK_PRECISION)


def model_path() -> str:
  """--model if given, else the --profile's model (the default profile's: the default model)."""
  if flags.FLAGS["model"].present or not PROFILE.value:
    return MODEL.value
  return pretrained.profile(PROFILE.value)[0]


def profile_settings() -> dict:
  """The --profile's settings (none when --model names another model)."""
  if PROFILE.value and not flags.FLAGS["model"].present:
    return pretrained.profile(PROFILE.value)[1]
  return {}


def flag_settings() -> dict:
  """The propagation settings given on the command line."""
  out = {flag.name: flag.value for flag in _OVERRIDES if flag.value is not None}
  for flag in (LONG_TERM, SHORT_TERM):
    if flag.value is not None:
      out[flag.name] = tuple(int(v) for v in flag.value)
  return out


def overrides() -> dict:
  """Settings for tracking masks: the --profile's, then the command line's."""
  return {**profile_settings(), **flag_settings()}


def make_tracker():
  if METHOD.value == "model" and not MODEL.value:
    raise ValueError("--method=model needs --model=SAVEDMODEL_OR_WORKDIR")
  return trackers.make_tracker(METHOD.value, model_path() or "", flag_settings(),
                               profile_settings=profile_settings())


def method_name() -> str:
  return METHOD.value


def describe(tracker) -> str:
  """"model (SavedModel PATH)" for the learned tracker, the baseline's name otherwise."""
  embedder = getattr(tracker, "embedder", None)
  return f"{tracker.name} ({embedder.description})" if embedder is not None else tracker.name
