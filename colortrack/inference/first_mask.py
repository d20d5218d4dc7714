"""A first-frame mask from boxes or foreground clicks (OpenCV's GrabCut), for users without one.

  mask_from_boxes(frame, boxes)    -> ids `[H, W]` uint8: object k + 1 inside box k
  mask_from_clicks(frame, clicks)  -> ids `[H, W]` uint8: one object (id 1) under the clicks

frame: uint8 RGB `[H, W, 3]`. Boxes are (x0, y0, x1, y1) in 0-based pixels,
corners inclusive (pixel (col c, row r) centred at (c, r)); clicks are (x, y).
GrabCut models the colours inside and outside each box (Rother et al. 2004);
where boxes overlap, the smaller box's object wins (it is usually in front).
The result is a starting point to check and edit: `colortrack.track` writes it
as `first_mask.png` beside its results.
"""

from typing import Sequence, Tuple

import cv2
import numpy as np

from colortrack import errors

Box = Tuple[float, float, float, float]
_ITERATIONS = 5


def parse_boxes(texts: Sequence[str]) -> np.ndarray:
  """'x0,y0,x1,y1' strings -> float `[N, 4]`; UserError naming a malformed one."""
  boxes = []
  for text in texts:
    try:
      values = [float(v) for v in text.split(",")]
    except ValueError:
      values = []
    if len(values) != 4 or not np.all(np.isfinite(values)):
      raise errors.UserError(f"--box={text}: expected x0,y0,x1,y1 (four numbers, pixels)")
    boxes.append(values)
  return np.asarray(boxes, np.float64).reshape(-1, 4)


def parse_clicks(text: str) -> np.ndarray:
  """'x,y;x,y;...' -> float `[N, 2]`; UserError when malformed."""
  try:
    clicks = [[float(v) for v in pair.split(",")] for pair in text.split(";") if pair.strip()]
    array = np.asarray(clicks, np.float64)
  except ValueError:
    array = np.zeros((0, 3))
  if array.ndim != 2 or array.shape[1] != 2 or not len(array) or not np.all(np.isfinite(array)):
    raise errors.UserError(f"--points={text}: expected x,y;x,y;... (pixels)")
  return array


def _pixel_box(box, height: int, width: int, what: str) -> Tuple[int, int, int, int]:
  x0, y0, x1, y1 = box
  if not (x0 < x1 and y0 < y1):
    raise errors.UserError(f"{what} {list(box)}: needs x0 < x1 and y0 < y1")
  if x1 < 0 or y1 < 0 or x0 > width - 1 or y0 > height - 1:
    raise errors.UserError(f"{what} {list(box)}: outside the {width}x{height} frame")
  left, top = max(0, int(round(x0))), max(0, int(round(y0)))
  right, bottom = min(width - 1, int(round(x1))), min(height - 1, int(round(y1)))
  if right - left < 2 or bottom - top < 2:
    raise errors.UserError(f"{what} {list(box)}: smaller than 3x3 pixels inside the frame")
  return left, top, right, bottom


def _grabcut(bgr: np.ndarray, mask: np.ndarray, rect=None) -> np.ndarray:
  """Foreground (bool `[H, W]`) after GrabCut from a rectangle or a labelled mask; all False
  where GrabCut cannot run (e.g. a box over the whole frame leaves no background)."""
  background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
  mode = cv2.GC_INIT_WITH_RECT if rect is not None else cv2.GC_INIT_WITH_MASK
  try:
    cv2.grabCut(bgr, mask, rect, background, foreground, _ITERATIONS, mode)
  except cv2.error:
    return np.zeros(mask.shape, bool)
  return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def mask_from_boxes(frame: np.ndarray, boxes) -> np.ndarray:
  """ids uint8 `[H, W]`: GrabCut's foreground in box k is object k + 1 (see module doc)."""
  boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
  height, width = frame.shape[:2]
  if not 1 <= len(boxes) <= 254:
    raise errors.UserError(f"{len(boxes)} boxes: give 1 to 254 (object ids 1..254)")
  bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
  ids = np.zeros((height, width), np.uint8)
  order = np.argsort([-(b[2] - b[0]) * (b[3] - b[1]) for b in boxes])  # largest first
  for k in order:
    left, top, right, bottom = _pixel_box(boxes[k], height, width, f"box {k}")
    mask = np.zeros((height, width), np.uint8)
    found = _grabcut(bgr, mask, (left, top, right - left + 1, bottom - top + 1))
    if not found.any():  # GrabCut found nothing: the box itself is the object
      found[top:bottom + 1, left:right + 1] = True
    ids[found] = k + 1  # later (smaller) boxes are drawn over larger ones
  return ids


def mask_from_clicks(frame: np.ndarray, clicks) -> np.ndarray:
  """ids uint8 `[H, W]`: the object under the clicks (id 1), by GrabCut.

  Disks around the clicks are sure foreground; a box around them, grown by half
  its size and at least 15% of the frame, may be foreground; the rest is sure
  background.
  """
  clicks = np.asarray(clicks, np.float64).reshape(-1, 2)
  height, width = frame.shape[:2]
  inside = ((clicks[:, 0] >= -0.5) & (clicks[:, 0] <= width - 0.5) &
            (clicks[:, 1] >= -0.5) & (clicks[:, 1] <= height - 0.5))
  if not inside.all():
    k = int(np.flatnonzero(~inside)[0])
    raise errors.UserError(f"point {k} at ({clicks[k, 0]:g}, {clicks[k, 1]:g}) is outside the "
                           f"{width}x{height} frame")
  low, high = clicks.min(axis=0), clicks.max(axis=0)
  grow = np.maximum((high - low) / 2, 0.15 * np.array([width, height]))
  left, top = np.maximum(0, np.floor(low - grow)).astype(int)
  right, bottom = np.minimum([width - 1, height - 1], np.ceil(high + grow)).astype(int)
  mask = np.full((height, width), cv2.GC_BGD, np.uint8)
  mask[top:bottom + 1, left:right + 1] = cv2.GC_PR_BGD
  radius = max(2, int(round(0.02 * min(height, width))))
  for x, y in clicks:
    cv2.circle(mask, (int(round(x)), int(round(y))), radius, int(cv2.GC_FGD), -1)
  found = _grabcut(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), mask.copy())
  if not found.any():  # GrabCut could not run: the clicked disks are the object
    found = mask == cv2.GC_FGD
  return found.astype(np.uint8)
