"""DAVIS J (region IoU) and F (boundary F-measure), as the official DAVIS-2017 toolkit.

Semi-supervised protocol of `davis2017-evaluation` (numpy, framework-free):
  * GT object ids come from the first annotated frame (max id); 255 is void
    and counts as background (the toolkit passes no void mask to J/F here).
  * The first and the last annotated frame are excluded.
  * A prediction with fewer objects than the GT is padded with empty masks;
    more objects than the GT is an error.
  * J per frame: |P & G| / |P | G|, 1 when the union is empty.
  * F per frame: boundaries by the toolkit's seg2bmap, matched within
    ceil(0.008 x image diagonal) pixels (disk dilation); empty-boundary rules:
    none predicted but some GT -> P=1, R=0; some predicted, no GT -> P=0, R=1;
    neither -> 1.
  * Per object: Mean, Recall (fraction of frames > 0.5), Decay (mean of the
    first quarter minus mean of the last quarter of frames, 4 bins);
    J&F-Mean = (mean over objects of J-Mean + mean of F-Mean) / 2.
Reads DAVIS-2016 (0/255 single object) and DAVIS-2017 (palette) annotations.
"""

import dataclasses
import os
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from colortrack import errors
from colortrack.data import masks as masks_lib

BOUND_THRESHOLD = 0.008
GLOBAL_COLUMNS = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")


class EvaluationError(errors.UserError):
  """Results cannot be scored (missing file, wrong size, too many objects)."""


def region_similarity(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
  """J per frame: boolean `[F, H, W]` x2 -> `[F]`."""
  inters = np.sum(gt & pred, axis=(-2, -1))
  union = np.sum(gt | pred, axis=(-2, -1))
  with np.errstate(divide="ignore", invalid="ignore"):
    j = inters / union
  j[np.isclose(union, 0)] = 1
  return j


def seg2bmap(seg: np.ndarray) -> np.ndarray:
  """The toolkit's boundary map: a pixel whose right/lower/lower-right neighbour differs."""
  seg = seg.astype(bool)
  e = np.zeros_like(seg)
  s = np.zeros_like(seg)
  se = np.zeros_like(seg)
  e[:, :-1] = seg[:, 1:]
  s[:-1, :] = seg[1:, :]
  se[:-1, :-1] = seg[1:, 1:]
  b = seg ^ e | seg ^ s | seg ^ se
  b[-1, :] = seg[-1, :] ^ e[-1, :]
  b[:, -1] = seg[:, -1] ^ s[:, -1]
  b[-1, -1] = 0
  return b


def _disk(radius: int) -> np.ndarray:
  """skimage.morphology.disk: x^2 + y^2 <= r^2."""
  y, x = np.ogrid[-radius:radius + 1, -radius:radius + 1]
  return (x * x + y * y <= radius * radius).astype(np.uint8)


def boundary_f_measure(gt: np.ndarray, pred: np.ndarray,
                       bound_th: float = BOUND_THRESHOLD) -> float:
  """F for one frame: boolean `[H, W]` x2."""
  bound_pix = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(pred.shape))
  fg_boundary = seg2bmap(pred)
  gt_boundary = seg2bmap(gt)
  disk = _disk(int(bound_pix))
  fg_dil = cv2.dilate(fg_boundary.astype(np.uint8), disk)
  gt_dil = cv2.dilate(gt_boundary.astype(np.uint8), disk)
  gt_match = gt_boundary * fg_dil
  fg_match = fg_boundary * gt_dil
  n_fg = np.sum(fg_boundary)
  n_gt = np.sum(gt_boundary)
  if n_fg == 0 and n_gt > 0:
    precision, recall = 1.0, 0.0
  elif n_fg > 0 and n_gt == 0:
    precision, recall = 0.0, 1.0
  elif n_fg == 0 and n_gt == 0:
    precision, recall = 1.0, 1.0
  else:
    precision = np.sum(fg_match) / float(n_fg)
    recall = np.sum(gt_match) / float(n_gt)
  if precision + recall == 0:
    return 0.0
  return 2 * precision * recall / (precision + recall)


def statistics(per_frame: np.ndarray) -> Dict[str, float]:
  """Mean, Recall (> 0.5) and Decay over 4 bins, as the toolkit's db_statistics.

  The toolkit stores the bin edges as uint8, which wraps past 255 frames; int64
  here gives identical numbers up to 255 frames and correct ones beyond.
  """
  per_frame = np.asarray(per_frame, np.float64)
  mean = float(np.nanmean(per_frame))
  recall = float(np.nanmean(per_frame > 0.5))
  ids = (np.round(np.linspace(1, len(per_frame), 5) + 1e-10) - 1).astype(np.int64)
  bins = [per_frame[ids[i]:ids[i + 1] + 1] for i in range(4)]
  decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3]))
  return {"Mean": mean, "Recall": recall, "Decay": decay}


