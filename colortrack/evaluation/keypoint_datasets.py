"""Keypoint datasets for evaluation: JHMDB and BADJA, as lists of videos with GT.

Coordinates are 0-based pixels, pixel (col c, row r) centred at (c, r).
"""

import dataclasses
import glob
import json
import os
from typing import List

import numpy as np

from colortrack import errors
from colortrack.data import video_io
from colortrack.utils import files


class DatasetError(errors.UserError):
  """A dataset folder or annotation file is not in the expected layout."""


@dataclasses.dataclass
class KeypointVideo:
  name: str  # "<class>/<video>" (JHMDB) or "<sequence>" (BADJA)
  frame_paths: List[str]  # the frames to track through, first = annotated
  gt: np.ndarray  # [T, K, 2] x, y
  visible: np.ndarray  # [T, K] bool: joint annotated and visible in that frame
  annotated: np.ndarray  # [T] bool: frames that carry an annotation


def is_badja(root: str) -> bool:
  return os.path.isdir(os.path.join(root, "joint_annotations"))


def jhmdb_videos(root: str, split: int = 1) -> List[KeypointVideo]:
  """Test videos of split `split` (lines '<video>.avi 2' in splits/<class>_test_split<n>.txt)."""
  import scipy.io  # pylint: disable=g-import-not-at-top
  split_files = sorted(glob.glob(os.path.join(root, "splits", f"*_test_split{split}.txt")))
  if not split_files:
    raise DatasetError(f"{root}: no splits/*_test_split{split}.txt (not a JHMDB folder?)")
  videos = []
  for split_file in split_files:
    action = os.path.basename(split_file)[:-len(f"_test_split{split}.txt")]
    with open(split_file) as f:
      entries = [line.split() for line in f if line.strip()]
    for entry in entries:
      if len(entry) != 2 or entry[1] != "2":
        continue
      video = os.path.splitext(entry[0])[0]
      files.check_plain_name(action, split_file)
      files.check_plain_name(video, split_file)
      frame_dir = os.path.join(root, "Rename_Images", action, video)
      mat_path = os.path.join(root, "joint_positions", action, video, "joint_positions.mat")
      if not os.path.isdir(frame_dir) or not os.path.exists(mat_path):
        raise DatasetError(f"{mat_path}: missing frames or joints for {action}/{video}")
      try:
        pos_img = np.asarray(scipy.io.loadmat(mat_path)["pos_img"], np.float64)
      except Exception as e:  # pylint: disable=broad-except
        # scipy raises many types for a damaged file (MatReadError, TypeError, ...).
        raise DatasetError(f"{mat_path}: cannot read pos_img ({errors.first_line(e)})") from e
      if pos_img.ndim != 3 or pos_img.shape[0] != 2 or not np.all(np.isfinite(pos_img)):
        raise DatasetError(f"{mat_path}: pos_img must be finite [2, joints, frames], got "
                           f"shape {list(pos_img.shape)}")  # [2, 15, T], MATLAB 1-based
      frame_paths, _ = video_io.list_frame_files(frame_dir)
      gt = np.transpose(pos_img, (2, 1, 0)).astype(np.float64) - 1.0
      # Frame n (1-based, its file name) has the joints of pos_img[..., n - 1]: matched by
      # number, so a missing frame never shifts the ground truth against the frames.
      numbers = []
      for path in frame_paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        if not stem.isdigit():
          raise DatasetError(f"{path}: JHMDB frames are numbered 00001.png, ...")
        numbers.append(int(stem))
      kept = [i for i, n in enumerate(numbers) if 1 <= n <= len(gt)]
      if not kept:
        raise DatasetError(f"{frame_dir}: no frame numbered 1..{len(gt)} (the joints' frames)")
      if numbers[kept[0]] != 1:
        raise DatasetError(f"{frame_dir}: frame 00001 (the annotated start) is missing")
      gt = gt[[numbers[i] - 1 for i in kept]]
      videos.append(KeypointVideo(f"{action}/{video}", [frame_paths[i] for i in kept], gt,
                                  np.ones(gt.shape[:2], bool), np.ones(len(kept), bool)))
  return videos


