"""Reading and writing DAVIS annotations.

DAVIS-2017 (and our outputs): palette PNG (mode P) whose pixel value is the
object id, 0 = background, 255 = void. DAVIS-2016: single-object 0/255 gray PNG
(mode L); some releases carry it as 2-channel gray+alpha (mode LA). Both read to
uint8 ids `[H, W]`.
"""

import functools
import os

import numpy as np
from PIL import Image

from colortrack import errors
from colortrack.utils import files

VOID_ID = 255


@functools.lru_cache(maxsize=None)
def davis_palette() -> np.ndarray:
  """The 256-colour palette of DAVIS/PASCAL VOC annotations, uint8 `[256, 3]`, read-only
  (made once: every mask written and overlay frame drawn uses it)."""
  palette = np.zeros((256, 3), np.uint8)
  for index in range(256):
    label, r, g, b = index, 0, 0, 0
    for bit in range(8):
      r |= ((label >> 0) & 1) << (7 - bit)
      g |= ((label >> 1) & 1) << (7 - bit)
      b |= ((label >> 2) & 1) << (7 - bit)
      label >>= 3
    palette[index] = (r, g, b)
  palette.flags.writeable = False
  return palette


class MaskError(errors.UserError):
  """An annotation file cannot be read as object ids."""


def read_mask(path: str) -> np.ndarray:
  """Object ids uint8 `[H, W]` from a DAVIS-2016 or DAVIS-2017 annotation PNG."""
  try:
    with Image.open(path) as image:
      mode = image.mode
      if mode == "P":
        return np.array(image, dtype=np.uint8)
      if mode == "1":
        return np.array(image, dtype=np.uint8)
      if mode in ("L", "LA") or mode.startswith("I"):
        values = np.array(image.getchannel("L") if mode == "LA" else image).astype(np.int64)
        return _single_channel_ids(path, values, 65535 if mode.startswith("I;16") else 255)
      if mode in ("RGB", "RGBA"):
        rgb = np.array(image.convert("RGB"))
        return _rgb_to_ids(path, rgb)
  except (OSError, ValueError) as e:
    raise MaskError(f"{path}: unreadable mask ({e})") from e
  raise MaskError(f"{path}: unsupported mask image mode {mode!r}")


def _single_channel_ids(path: str, values: np.ndarray, white: int) -> np.ndarray:
  """Object ids from a one-channel mask: a 0/white mask, or a label map of ids.

  0 and `white` only (DAVIS-2016's 0/255): one object. All values below 255
  (0/1 masks, 8- or 16-bit label maps with ids 1..K): the values are the ids.
  A few small ids with 255 (an 8-bit label map with void, DAVIS-2017's
  convention): the ids, 255 kept as void. Otherwise an 8-bit gray mask with
  soft edges (a gradient of values up to 255): above mid-gray is the object.
  """
  present = np.unique(values)
  if set(present.tolist()) <= {0, white}:
    return (values == white).astype(np.uint8)
  if present.max() < VOID_ID:
    return values.astype(np.uint8)
  others = present[(present != 0) & (present != VOID_ID)]
  if present.max() == VOID_ID and len(others) <= 16 and others.max() < 128:
    return values.astype(np.uint8)
  if white == 255 and present.max() <= 255:
    return (values > 127).astype(np.uint8)
  raise MaskError(f"{path}: label values up to {int(present.max())}; object ids must be "
                  "1..254 (255 is void)")


def _rgb_to_ids(path: str, rgb: np.ndarray) -> np.ndarray:
  """Maps an RGB rendering of a palette mask back to ids."""
  palette = davis_palette().astype(np.int32)
  packed = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
  lookup = {int((p[0] << 16) | (p[1] << 8) | p[2]): i for i, p in enumerate(palette)}
  values = np.unique(packed)
  unknown = [v for v in values if int(v) not in lookup]
  if unknown:
    raise MaskError(f"{path}: RGB mask has colours outside the DAVIS palette, "
                    f"e.g. #{int(unknown[0]):06x}")
  ids = np.zeros(packed.shape, np.uint8)
  for v in values:
    ids[packed == v] = lookup[int(v)]
  return ids


def write_mask(path: str, ids: np.ndarray) -> None:
  """Writes ids `[H, W]` as a DAVIS palette PNG, atomically.

  zlib level 1: a mask is mostly flat, so it stays small (a 1080p mask: 17 KB against 9
  KB at Pillow's default level) and is written ~2.7x faster (BENCHMARKS.md, "The default
  at 3 frames/s"), which counts when tracking at 10 frames/s."""
  image = Image.fromarray(np.asarray(ids, np.uint8), mode="P")
  image.putpalette(davis_palette().reshape(-1).tolist())
  with files.atomic_output(path) as tmp_path:
    image.save(tmp_path, format="PNG", compress_level=1)


def object_ids(ids: np.ndarray) -> np.ndarray:
  """Sorted object ids present in a mask (no background, no void)."""
  values = np.unique(ids)
  return values[(values != 0) & (values != VOID_ID)]


def mask_paths(folder: str):
  return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".png"))
