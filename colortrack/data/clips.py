"""Turning decoded frames into Lab-quantized training clips and tf.train.Examples."""

import dataclasses
from typing import Iterable, Iterator, List

import cv2
import numpy as np

from colortrack.data import codebook as codebook_lib
from colortrack.data import color
from colortrack.data import schema
from colortrack.data import video_io

# A frame counts as coloured when 1% of its pixels have chroma above this (Lab
# units). JPEG/H.264 noise on gray video stays well below it.
CHROMA_THRESHOLD = 8.0


@dataclasses.dataclass
class PreparedFrame:
  source_index: int
  lightness_png: bytes
  ab_codes_png: bytes
  rgb_jpeg: bytes
  has_chroma: bool


def resize_frame(rgb: np.ndarray, size: int) -> np.ndarray:
  """Resizes to `size x size` (the paper's 256x256; aspect is not kept)."""
  interpolation = cv2.INTER_AREA if min(rgb.shape[:2]) > size else cv2.INTER_LINEAR
  return cv2.resize(rgb, (size, size), interpolation=interpolation)


def _encode_png(image: np.ndarray) -> bytes:
  ok, buffer = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
  assert ok
  return buffer.tobytes()


def prepare_frame(rgb: np.ndarray, size: int, codebook: codebook_lib.Codebook,
                  source_index: int, jpeg_quality: int = 90) -> PreparedFrame:
  rgb = resize_frame(rgb, size)
  lab = color.rgb_to_lab(rgb)
  lightness = np.round(lab[..., 0] * schema.LIGHTNESS_UINT8_SCALE).clip(0, 255).astype(np.uint8)
  codes = codebook.quantize(lab[..., 1:])
  chroma = np.hypot(lab[..., 1], lab[..., 2])
  has_chroma = bool(np.mean(chroma > CHROMA_THRESHOLD) > 0.01)
  ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                          [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
  assert ok
  return PreparedFrame(source_index, _encode_png(lightness), _encode_png(codes),
                       jpeg.tobytes(), has_chroma)


def prepared_frames(frames: Iterable[video_io.Frame], size: int,
                    codebook: codebook_lib.Codebook) -> Iterator[PreparedFrame]:
  for frame in frames:
    yield prepare_frame(frame.rgb, size, codebook, frame.index)


def group_clips(frames: Iterable[PreparedFrame], clip_len: int,
                clip_stride: int) -> Iterator[List[PreparedFrame]]:
  """Windows of `clip_len` consecutive frames, a new one every `clip_stride` frames.

  Only the last `clip_len + clip_stride` frames are held, so memory is bounded.
  """
  window: List[PreparedFrame] = []
  next_start = 0
  position = 0  # index (after resampling) of window[0]
  for frame in frames:
    window.append(frame)
    if len(window) == (next_start - position) + clip_len:
      yield window[next_start - position:]
      next_start += clip_stride
      drop = min(next_start - position, len(window))
      window = window[drop:]
      position += drop


def encode_clip(clip: List[PreparedFrame], video_id: str, clip_index: int,
                fps: float, size: int, codebook: codebook_lib.Codebook) -> bytes:
  """Serialized tf.train.Example for one clip (keys from `schema`)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  def bytes_list(values):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))

  def int_list(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))

  def float_list(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))

  feature = {
      schema.VIDEO_ID: bytes_list([video_id.encode()]),
      schema.CLIP_INDEX: int_list([clip_index]),
      schema.SOURCE_FRAME_INDICES: int_list([f.source_index for f in clip]),
      schema.FPS: float_list([fps]),
      schema.NUM_FRAMES: int_list([len(clip)]),
      schema.HEIGHT: int_list([size]),
      schema.WIDTH: int_list([size]),
      schema.LIGHTNESS_PNG: bytes_list([f.lightness_png for f in clip]),
      schema.AB_CODES_PNG: bytes_list([f.ab_codes_png for f in clip]),
      schema.RGB_JPEG: bytes_list([f.rgb_jpeg for f in clip]),
      schema.CODEBOOK_CENTROIDS: float_list(codebook.centroids.reshape(-1).tolist()),
      schema.CODEBOOK_SHA: bytes_list([codebook.sha.encode()]),
  }
  # Deterministic: map fields in key order, so a shard's bytes do not depend on the process
  # that wrote it (a job array's shards equal one process's, checked by their sha256).
  return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(
      deterministic=True)