@dataclasses.dataclass
class ObjectScores:
  name: str  # "<sequence>_<object id>"
  j: np.ndarray  # per evaluated frame
  f: np.ndarray

  def row(self) -> Dict[str, float]:
    j, f = statistics(self.j), statistics(self.f)
    return {"J-Mean": j["Mean"], "J-Recall": j["Recall"], "J-Decay": j["Decay"],
            "F-Mean": f["Mean"], "F-Recall": f["Recall"], "F-Decay": f["Decay"]}


def score_sequence(name: str, gt_ids: np.ndarray, pred_ids: np.ndarray) -> List[ObjectScores]:
  """Scores `[F, H, W]` id maps (all annotated frames; first/last are dropped here)."""
  if len(gt_ids) < 3:
    raise EvaluationError(f"{name}: {len(gt_ids)} annotated frame(s); J and F need at least 3 "
                          "(the first and the last are not scored), so no score is given")
  gt_ids = np.where(gt_ids == masks_lib.VOID_ID, 0, gt_ids)
  num_objects = int(gt_ids[0].max())
  gt_ids, pred_ids = gt_ids[1:-1], pred_ids[1:-1]
  num_predicted = int(pred_ids.max()) if pred_ids.size else 0
  if num_predicted > num_objects:
    raise EvaluationError(f"{name}: predictions hold object id {num_predicted} but the first "
                          f"frame's annotation has only {num_objects} object(s)")
  scores = []
  for object_id in range(1, num_objects + 1):
    gt = gt_ids == object_id
    pred = pred_ids == object_id
    j = region_similarity(gt, pred)
    f = np.array([boundary_f_measure(g, p) for g, p in zip(gt, pred)])
    scores.append(ObjectScores(f"{name}_{object_id}", j, f))
  return scores


def list_sequences(davis_root: str) -> List[str]:
  """Sequence names: ImageSets/2017/val.txt, ImageSets/480p/val.txt (2016 pairs), or folders."""
  sets_2017 = os.path.join(davis_root, "ImageSets", "2017", "val.txt")
  sets_2016 = os.path.join(davis_root, "ImageSets", "480p", "val.txt")
  from colortrack.utils import files  # pylint: disable=g-import-not-at-top
  if os.path.exists(sets_2017):
    with open(sets_2017) as f:
      return [files.check_plain_name(line.strip(), sets_2017) for line in f if line.strip()]
  if os.path.exists(sets_2016):
    names = []
    with open(sets_2016) as f:
      for line in f:
        if line.strip():
          parts = line.split()[0].strip("/").split("/")
          if len(parts) < 2:
            raise EvaluationError(f"{sets_2016}: line {line.strip()!r} is not "
                                  "'/JPEGImages/480p/<sequence>/<frame>.jpg ...'")
          name = files.check_plain_name(parts[-2], sets_2016)
          if name not in names:
            names.append(name)
    return names
  annotations = os.path.join(davis_root, "Annotations", "480p")
  if not os.path.isdir(annotations):
    raise EvaluationError(f"{davis_root}: not a DAVIS folder (no ImageSets/ or Annotations/480p/)")
  return sorted(d for d in os.listdir(annotations)
                if os.path.isdir(os.path.join(annotations, d)))


def annotation_dir(davis_root: str, sequence: str) -> str:
  return os.path.join(davis_root, "Annotations", "480p", sequence)


def frame_dir(davis_root: str, sequence: str) -> str:
  return os.path.join(davis_root, "JPEGImages", "480p", sequence)


def read_id_stack(paths: Sequence[str]) -> np.ndarray:
  stack = [masks_lib.read_mask(p) for p in paths]
  shapes = {m.shape for m in stack}
  if len(shapes) > 1:
    raise EvaluationError(f"{os.path.dirname(paths[0])}: masks of different sizes {sorted(shapes)}")
  return np.stack(stack)


def load_sequence(davis_root: str, results_dir: str, sequence: str):
  """(GT ids, predicted ids), both `[F, H, W]`, over the GT's annotated frames."""
  gt_paths = masks_lib.mask_paths(annotation_dir(davis_root, sequence))
  if not gt_paths:
    raise EvaluationError(f"{annotation_dir(davis_root, sequence)}: no annotations")
  pred_paths = [os.path.join(results_dir, sequence, os.path.basename(p)) for p in gt_paths]
  missing = [p for p in pred_paths if not os.path.exists(p)]
  if missing:
    raise EvaluationError(f"{missing[0]}: prediction missing ({len(missing)} of "
                          f"{len(pred_paths)} frames of {sequence} have none)")
  gt = read_id_stack(gt_paths)
  pred = read_id_stack(pred_paths)
  if gt.shape != pred.shape:
    raise EvaluationError(f"{pred_paths[0]}: prediction is {pred.shape[2]}x{pred.shape[1]}, "
                          f"annotation is {gt.shape[2]}x{gt.shape[1]}")
  return gt, pred


