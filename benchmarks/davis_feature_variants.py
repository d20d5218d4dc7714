r"""DAVIS dev J&F of tracking-feature variants that are not tracker options (ablations).

Example (one full dev-set run, about 2 minutes at stride 8 here):
  python -m benchmarks.davis_feature_variants --workdir=/work/runs/shipped_vondrick \
      --davis_root=../shared/data/davis2016 --variant=flip --results_dir=/tmp/davis_flip

Tracks the DAVIS sequences with a training workdir's weights and the window
pointer (its test-time settings; --radius etc. override them), with frame
features the tracker options do not offer, and prints J&F. Variants
(every feature vector L2-normalized; "+" concatenates):
  stage4            the last ResNet stage (= --features=encoder)
  stages34          stages 3 and 4 (= --features=encoder_stages34)
  stage4+embedding  the last stage and the head's embedding
  stage4+stage3+stage2
  stage4+0.7stage3  stage 3 weighted 0.7 (--features=encoder_stages34 weights it 1)
  flip              stage 4 averaged with stage 4 of the mirrored frame (test-time
                    augmentation)
--ensemble_workdirs=W1,W2 adds more networks' features (the same variant of each
one's weights, seeing frames as its method does; an ensemble as train.export
--ensemble_workdirs makes).
--guided_radius=R additionally smooths each soft mask with a guided filter (He
et al.; the gray frame as guide, radius R pixels, --guided_eps) before argmax.
None of the variants helped on the dev set (BENCHMARKS.md, "Round 4"); ensembles
did ("Round 6"). The script keeps those rows reproducible.
"""

import itertools
import time

import cv2
import numpy as np
import tensorflow as tf
from absl import flags

from colortrack.cli import app as cli_app  # first: keeps TensorFlow's load banners quiet
from colortrack import serving  # pylint: disable=g-bad-import-order
from colortrack.evaluation import davis
from colortrack.inference import embedder as embedder_lib
from colortrack.inference import grid as grid_lib
from colortrack.inference import labels as labels_lib
from colortrack.inference import pointer
from colortrack.inference import trackers
from colortrack.training import trainer

VARIANTS = ("stage4", "stages34", "stage4+embedding", "stage4+stage3+stage2", "stage4+0.7stage3",
            "flip")
_WORKDIR = flags.DEFINE_string("workdir", None, "Training workdir.")
_DAVIS_ROOT = flags.DEFINE_string("davis_root", None, "DAVIS folder.")
_RESULTS_DIR = flags.DEFINE_string("results_dir", None, "Where predictions and scores go.")
_SEQUENCES = flags.DEFINE_list("sequences", [], "Sequences (default: ImageSets val).")
_VARIANT = flags.DEFINE_enum("variant", "stage4", VARIANTS, "Frame features.")
_OUTPUT_STRIDE = flags.DEFINE_integer("output_stride", 0, "Encoder stride (0: as trained).")
_ENSEMBLE_WORKDIRS = flags.DEFINE_list("ensemble_workdirs", [], "More training workdirs whose "
                                       "features (same variant) are concatenated.")
_RADIUS = flags.DEFINE_integer("radius", None, "Local search radius (default: the workdir's).")
_INFERENCE = flags.DEFINE_list("inference", [], "KEY=VALUE test-time settings replacing the "
                               "workdir's (as train.export --inference), e.g. top_k=20.")
_GUIDED_RADIUS = flags.DEFINE_integer("guided_radius", 0, "Guided filter radius, pixels "
                                      "(0: off).")
_GUIDED_EPS = flags.DEFINE_float("guided_eps", 1e-2, "Guided filter regularization.")
flags.mark_flags_as_required(["workdir", "davis_root", "results_dir"])


def _unit(x):
  return x / tf.sqrt(tf.reduce_sum(x * x, axis=-1, keepdims=True) + 1e-12)


def variant_features(workdir: str, variant: str, output_stride: int):
  """(features fn: uint8 frames -> L2-normalized features, config, model)."""
  config = trainer.load_config(workdir)
  model = trainer.restore_model(workdir, None, output_stride or None)
  module = serving.make_module(model, config, "encoder")

  def features(frames):
    x = module.model_input(frames)
    stages = model.encoder(x, training=False)
    parts = [_unit(stages["stage4"])]
    if variant == "stage4+embedding":
      parts.append(_unit(model(x[:, None], training=False)[:, 0]))
    elif variant == "stages34":
      parts.append(_unit(stages["stage3"]))
    elif variant == "stage4+stage3+stage2":
      parts += [_unit(stages["stage3"]), _unit(stages["stage2"])]
    elif variant == "stage4+0.7stage3":
      parts.append(0.7 * _unit(stages["stage3"]))
    elif variant == "flip":
      mirrored = _unit(model.encoder(x[:, :, ::-1], training=False)["stage4"])[:, :, ::-1]
      parts = [parts[0] + mirrored]
    return _unit(tf.concat(parts, axis=-1))

  return features, config, model


