"""Keypoint propagation on JHMDB/BADJA: predict with a tracker, score PCK."""

import os
import time
from typing import Dict, List, Sequence

import numpy as np

from colortrack import errors
from colortrack.data import video_io
from colortrack.evaluation import keypoint_datasets
from colortrack.evaluation import pck
from colortrack.evaluation import results_record
from colortrack.utils import files
from colortrack.utils import progress as progress_lib


def prediction_path(results_dir: str, video: keypoint_datasets.KeypointVideo) -> str:
  return os.path.join(results_dir, video.name + ".npy")


def predict(videos: Sequence[keypoint_datasets.KeypointVideo], tracker, results_dir: str,
            overwrite: bool = False) -> Dict[str, float]:
  """Writes `<name>.npy` = float `[2, K, T]` (x, y, 0-based; the golden files' layout).

  Tracking starts from the first frame's GT joints. As for DAVIS, the folder's
  results record keeps the complete predictions of the same producer and
  refuses a folder of another one unless `overwrite`. Returns frames/s per
  video predicted.
  """
  names = [video.name for video in videos]
  folder = results_record.open_for_writing(
      results_dir, results_record.producer(tracker), names, overwrite,
      lambda name: os.path.exists(os.path.join(results_dir, name + ".npy")))
  progress = progress_lib.Progress("predict", sum(len(v.frame_paths) for v in videos),
                                   unit="frames")
  speeds = {}
  for video in videos:
    path = prediction_path(results_dir, video)
    if folder.is_complete(video.name) and os.path.exists(path):
      progress.skip(len(video.frame_paths), extra=f"{video.name}: prediction exists, kept")
      continue
    folder.mark_incomplete(video.name)
    start = time.monotonic()
    points = []
    for frame_points, _ in tracker.track_points(video_io.rgb_images(video.frame_paths),
                                                video.gt[0]):
      points.append(frame_points)
      progress.update(1, extra=video.name)
    speeds[video.name] = len(points) / max(time.monotonic() - start, 1e-9)
    with files.atomic_output(path) as tmp_path:
      with open(tmp_path, "wb") as f:
        np.save(f, np.transpose(np.stack(points), (2, 1, 0)))
    folder.mark_complete(video.name)
    progress.update(0, extra=f"{video.name}: done, {speeds[video.name]:.1f} frames/s")
  return speeds


def read_prediction(path: str, video: keypoint_datasets.KeypointVideo) -> np.ndarray:
  """`[T, K, 2]` from `<name>.npy`; DatasetError naming the file when it is malformed."""
  try:
    pred = np.load(path, allow_pickle=False)
  except (OSError, ValueError, EOFError) as e:
    raise keypoint_datasets.DatasetError(
        f"{path}: unreadable prediction ({errors.first_line(e)})") from e
  if pred.ndim != 3 or pred.shape[0] != 2:
    raise keypoint_datasets.DatasetError(
        f"{path}: prediction has shape {list(pred.shape)}, expected [2, K, T]")
  pred = np.transpose(pred, (2, 1, 0))
  if pred.shape != video.gt.shape:
    raise keypoint_datasets.DatasetError(
        f"{path}: prediction has shape {list(pred.shape)} (T, K, 2), GT {list(video.gt.shape)}")
  if not np.issubdtype(pred.dtype, np.number):
    raise keypoint_datasets.DatasetError(f"{path}: prediction is not numeric ({pred.dtype})")
  return pred.astype(np.float64)


def score(videos: Sequence[keypoint_datasets.KeypointVideo],
          results_dir: str) -> List[Dict[str, object]]:
  """Rows of PCK (percent) per video, then one row "all" over every video."""
  results_record.check_complete(results_dir, [video.name for video in videos])
  rows, per_video = [], []
  for video in videos:
    path = prediction_path(results_dir, video)
    if not os.path.exists(path):
      raise keypoint_datasets.DatasetError(f"{path}: prediction missing")
    pred = read_prediction(path, video)
    frames = np.flatnonzero(video.annotated)  # the first one is the given annotation
    # Only joints given in the first frame can be tracked.
    visible = video.visible[frames] & video.visible[frames[0]][None]
    if len(frames) < 2 or not visible[1:].any():
      raise keypoint_datasets.DatasetError(
          f"{video.name}: no visible joint in an annotated frame after the first (of "
          f"{len(frames)} annotated frames), so PCK cannot be computed")
    correct = pck.correct_joints(pred[frames], video.gt[frames], visible)
    per_video.append(correct)
    rows.append({"video": video.name, **{f"PCK@{a}": v for a, v in pck.pck([correct]).items()}})
  rows.append({"video": "all", **{f"PCK@{a}": v for a, v in pck.pck(per_video).items()}})
  return rows


def write_csv(rows: List[Dict[str, object]], path: str) -> None:
  import csv  # pylint: disable=g-import-not-at-top
  with files.atomic_output(path) as tmp_path:
    with open(tmp_path, "w", newline="") as f:
      writer = csv.DictWriter(f, fieldnames=list(rows[0]))
      writer.writeheader()
      for row in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})


def format_table(rows: List[Dict[str, object]]) -> str:
  columns = [c for c in rows[0] if c != "video"]
  width = max(len(str(r["video"])) for r in rows) + 2
  lines = [f"{'video':<{width}}" + "".join(f"{c:>9}" for c in columns)]
  for row in rows:
    lines.append(f"{row['video']:<{width}}" + "".join(f"{row[c]:9.2f}" for c in columns))
  return "\n".join(lines)