@dataclasses.dataclass
class DavisResults:
  objects: List[ObjectScores]
  # Who predicted them (the folder's results record); None for unrecorded predictions.
  producer: Optional[Dict[str, object]] = None

  @property
  def method(self) -> str:
    return str(self.producer["method"]) if self.producer else "predictions"

  def per_object(self) -> List[Dict[str, object]]:
    return [{"object": o.name, **o.row()} for o in self.objects]

  def global_scores(self) -> Dict[str, float]:
    if not self.objects:
      raise EvaluationError("no object to score: the first annotation of every sequence is "
                            "empty (all background), so no J&F is given")
    rows = [o.row() for o in self.objects]
    scores = {key: float(np.mean([r[key] for r in rows])) for key in GLOBAL_COLUMNS[1:]}
    return {"J&F-Mean": (scores["J-Mean"] + scores["F-Mean"]) / 2.0, **scores}

  def per_frame_jf(self, num_bins: int = 20) -> np.ndarray:
    """(J + F) / 2 averaged over objects in `num_bins` bins of normalized time."""
    bins = np.zeros(num_bins)
    counts = np.zeros(num_bins)
    for o in self.objects:
      t = (np.arange(len(o.j)) + 0.5) / max(len(o.j), 1)
      index = np.minimum((t * num_bins).astype(int), num_bins - 1)
      np.add.at(bins, index, (o.j + o.f) / 2.0)
      np.add.at(counts, index, 1)
    return bins / np.maximum(counts, 1)


def evaluate(davis_root: str, results_dir: str,
             sequences: Optional[Sequence[str]] = None) -> DavisResults:
  """Scores the predictions in `results_dir`; a sequence marked incomplete is an error."""
  from colortrack.evaluation import results_record  # pylint: disable=g-import-not-at-top
  sequences = list(sequences or list_sequences(davis_root))
  producer = results_record.check_complete(results_dir, sequences)
  objects = []
  for sequence in sequences:
    gt, pred = load_sequence(davis_root, results_dir, sequence)
    objects.extend(score_sequence(sequence, gt, pred))
  return DavisResults(objects, producer)


# What `write_csvs` writes (the official toolkit's two files, then ours).
CSV_NAMES = ("global_results-val.csv", "per-sequence_results-val.csv",
             "per-object_results-val.csv")


def write_csvs(results: DavisResults, output_dir: str) -> Dict[str, str]:
  """The official toolkit's two files, plus every statistic per object."""
  import csv  # pylint: disable=g-import-not-at-top
  from colortrack.utils import files  # pylint: disable=g-import-not-at-top
  paths = {}
  tables = {  # CSV_NAMES
      "global_results-val.csv": (list(GLOBAL_COLUMNS), [results.global_scores()]),
      "per-sequence_results-val.csv": (
          ["Sequence", "J-Mean", "F-Mean"],
          [{"Sequence": r["object"], "J-Mean": r["J-Mean"], "F-Mean": r["F-Mean"]}
           for r in results.per_object()]),
      "per-object_results-val.csv": (["object"] + list(GLOBAL_COLUMNS[1:]),
                                     results.per_object()),
  }
  for name, (columns, rows) in tables.items():
    path = os.path.join(output_dir, name)
    with files.atomic_output(path) as tmp_path:
      with open(tmp_path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
          writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v)
                           for k, v in row.items()})
    paths[name] = path
  return paths


def format_table(results: DavisResults) -> str:
  scores = results.global_scores()
  lines = ["  ".join(f"{c:>9}" for c in GLOBAL_COLUMNS),
           "  ".join(f"{scores[c]:9.3f}" for c in GLOBAL_COLUMNS), "",
           f"{'object':<24}{'J-Mean':>9}{'F-Mean':>9}"]
  for row in results.per_object():
    lines.append(f"{row['object']:<24}{row['J-Mean']:9.3f}{row['F-Mean']:9.3f}")
  return "\n".join(lines)


