"""Captions fit their picture: a long caption wraps instead of running off the edge."""

import cv2
import numpy as np

from colortrack.utils import annotate


def test_long_caption_wraps_to_the_picture_width():
  text = ("left: the frame; right: the first 3 principal components of its 40x32 embedding "
          "grid as RGB (similar colour = similar features)")
  lines = annotate._wrap(text, 308, 0.35)  # pylint: disable=protected-access
  assert " ".join(lines) == text and len(lines) >= 2
  for line in lines:
    assert cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, 0.35, 1)[0][0] <= 308
  image = annotate.with_caption(np.zeros((64, 320, 3), np.uint8), text)
  one_line = annotate.with_caption(np.zeros((64, 320, 3), np.uint8), "short")
  assert image.shape[0] - 64 >= 2 * (one_line.shape[0] - 64) - 6  # a band per line