def variant_embedder(workdir: str, variant: str, output_stride: int,
                     ensemble_workdirs=()) -> embedder_lib.Embedder:
  features, config, model = variant_features(workdir, variant, output_stride)
  members = [features]
  for other in ensemble_workdirs:
    other_features, _, other_model = variant_features(other, variant, output_stride)
    if other_model.output_stride != model.output_stride:
      raise ValueError(f"{other} runs at stride {other_model.output_stride}, "
                       f"{workdir} at {model.output_stride}")
    members.append(other_features)
  described = " + ".join(f"{variant} of {w}" for w in [workdir, *ensemble_workdirs])

  @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
  def embed(frames):
    return _unit(tf.concat([f(frames) for f in members], axis=-1))

  return embedder_lib.Embedder(embed, model.output_stride, described, config,
                               workdir, f"{described}, output stride {model.output_stride}")


def guided_filter(guide: np.ndarray, image: np.ndarray, radius: int, eps: float) -> np.ndarray:
  """He et al.'s guided filter of `image` `[H, W]` with gray `guide` `[H, W]` in [0, 1]."""
  def box(x):
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1))
  mean_guide, mean_image = box(guide), box(image)
  variance = box(guide * guide) - mean_guide * mean_guide
  a = (box(guide * image) - mean_guide * mean_image) / (variance + eps)
  b = mean_image - a * mean_guide
  return box(a) * guide + box(b)


class GuidedMaskTracker:
  """The pointer's soft masks, smoothed by a guided filter at the frame's size, then argmax."""

  name = "model"

  def __init__(self, tracker: pointer.PointerTracker, radius: int, eps: float):
    self.tracker, self.radius, self.eps = tracker, radius, eps
    self.embedder = tracker.embedder  # results records name the model and these settings
    self.settings = dict(tracker.settings, guided_radius=radius, guided_eps=eps)

  def track_masks(self, frames, first_ids):
    tracker = self.tracker
    object_ids = labels_lib.first_mask_objects(first_ids)
    size = tracker.processing_size(*first_ids.shape)
    if size != first_ids.shape:
      raise ValueError("guided filtering is measured at the frames' own size only")
    first = labels_lib.ids_to_onehot(first_ids, object_ids)
    frames, guides = itertools.tee(frames)
    stream = tracker.propagate_grid(
        frames, lambda h, w: grid_lib.pixels_to_grid(first, tracker.stride),
        renormalize=tracker.config.renormalize, gate=True)
    for index, (grid_labels, frame) in enumerate(zip(stream, guides)):
      if index == 0:
        yield first_ids
        continue
      soft = grid_lib.grid_to_pixels(grid_labels, tracker.stride, *size).astype(np.float32)
      guide = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
      soft = np.stack([guided_filter(guide, soft[..., c], self.radius, self.eps)
                       for c in range(soft.shape[-1])], axis=-1)
      yield labels_lib.onehot_to_ids(soft, object_ids)


def main(argv):
  del argv
  embedder = variant_embedder(_WORKDIR.value, _VARIANT.value, _OUTPUT_STRIDE.value,
                              _ENSEMBLE_WORKDIRS.value)
  overrides = {} if _RADIUS.value is None else {"radius": _RADIUS.value}
  config = serving.with_inference_defaults(embedder.config, _INFERENCE.value)
  tracker = trackers.learned_tracker(embedder, trackers.settings(config, overrides))
  if _GUIDED_RADIUS.value:
    tracker = GuidedMaskTracker(tracker, _GUIDED_RADIUS.value, _GUIDED_EPS.value)
  sequences = _SEQUENCES.value or davis.list_sequences(_DAVIS_ROOT.value)
  start = time.time()
  davis.predict(_DAVIS_ROOT.value, _RESULTS_DIR.value, tracker, sequences)
  results = davis.evaluate(_DAVIS_ROOT.value, _RESULTS_DIR.value, sequences)
  davis.write_csvs(results, _RESULTS_DIR.value)
  print(davis.format_table(results))
  print(f"{_VARIANT.value} (guided radius {_GUIDED_RADIUS.value}): J&F-Mean "
        f"{results.global_scores()['J&F-Mean']:.4f} in {time.time() - start:.0f} s")


if __name__ == "__main__":
  cli_app.run(main)