def badja_videos(root: str, frame_height: int = 480) -> List[KeypointVideo]:
  """BADJA joints (row, col at 1080p) on the 480p DAVIS frames of `root/DAVIS`."""
  scale = frame_height / 1080.0
  videos = []
  for json_path in sorted(glob.glob(os.path.join(root, "joint_annotations", "*.json"))):
    sequence = os.path.splitext(os.path.basename(json_path))[0]
    try:
      with open(json_path) as f:
        entries = json.load(f)
      by_frame = {os.path.basename(e["image_path"]): e for e in entries}
    except (OSError, ValueError, KeyError, TypeError) as e:
      raise DatasetError(f"{json_path}: not a BADJA joint file ({errors.first_line(e)})") from e
    if not entries:
      raise DatasetError(f"{json_path}: no annotated frames")
    frame_dir = os.path.join(root, "DAVIS", "JPEGImages", f"{frame_height}p", sequence)
    if not os.path.isdir(frame_dir):
      raise DatasetError(f"{frame_dir}: frames of {sequence} not found")
    frame_paths, _ = video_io.list_frame_files(frame_dir)
    names = [os.path.basename(p) for p in frame_paths]
    annotated_names = sorted(n for n in by_frame if n in names)
    if not annotated_names:
      raise DatasetError(f"{json_path}: no annotated frame matches a frame in {frame_dir}")
    start = names.index(annotated_names[0])
    frame_paths, names = frame_paths[start:], names[start:]
    num_joints = len(by_frame[annotated_names[0]].get("joints") or [])
    gt = np.zeros((len(names), num_joints, 2))
    visible = np.zeros((len(names), num_joints), bool)
    annotated = np.zeros(len(names), bool)
    for t, name in enumerate(names):
      if name in by_frame:
        joints, flags = _badja_frame(json_path, by_frame[name], num_joints)
        gt[t] = joints[:, ::-1] * scale  # (row, col) at 1080p -> (x, y) at frame_height
        # A joint without finite coordinates is not annotated in that frame (not a miss).
        visible[t] = flags & np.all(np.isfinite(joints), axis=1)
        annotated[t] = True
    if not np.all(np.isfinite(gt[0])):
      joint = int(np.flatnonzero(~np.all(np.isfinite(gt[0]), axis=1))[0])
      raise DatasetError(f"{json_path}: joint {joint} of the first annotated frame ({names[0]}) "
                         "is not a finite number; tracking starts from that frame")
    gt[~np.isfinite(gt)] = 0.0  # later frames: those joints are not annotated (visible False)
    videos.append(KeypointVideo(sequence, frame_paths, gt, visible, annotated))
  if not videos:
    raise DatasetError(f"{root}: no joint_annotations/*.json")
  return videos


def _badja_frame(json_path: str, entry, num_joints: int):
  """(joints `[K, 2]` row, col; visibility `[K]` bool) of one BADJA entry, checked."""
  name = os.path.basename(str(entry.get("image_path", "?")))
  if "visibility" not in entry or "joints" not in entry:
    raise DatasetError(f"{json_path}: frame {name} has no "
                       f"{'visibility' if 'joints' in entry else 'joints'} key")
  try:
    joints = np.asarray(entry["joints"], np.float64).reshape(-1, 2)
    flags = np.asarray(entry["visibility"], np.float64).reshape(-1) > 0
  except (TypeError, ValueError) as e:
    raise DatasetError(f"{json_path}: frame {name}: joints must be [K, 2] numbers "
                       f"({errors.first_line(e)})") from e
  if len(joints) != num_joints or len(flags) != num_joints or num_joints == 0:
    raise DatasetError(f"{json_path}: frame {name} has {len(joints)} joints and "
                       f"{len(flags)} visibility flags, the first annotated frame "
                       f"{num_joints}")
  return joints, flags & np.all(np.isfinite(joints), axis=1)


def load_videos(root: str) -> List[KeypointVideo]:
  return badja_videos(root) if is_badja(root) else jhmdb_videos(root)