def check_sequences(davis_root: str, sequences: Sequence[str], need_frames: bool = True) -> None:
  """One line naming the first sequence without frames (if needed) or annotations."""
  from colortrack.utils import files  # pylint: disable=g-import-not-at-top
  if not sequences:
    raise EvaluationError(f"{davis_root}: no sequences to evaluate")
  for sequence in sequences:
    files.check_plain_name(sequence, "--sequences")
    frames = frame_dir(davis_root, sequence)
    annotations = annotation_dir(davis_root, sequence)
    if need_frames and not os.path.isdir(frames):
      raise EvaluationError(f"{frames}: no such sequence (frames folder missing)")
    if not os.path.isdir(annotations) or not masks_lib.mask_paths(annotations):
      raise EvaluationError(f"{annotations}: no annotations (*.png) for sequence {sequence}")
    if need_frames:  # an annotated frame must exist: name the missing input, not an output
      from colortrack.data import video_io  # pylint: disable=g-import-not-at-top
      frame_paths = video_io.list_frame_files(frames)[0]
      stems = {os.path.splitext(os.path.basename(p))[0] for p in frame_paths}
      size = _image_size(frame_paths[0]) if frame_paths else None
      for path in masks_lib.mask_paths(annotations):
        stem = os.path.splitext(os.path.basename(path))[0]
        if stem not in stems:
          raise EvaluationError(f"{os.path.join(frames, stem)}.jpg: frame missing (annotated "
                                f"in {path})")
        if _image_size(path) != size:
          raise EvaluationError(f"{path}: annotation is {'x'.join(map(str, _image_size(path)))}"
                                f", the frames of {sequence} are {'x'.join(map(str, size))}")


def _image_size(path: str):
  """(width, height) from the image's header (no decoding)."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  try:
    with Image.open(path) as image:
      return image.size
  except OSError as e:
    raise EvaluationError(f"{path}: unreadable image ({errors.first_line(e)})") from e


def has_predictions(results_dir: str, sequence: str) -> bool:
  folder = os.path.join(results_dir, sequence)
  return os.path.isdir(folder) and bool(masks_lib.mask_paths(folder))


def predict(davis_root: str, results_dir: str, tracker, sequences: Sequence[str],
            overwrite: bool = False, log_fn=None) -> Dict[str, float]:
  """Writes palette PNG predictions per sequence; returns frames/s per sequence.

  The folder's record (`results_record`) says who wrote it and which sequences
  are complete: a complete sequence of the same producer is kept (a killed run
  resumes), an incomplete one is predicted again, and a folder of another
  producer is refused unless `overwrite`. Each PNG is written atomically.
  """
  import time  # pylint: disable=g-import-not-at-top
  from colortrack.data import video_io  # pylint: disable=g-import-not-at-top
  from colortrack.evaluation import results_record  # pylint: disable=g-import-not-at-top
  from colortrack.utils import progress as progress_lib  # pylint: disable=g-import-not-at-top
  from colortrack.utils import files  # pylint: disable=g-import-not-at-top
  files.check_not_inside(results_dir, [davis_root], "results folder")
  check_sequences(davis_root, sequences)
  folder = results_record.open_for_writing(
      results_dir, results_record.producer(tracker), sequences, overwrite,
      lambda sequence: has_predictions(results_dir, sequence))
  frame_files = {s: video_io.list_frame_files(frame_dir(davis_root, s))[0] for s in sequences}
  frame_counts = {s: len(names) for s, names in frame_files.items()}
  progress = progress_lib.Progress("predict", sum(frame_counts.values()), unit="frames",
                                   **({"log_fn": log_fn} if log_fn else {}))
  speeds = {}
  for sequence in sequences:
    if folder.is_complete(sequence):
      progress.skip(frame_counts[sequence], extra=f"{sequence}: predictions exist, kept")
      continue
    folder.mark_incomplete(sequence)
    out_dir = os.path.join(results_dir, sequence)
    gt_paths = masks_lib.mask_paths(annotation_dir(davis_root, sequence))
    # Predictions are named after their frames (as the annotations are), so 1-based or
    # sparse annotations are scored against the frames they belong to.
    stems = [os.path.splitext(os.path.basename(p))[0] for p in frame_files[sequence]]
    first_stem = os.path.splitext(os.path.basename(gt_paths[0]))[0]
    if not stems or first_stem != stems[0]:
      raise EvaluationError(
          f"{gt_paths[0]}: the first annotation is not of the first frame "
          f"({stems[0] + '.*' if stems else 'no frames'} in {frame_dir(davis_root, sequence)}); "
          "tracking starts from the first frame's annotation")
    first_ids = masks_lib.read_mask(gt_paths[0])
    source = video_io.source_from_path(frame_dir(davis_root, sequence))
    start = time.monotonic()
    written = 0
    for index, ids in enumerate(tracker.track_masks(video_io.rgb_frames(source), first_ids)):
      masks_lib.write_mask(os.path.join(out_dir, f"{stems[index]}.png"), ids)
      written += 1
      progress.update(1, extra=sequence)
    speeds[sequence] = written / max(time.monotonic() - start, 1e-9)
    folder.mark_complete(sequence)
    # Every 10 s, as frames are; a sequence's own rate shows when it ends at such a time.
    progress.update(0, extra=f"{sequence}: done, {speeds[sequence]:.1f} frames/s")
  return speeds
