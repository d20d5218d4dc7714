"""Finding videos on disk and decoding them with OpenCV, resampled to a target fps.

A *source* is either a video file (mp4, avi, webm, ...; Kinetics style) or a
folder of frame images (jpg/png; YouTube-VOS and DAVIS style). Frames come out
as uint8 RGB `[H, W, 3]`, streamed one at a time so long videos never sit in RAM.
"""

import dataclasses
import glob
import logging
import os
from typing import Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from colortrack import errors
from colortrack.utils import files

VIDEO_EXTENSIONS = (".mp4", ".avi", ".webm", ".mkv", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class VideoReadError(errors.UserError):
  """A source cannot be used; the message says why (the caller names the file)."""


@dataclasses.dataclass(frozen=True)
class VideoSource:
  path: str
  is_frame_folder: bool

  @property
  def name(self) -> str:
    return os.path.basename(os.path.normpath(self.path))


@dataclasses.dataclass(frozen=True)
class Frame:
  index: int  # index of this frame in the source, before resampling
  rgb: np.ndarray  # uint8 [H, W, 3]


def _has_ext(path: str, extensions: Sequence[str]) -> bool:
  return path.lower().endswith(tuple(extensions))


def _is_hidden(name: str) -> bool:
  return name.startswith(".")


def list_frame_files(folder: str) -> Tuple[List[str], List[str]]:
  """(sorted image files, other non-hidden files) directly inside `folder`."""
  images, others = [], []
  for name in sorted(os.listdir(folder)):
    path = os.path.join(folder, name)
    if _is_hidden(name) or not os.path.isfile(path):
      continue
    (images if _has_ext(name, IMAGE_EXTENSIONS) else others).append(path)
  return images, others


def find_sources(input_spec: str, listing: Optional[str] = None) -> List[VideoSource]:
  """Sources under a comma-separated list of folders, files or glob patterns.

  A folder that directly holds images is one frame-folder source; otherwise its
  video files are sources and its sub-folders are searched (Kinetics keeps one
  folder per class). The order is sorted by path, so it is the same on every
  machine; sharding relies on that.

  `listing`: a file that keeps the list. The first task of a job array to get here
  walks the input tree and writes it (atomically); every other task, and a rerun,
  reads it instead of walking hundreds of thousands of files again. A listing of
  another `input_spec` is refused.
  """
  if listing:
    return _listed_sources(input_spec, listing)
  sources = {}

  def visit(path: str) -> None:
    if os.path.isfile(path):
      if _has_ext(path, VIDEO_EXTENSIONS):
        sources[path] = VideoSource(path, is_frame_folder=False)
      elif not _has_ext(path, IMAGE_EXTENSIONS):
        logging.warning("%s: not a video file (extension not in %s); skipped",
                        path, ", ".join(VIDEO_EXTENSIONS))
      return
    if not os.path.isdir(path):
      return
    images, others = list_frame_files(path)
    if images:
      sources[path] = VideoSource(path, is_frame_folder=True)
      return
    for other in others:
      visit(other)
    for name in sorted(os.listdir(path)):
      sub = os.path.join(path, name)
      if not _is_hidden(name) and os.path.isdir(sub):
        visit(sub)

  for part in [p.strip() for p in input_spec.split(",") if p.strip()]:
    matches = sorted(glob.glob(part)) if glob.has_magic(part) else [part]
    if not matches or not any(os.path.exists(m) for m in matches):
      logging.warning("%s: no such file or folder; skipped", part)
    for match in matches:
      visit(match)
  return [sources[k] for k in sorted(sources)]


def _listed_sources(input_spec: str, listing: str) -> List[VideoSource]:
  if os.path.exists(listing):
    try:
      payload = files.read_json(listing)
      listed_input = payload["input"]
      sources = [VideoSource(path, bool(folder)) for path, folder in payload["sources"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
      raise VideoReadError(f"{listing}: not a colortrack listing ({e})") from e
    if listed_input != input_spec:
      raise VideoReadError(f"{listing}: lists the sources of --input={listed_input}, not "
                           f"{input_spec}; give another --listing file")
    logging.info("%s: %d sources (listed earlier)", listing, len(sources))
    return sources
  sources = find_sources(input_spec)
  files.write_json_atomic(listing, {"input": input_spec, "sources": [
      [s.path, s.is_frame_folder] for s in sources]})
  logging.info("%s: listed %d sources", listing, len(sources))
  return sources


def input_paths(input_spec: str) -> List[str]:
  """The existing files and folders that a comma-separated input spec names (globs expanded):
  what a binary reads, so that none of its outputs goes inside them."""
  paths = []
  for part in [p.strip() for p in input_spec.split(",") if p.strip()]:
    paths += sorted(glob.glob(part)) if glob.has_magic(part) else [part]
  return [p for p in paths if os.path.exists(p)]


def resample_keep(source_index: int, source_fps: float, target_fps: float) -> bool:
  """True when frame `source_index` starts a new slot of the target frame rate.

  Slot n covers source times [n / target_fps, (n + 1) / target_fps); the first
  source frame in each slot is kept. With target_fps >= source_fps every frame
  is kept (no frames are invented).
  """
  if target_fps <= 0 or target_fps >= source_fps:
    return True
  ratio = target_fps / source_fps
  if source_index == 0:
    return True
  # Small epsilon so exact multiples (30 -> 6 fps keeps 0, 5, 10...) are stable.
  return int(np.floor(source_index * ratio + 1e-9)) > int(
      np.floor((source_index - 1) * ratio + 1e-9))


def _check_frame_folder(folder: str, images: List[str]) -> None:
  """Raises VideoReadError for unreadable headers or mixed resolutions."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  first_size = None
  for path in images:
    try:
      with Image.open(path) as im:
        size = im.size
    except (OSError, ValueError) as e:
      raise VideoReadError(f"unreadable image {os.path.basename(path)} ({e})") from e
    if first_size is None:
      first_size, first_name = size, os.path.basename(path)
    elif size != first_size:
      raise VideoReadError(
          f"mixed resolutions: {first_name} is {first_size[0]}x{first_size[1]} but "
          f"{os.path.basename(path)} is {size[0]}x{size[1]}")


class FrameReader:
  """Iterates the frames of `source` resampled to `target_fps` (0 keeps all).

  Skipped frames of a video file are only grabbed, not converted, which is most
  of the cost saved by resampling. Iteration raises VideoReadError for a source
  that cannot be opened, has no decodable frame, or (frame folders) has
  unreadable images or mixed resolutions; non-image files in a frame folder are
  reported and ignored. `frames_decoded` / `frames_kept` count source frames
  read and frames yielded so far; `source_fps` is known once iteration started.
  """

  def __init__(self, source: VideoSource, target_fps: float = 0.0,
               frame_folder_fps: float = 24.0):
    self.source = source
    self.target_fps = target_fps
    self.frame_folder_fps = frame_folder_fps
    self.frames_decoded = 0
    self.frames_kept = 0
    self.source_fps = frame_folder_fps if source.is_frame_folder else 0.0

  def __iter__(self) -> Iterator[Frame]:
    frames = self._folder_frames() if self.source.is_frame_folder else self._video_frames()
    for frame in frames:
      self.frames_kept += 1
      yield frame

  def _folder_frames(self) -> Iterator[Frame]:
    images, others = list_frame_files(self.source.path)
    if others:
      logging.warning("%s: ignoring %d non-image file(s) in frame folder, e.g. %s",
                      self.source.path, len(others), os.path.basename(others[0]))
    if not images:
      raise VideoReadError("frame folder holds no images")
    _check_frame_folder(self.source.path, images)
    for index, path in enumerate(images):
      self.frames_decoded = index + 1
      if not resample_keep(index, self.frame_folder_fps, self.target_fps):
        continue
      bgr = cv2.imread(path, cv2.IMREAD_COLOR)
      if bgr is None:
        raise VideoReadError(f"unreadable image {os.path.basename(path)}")
      yield Frame(index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

  def _video_frames(self) -> Iterator[Frame]:
    capture = cv2.VideoCapture(self.source.path)
    if not capture.isOpened():
      raise VideoReadError("cannot open video (unreadable, corrupt or unsupported codec)")
    try:
      source_fps = capture.get(cv2.CAP_PROP_FPS)
      if not np.isfinite(source_fps) or source_fps <= 0 or source_fps > 1000:
        logging.warning("%s: video reports no valid frame rate (%s); assuming 30 fps",
                        self.source.path, source_fps)
        source_fps = 30.0
      self.source_fps = source_fps
      index = 0
      while capture.grab():
        self.frames_decoded = index + 1
        if resample_keep(index, source_fps, self.target_fps):
          ok, bgr = capture.retrieve()
          if ok and bgr is not None:
            if bgr.ndim == 2:
              bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
            yield Frame(index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        index += 1
      if index == 0:
        raise VideoReadError("no frames could be decoded (empty or corrupt file)")
    finally:
      capture.release()


def source_from_path(path: str) -> VideoSource:
  """A video file or a folder of frames; VideoReadError when it is neither."""
  if os.path.isdir(path):
    return VideoSource(path, is_frame_folder=True)
  if os.path.isfile(path):
    return VideoSource(path, is_frame_folder=False)
  raise VideoReadError(f"{path}: no such video file or frame folder")


def rgb_frames(source: VideoSource) -> Iterator[np.ndarray]:
  """Every frame of `source` as uint8 RGB `[H, W, 3]`, streamed."""
  for frame in FrameReader(source):
    yield frame.rgb


def rgb_images(paths) -> Iterator[np.ndarray]:
  """uint8 RGB frames from a list of image files, streamed."""
  for path in paths:
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
      raise VideoReadError(f"{path}: unreadable image")
    yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def frame_count_and_fps(source: VideoSource, frame_folder_fps: float = 24.0):
  """(number of frames as the container reports it, fps); cheap, no decoding."""
  if source.is_frame_folder:
    return len(list_frame_files(source.path)[0]), frame_folder_fps
  capture = cv2.VideoCapture(source.path)
  try:
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    fps = capture.get(cv2.CAP_PROP_FPS)
  finally:
    capture.release()
  return count, (fps if np.isfinite(fps) and 0 < fps <= 1000 else 30.0)
