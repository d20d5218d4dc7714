"""Text on pictures for people: row labels at the left, a caption underneath (uint8 RGB)."""

from typing import Sequence

import cv2
import numpy as np


def _put(image: np.ndarray, text: str, left: int, baseline: int, scale: float) -> None:
  cv2.putText(image, text, (left, baseline), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20),
              1, cv2.LINE_AA)


def with_row_labels(image: np.ndarray, labels: Sequence[str]) -> np.ndarray:
  """`[H, W, 3]` split into len(labels) equal rows -> a white label column on the left."""
  rows = len(labels)
  row_height = image.shape[0] // rows
  scale = max(0.3, min(0.5, row_height / 80))
  width = max(cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0]
              for label in labels) + 8
  column = np.full((image.shape[0], width, 3), 255, np.uint8)
  for index, label in enumerate(labels):
    _put(column, label, 4, index * row_height + row_height // 2 + 4, scale)
  return np.concatenate([column, image], axis=1)


def _wrap(text: str, width: int, scale: float) -> list:
  """Words of `text` in lines no wider than `width` pixels (a longer word gets its own line)."""
  lines, line = [], ""
  for word in text.split():
    candidate = f"{line} {word}".strip()
    if line and cv2.getTextSize(candidate, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width:
      lines.append(line)
      candidate = word
    line = candidate
  return lines + ([line] if line else [])


def with_caption(image: np.ndarray, text: str) -> np.ndarray:
  """A white band with `text` under the picture, wrapped to the picture's width."""
  scale = max(0.35, min(0.6, image.shape[1] / 1600))
  lines = _wrap(text, image.shape[1] - 12, scale)
  line_height = int(cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][1] * 2.0) + 2
  band = np.full((line_height * len(lines) + 6, image.shape[1], 3), 255, np.uint8)
  for index, line in enumerate(lines):
    _put(band, line, 6, (index + 1) * line_height - line_height // 4, scale)
  return np.concatenate([image, band], axis=0)
