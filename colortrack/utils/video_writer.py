"""MP4 videos people can play: H.264 (browsers, Jupyter, VS Code), written atomically.

H.264 comes from PyAV, whose wheels bundle FFmpeg with libx264 (PyAV is
BSD-3-Clause; the bundled libx264 is GPL-2.0+). Without PyAV, or if its encoder
fails to open, OpenCV writes MPEG-4 Part 2 (`mp4v`), which desktop players
show but browsers do not. Odd frame sizes are padded by one edge pixel
(H.264's 4:2:0 colour needs even sizes). The file appears under its name only
when `close()` succeeds; `abort()` (or an exception inside `with`) removes it.
"""

import os
from typing import Optional

import numpy as np

from colortrack import errors
from colortrack.utils import files


class VideoWriter:
  """`with VideoWriter(path, fps, width, height) as w: w.write(rgb_uint8)`."""

  def __init__(self, path: str, fps: float, width: int, height: int,
               codec: Optional[str] = None):
    self.path = files.check_replaceable(path, "video")
    self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else 24.0
    self.width, self.height = int(width), int(height)
    self.tmp_path = os.path.join(os.path.dirname(os.path.abspath(path)),
                                 "." + os.path.basename(path) + ".tmp.mp4")
    self._padded = (self.width + self.width % 2, self.height + self.height % 2)
    self._container = self._stream = self._cv_writer = None
    self.codec = codec or ("h264" if _has_h264() else "mp4v")
    if self.codec == "h264":
      try:
        self._open_h264()
      except Exception:  # pylint: disable=broad-except
        self._close_h264(flush=False)
        self.codec = "mp4v"
    if self.codec == "mp4v":
      import cv2  # pylint: disable=g-import-not-at-top
      self._cv_writer = cv2.VideoWriter(self.tmp_path, cv2.VideoWriter_fourcc(*"mp4v"),
                                        self.fps, (self.width, self.height))
      if not self._cv_writer.isOpened():
        raise errors.OutputError(f"{path}: cannot write mp4 video here")

  def _open_h264(self) -> None:
    import fractions  # pylint: disable=g-import-not-at-top
    import av  # pylint: disable=g-import-not-at-top
    # +faststart: the index goes first, so a browser plays before the whole file is in.
    self._container = av.open(self.tmp_path, mode="w", format="mp4",
                              options={"movflags": "+faststart"})
    rate = fractions.Fraction(self.fps).limit_denominator(1001)
    self._stream = self._container.add_stream("libx264", rate=rate)
    self._stream.width, self._stream.height = self._padded
    self._stream.pix_fmt = "yuv420p"
    self._stream.options = {"preset": "veryfast", "crf": "23"}  # fast, and small enough

  def write(self, rgb: np.ndarray) -> None:
    rgb = np.ascontiguousarray(rgb, np.uint8)
    if self._stream is not None:
      import av  # pylint: disable=g-import-not-at-top
      if rgb.shape[:2] != self._padded[::-1]:
        rgb = np.pad(rgb, ((0, self._padded[1] - rgb.shape[0]),
                           (0, self._padded[0] - rgb.shape[1]), (0, 0)), mode="edge")
      for packet in self._stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
        self._container.mux(packet)
    else:
      import cv2  # pylint: disable=g-import-not-at-top
      self._cv_writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

  def _close_h264(self, flush: bool = True) -> None:
    if self._stream is not None and flush:
      for packet in self._stream.encode():
        self._container.mux(packet)
    if self._container is not None:
      self._container.close()
    self._container = self._stream = None

  def close(self) -> None:
    """Finishes the file and renames it into place."""
    if self._cv_writer is not None:
      self._cv_writer.release()
    self._close_h264()
    files.record_written(self.path)
    os.replace(self.tmp_path, self.path)

  def abort(self) -> None:
    try:
      if self._cv_writer is not None:
        self._cv_writer.release()
      self._close_h264(flush=False)
    finally:
      if os.path.exists(self.tmp_path):
        os.remove(self.tmp_path)

  def __enter__(self):
    return self

  def __exit__(self, kind, value, traceback):
    if kind is None:
      self.close()
    else:
      self.abort()
    return False


def _has_h264() -> bool:
  try:
    import av  # pylint: disable=g-import-not-at-top
  except ImportError:
    return False
  return "libx264" in av.codecs_available
