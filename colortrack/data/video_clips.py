"""Training clips decoded straight from videos / frame folders, with numpy and OpenCV only.

The second input source (`config.data.source = "video"`), for machines without
TensorFlow (a JAX accelerator): every source is decoded once, resampled to
`fps`, resized to `stored_size` x `stored_size` and cut into clips of
`clip_len` frames every `clip_stride` frames (as `data_prep.build_tfrecords`
does), and kept in memory as uint8. Batches then get the tf.data pipeline's
augmentation: one random square crop of a uniform fraction `scale_range` of
the side and one random horizontal flip per clip, shared by its frames,
resized to `image_size`. Lab lightness and the codebook's ab codes are
computed from the augmented frames (tf.data resizes stored codes with nearest
neighbours instead; the codes differ only at colour edges).

Batches are dicts of `colortrack.data.clip_features`, as tf.data's: "lightness"
float32 `[B, T, S, S, 1]` (L in [0, 100]), "ab_codes" int32 `[B, T, S, S]`,
"rgb" float32 `[B, T, S, S, 3]` in [0, 1], "augment_seed" int64 `[B, 2]`.
Which clips a step sees depends only on (seed, step): a resumed run continues
the same stream.
"""

import concurrent.futures
import logging
import os
from typing import Dict, Iterator, Optional, Sequence, Tuple

import cv2
import numpy as np

from colortrack import errors
from colortrack.data import clip_features
from colortrack.data import clips as clips_lib
from colortrack.data import codebook as codebook_lib
from colortrack.data import color
from colortrack.data import video_io

Batch = Dict[str, np.ndarray]


class VideoClipSource:
  """In-memory clips of every source under `input_spec` (comma-separated folders/files/globs)."""

  def __init__(self, input_spec: str, codebook: codebook_lib.Codebook, clip_len: int = 4,
               fps: float = 6.0, stored_size: int = 256, clip_stride: int = 0,
               frame_folder_fps: float = 24.0, workers: Optional[int] = None):
    self.codebook = codebook
    self.clip_len = clip_len
    self.workers = workers or min(8, os.cpu_count() or 1)
    sources = video_io.find_sources(input_spec)
    if not sources:
      raise errors.UserError(f"{input_spec}: no video files or frame folders found")
    stride = clip_stride or clip_len
    clips, skipped = [], 0
    for source in sources:
      try:
        frames = [clips_lib.resize_frame(f.rgb, stored_size)
                  for f in video_io.FrameReader(source, fps, frame_folder_fps)]
      except video_io.VideoReadError as e:
        logging.warning("%s: %s; skipped", source.path, e)
        skipped += 1
        continue
      for start in range(0, len(frames) - clip_len + 1, stride):
        clips.append(np.stack(frames[start:start + clip_len]))
    if not clips:
      raise errors.UserError(f"{input_spec}: no clip of {clip_len} frames at {fps:g} fps")
    self.clips = np.stack(clips)  # [N, T, S, S, 3] uint8
    logging.info("video source: %d clips from %d sources (%d skipped), %.2f GiB in memory",
                 len(self.clips), len(sources) - skipped, skipped, self.clips.nbytes / 2**30)

  def __len__(self) -> int:
    return len(self.clips)

  def _features(self, frames: np.ndarray, keys: Sequence[str]) -> Batch:
    """uint8 RGB `[T, S, S, 3]` -> the pipeline's features of one clip."""
    out = {}
    if clip_features.RGB in keys:
      out[clip_features.RGB] = frames.astype(np.float32) / 255.0
    if clip_features.LIGHTNESS in keys or clip_features.AB_CODES in keys:
      lab = color.rgb_to_lab(frames)
      if clip_features.LIGHTNESS in keys:
        out[clip_features.LIGHTNESS] = lab[..., :1].astype(np.float32)
      if clip_features.AB_CODES in keys:
        out[clip_features.AB_CODES] = self.codebook.quantize(lab[..., 1:]).astype(np.int32)
    return out

  def _augmented(self, index: int, seed: Tuple[int, int], keys: Sequence[str],
                 image_size: int, scale_range: Tuple[float, float]) -> Batch:
    rng = np.random.default_rng(list(seed))
    frames = self.clips[index]
    side_max = frames.shape[1]
    side = max(1, int(round(side_max * rng.uniform(*scale_range))))
    top, left = rng.integers(0, side_max - side + 1, size=2)
    crop = frames[:, top:top + side, left:left + side]
    if rng.uniform() < 0.5:
      crop = crop[:, :, ::-1]
    interpolation = cv2.INTER_AREA if side > image_size else cv2.INTER_LINEAR
    resized = np.stack([cv2.resize(np.ascontiguousarray(f), (image_size, image_size),
                                   interpolation=interpolation) for f in crop])
    return self._features(resized, keys)

  def batches(self, batch_size: int, keys: Sequence[str], image_size: int,
              scale_range: Tuple[float, float] = (0.7, 1.0), seed: int = 0,
              start_step: int = 0) -> Iterator[Batch]:
    """Endless augmented batches from step `start_step` on; clips in a new order each epoch.

    `workers` threads each build whole batches ahead of time (OpenCV and numpy
    release the GIL), so up to `workers` batches are in flight.
    """
    keys = tuple(keys)
    prefetch = max(2, self.workers)
    pool = concurrent.futures.ThreadPoolExecutor(self.workers)

    def make(step: int) -> Batch:
      positions = np.arange(step * batch_size, (step + 1) * batch_size)
      epochs, offsets = np.divmod(positions, len(self.clips))
      order = {int(e): np.random.default_rng([seed, 1, int(e)]).permutation(len(self.clips))
               for e in np.unique(epochs)}
      indices = [int(order[int(e)][o]) for e, o in zip(epochs, offsets)]
      seeds = [(seed, int(p)) for p in positions]
      examples = [self._augmented(i, s, keys, image_size, scale_range)
                  for i, s in zip(indices, seeds)]
      batch = {k: np.stack([e[k] for e in examples]) for k in keys}
      batch[clip_features.AUGMENT_SEED] = np.array(seeds, np.int64)
      return batch

    step = start_step
    pending = [pool.submit(make, s) for s in range(step, step + prefetch)]
    try:
      while True:
        batch = pending.pop(0).result()
        pending.append(pool.submit(make, step + prefetch))
        step += 1
        yield batch
    finally:
      pool.shutdown(wait=False, cancel_futures=True)

  def eval_batch(self, count: int, keys: Sequence[str], image_size: int) -> Batch:
    """The first `count` clips, whole frames resized (no augmentation)."""
    examples = []
    for frames in self.clips[:count]:
      resized = np.stack([cv2.resize(f, (image_size, image_size), interpolation=cv2.INTER_AREA)
                          for f in frames])
      examples.append(self._features(resized, keys))
    batch = {k: np.stack([e[k] for e in examples]) for k in keys}
    batch[clip_features.AUGMENT_SEED] = np.zeros((len(examples), 2), np.int64)
    return batch
