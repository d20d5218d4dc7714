r"""DAVIS J&F of one tracking run's soft masks decided several ways (edges, threshold, pieces).

Example (the default model, about 4 minutes of tracking, then about 40 s per row):
  python -m benchmarks.mask_decisions --davis_root=../shared/data/davis2016 \
      --guided_filter_radii=0,4,8 \
      --mask_thresholds=0.35,0.4,0.45,0.5 --min_component_fractions=0,0.1,0.2,0.3

Tracks every sequence once with the chosen tracker (the tracking flags: --model,
--profile, --radius, ...), keeps its soft masks and frames, and scores each row of
--guided_filter_radii x --mask_thresholds x --min_component_fractions as
`eval.davis --guided_filter_radius=R --mask_threshold=T --min_component_fraction=K`
would (the three only decide the masks returned: the memory is the same), with the
official J and F. No --guided_filter_radii: the tracker's own radius. Prints one row
each: J&F, J, F over all sequences, and J&F over the first --tune_sequences and over the
rest (settings are picked on the first part; the rest reports them untouched).
"""

import itertools

import numpy as np
from absl import flags

from colortrack.cli import app as cli_app  # first: keeps TensorFlow's load banners quiet
from colortrack.cli import tracking_flags as flags_common  # pylint: disable=g-bad-import-order
from colortrack.data import masks as masks_lib
from colortrack.data import video_io
from colortrack.evaluation import davis
from colortrack.inference import labels as labels_lib
from colortrack.inference import trackers
from colortrack.utils import progress as progress_lib

flags.adopt_module_key_flags(flags_common)
_DAVIS_ROOT = flags.DEFINE_string("davis_root", None, "DAVIS folder.")
_SEQUENCES = flags.DEFINE_list("sequences", [], "Sequences (default: ImageSets val).")
_THRESHOLDS = flags.DEFINE_list("mask_thresholds", ["0.5"], "Values of --mask_threshold.")
_FRACTIONS = flags.DEFINE_list("min_component_fractions", ["0"],
                               "Values of --min_component_fraction.")
_RADII = flags.DEFINE_list("guided_filter_radii", [], "Values of --guided_filter_radius "
                           "(default: the tracker's).")
_TUNE = flags.DEFINE_integer("tune_sequences", 5, "J&F is also given over the first this many "
                             "sequences (where settings are picked) and over the rest.")
flags.mark_flags_as_required(["davis_root"])


def _jf(objects) -> str:
  return f"{davis.DavisResults(objects).global_scores()['J&F-Mean']:.4f}" if objects else "-"


def main(argv):
  del argv
  sequences = _SEQUENCES.value or davis.list_sequences(_DAVIS_ROOT.value)
  davis.check_sequences(_DAVIS_ROOT.value, sequences)
  tracker = flags_common.make_tracker()
  if not hasattr(tracker, "soft_masks"):
    raise SystemExit(f"{flags_common.describe(tracker)}: no soft masks to decide (a baseline)")
  radii = [int(r) for r in _RADII.value] or [tracker.config.guided_filter_radius]
  thresholds = [float(t) for t in _THRESHOLDS.value]
  fractions = [float(k) for k in _FRACTIONS.value]
  rows = list(itertools.product(radii, thresholds, fractions))
  for radius, threshold, fraction in rows:  # one line naming a value that cannot work
    trackers.settings(None, {"guided_filter_radius": radius, "mask_threshold": threshold,
                             "min_component_fraction": fraction})
  print(f"# {flags_common.describe(tracker)}; tuning part: {', '.join(sequences[:_TUNE.value])}")
  objects = {row: [] for row in rows}
  progress = progress_lib.Progress("track and score", len(sequences), unit="sequences")
  for sequence in sequences:
    gt = davis.read_id_stack(masks_lib.mask_paths(davis.annotation_dir(_DAVIS_ROOT.value,
                                                                       sequence)))
    object_ids = labels_lib.first_mask_objects(gt[0])
    source = video_io.source_from_path(davis.frame_dir(_DAVIS_ROOT.value, sequence))
    frames = list(video_io.rgb_frames(source))
    soft = list(tracker.soft_masks(iter(frames), gt[0]))[1:]
    if len(soft) + 1 != len(gt):
      raise SystemExit(f"{sequence}: {len(soft) + 1} frames, {len(gt)} annotations (this "
                       "benchmark needs every frame annotated, as DAVIS-2016 has)")
    for radius, threshold in itertools.product(radii, thresholds):
      # Filtered, upsampled and thresholded once; each fraction then drops pieces, as
      # decode_masks does last.
      kept_all = [tracker.decode_masks(s, *gt.shape[1:], object_ids, threshold, 0.0,
                                       frame=frame, guided_filter_radius=radius)
                  for s, frame in zip(soft, frames[1:])]
      for fraction in fractions:
        predicted = np.stack([gt[0]] + [labels_lib.drop_small_components(ids, object_ids, fraction)
                                        for ids in kept_all])
        objects[(radius, threshold, fraction)].append(
            davis.score_sequence(sequence, gt, predicted))
    progress.update(1, extra=sequence)
  tune = _TUNE.value
  print("| guided_filter_radius | mask_threshold | min_component_fraction | J&F | J | F | "
        f"J&F first {tune} | J&F the other {len(sequences) - tune} |")
  print("|---|---|---|---|---|---|---|---|")
  for row in rows:
    every = [o for per_sequence in objects[row] for o in per_sequence]
    first = [o for per_sequence in objects[row][:tune] for o in per_sequence]
    rest = [o for per_sequence in objects[row][tune:] for o in per_sequence]
    scores = davis.DavisResults(every).global_scores()
    print(f"| {row[0]} | {row[1]} | {row[2]} | {scores['J&F-Mean']:.4f} | "
          f"{scores['J-Mean']:.4f} | {scores['F-Mean']:.4f} | {_jf(first)} | {_jf(rest)} |")


if __name__ == "__main__":
  cli_app.run(main)
