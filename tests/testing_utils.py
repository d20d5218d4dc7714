"""Small fixtures shared by tests: tiny synthetic videos and a codebook."""

import os

import cv2
import numpy as np

from colortrack.data import codebook as codebook_lib
from colortrack.data import synthetic

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DIR = os.path.join(os.path.dirname(REPO_ROOT), "shared")
SHARED_MISSING_REASON = "needs ../shared (real data and golden files); a fresh clone has none"


def shared_path(*parts: str) -> str:
  return os.path.join(SHARED_DIR, *parts)


def has_shared() -> bool:
  return os.path.isdir(os.path.join(SHARED_DIR, "data"))


def write_tiny_videos(folder: str, num_videos: int = 2, num_frames: int = 24,
                      height: int = 48, width: int = 64) -> list:
  """mp4 files of synthetic video at 24 fps; 24 frames -> 6 frames at 6 fps."""
  paths = []
  for index in range(num_videos):
    video = synthetic.generate_video(index, num_frames=num_frames, height=height, width=width)
    path = os.path.join(folder, f"tiny_{index}.mp4")
    synthetic.write_video_file(path, video.frames, video.fps)
    paths.append(path)
  return paths


def write_frame_folder(folder: str, frames: np.ndarray) -> None:
  os.makedirs(folder, exist_ok=True)
  for t, frame in enumerate(frames):
    cv2.imwrite(os.path.join(folder, f"{t:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))


def hue_codebook(num_clusters: int = 8) -> codebook_lib.Codebook:
  """Centroids on a circle of radius 40 in the ab plane, plus the origin."""
  angles = np.linspace(0, 2 * np.pi, num_clusters - 1, endpoint=False)
  ring = 40.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
  return codebook_lib.Codebook(np.concatenate([[[0.0, 0.0]], ring]).astype(np.float32))


def make_temp_dir(name: str) -> str:
  """A fresh folder for class-level fixtures, inside pytest's temp dir for this run
  (conftest sets TEST_TMPDIR; pytest keeps the last few runs' and removes older ones)."""
  import tempfile  # pylint: disable=g-import-not-at-top
  return tempfile.mkdtemp(prefix=f"colortrack_{name}_", dir=os.environ.get("TEST_TMPDIR"))
