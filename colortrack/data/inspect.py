"""PNG strips of stored clips, for a person to check what the model will see."""

import os
from typing import List

import numpy as np

from colortrack.data import codebook as codebook_lib
from colortrack.data import color
from colortrack.data import pipeline
from colortrack.data import schema
from colortrack.utils import annotate
from colortrack.utils import files


def clip_strip(lightness: np.ndarray, codes: np.ndarray, rgb: np.ndarray,
               codebook: codebook_lib.Codebook) -> np.ndarray:
  """Rows: gray input, colours rebuilt from the codes, the stored RGB, each labelled at its
  left. uint8 `[3H, L + TW, 3]` (L: the label column)."""
  gray = np.repeat(np.round(lightness / 100.0 * 255.0).astype(np.uint8), 3, axis=-1)
  lab = np.concatenate([lightness, codebook.dequantize(codes)], axis=-1)
  quantized = color.lab_to_rgb_uint8(lab)
  original = np.round(rgb * 255.0).astype(np.uint8)
  rows = [np.concatenate(list(x), axis=1) for x in (gray, quantized, original)]
  return annotate.with_row_labels(np.concatenate(rows, axis=0),
                                  ["gray input", "from codes", "stored RGB"])


def write_strips(file_pattern: str, output_dir: str, num_clips: int = 4) -> List[str]:
  """Writes `clip_000.png`... for the first clips of the dataset; returns the paths."""
  import cv2  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  keys = (pipeline.LIGHTNESS, pipeline.AB_CODES, pipeline.RGB)
  shard_files = pipeline.match_files(file_pattern)
  files.check_not_inside(output_dir, shard_files, "--output_dir")
  files.check_replaceable_in(output_dir, [f"clip_{i:03d}.png" for i in range(num_clips)],
                             "--output_dir")
  files.ensure_output_dir(output_dir, "--output_dir", claim=True)
  dataset = tf.data.TFRecordDataset(shard_files).take(num_clips)
  paths = []
  for index, serialized in enumerate(dataset):
    raw = tf.train.Example.FromString(serialized.numpy()).features.feature
    centroids = np.array(raw[schema.CODEBOOK_CENTROIDS].float_list.value, np.float32)
    codebook = codebook_lib.Codebook(centroids.reshape(-1, 2))
    clip_len = int(raw[schema.NUM_FRAMES].int64_list.value[0])
    features = pipeline.decode_frames(pipeline.parse_clip(serialized, keys), keys, clip_len)
    strip = clip_strip(features[pipeline.LIGHTNESS].numpy(),
                       features[pipeline.AB_CODES].numpy(),
                       features[pipeline.RGB].numpy(), codebook)
    path = os.path.join(output_dir, f"clip_{index:03d}.png")
    with files.atomic_output(path) as tmp_path:
      ok, buffer = cv2.imencode(".png", cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
      assert ok
      with open(tmp_path, "wb") as f:
        f.write(buffer.tobytes())
    paths.append(path)
  return paths
