"""Training clips decoded straight from videos / frame folders, with numpy and OpenCV only.

The second input source (`config.data.source = "video"`), for machines without
TensorFlow (a JAX accelerator): every source is decoded (by a pool of threads),
resampled to `fps`, resized to `stored_size` x `stored_size` and cut into clips
of `clip_len` frames every `clip_stride` frames (as `data_prep.build_tfrecords`
does), and kept in memory as uint8 — up to `memory_gib`; a larger dataset is
streamed instead: sources decoded as training runs, a new order each epoch,
through a shuffle buffer (`_streamed_batches`). Batches then get the tf.data pipeline's
augmentation: one random square crop of a uniform fraction `scale_range` of
the side and one random horizontal flip per clip, shared by its frames,
resized to `image_size`. Lab lightness and the codebook's ab codes are
computed from the augmented frames (tf.data resizes stored codes with nearest
neighbours instead; the codes differ only at colour edges).

Batches are dicts of `colortrack.data.clip_features`, as tf.data's: "lightness"
float32 `[B, T, S, S, 1]` (L in [0, 100]), "ab_codes" int32 `[B, T, S, S]`,
"rgb" float32 `[B, T, S, S, 3]` in [0, 1], "augment_seed" int64 `[B, 2]`.
In memory, which clips a step sees depends only on (seed, step): a resumed run
continues the same stream; streamed, a resumed run reseeds with its step.
"""

import collections
import concurrent.futures
import itertools
import logging
import os
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from colortrack import errors
from colortrack.data import clip_features
from colortrack.data import clips as clips_lib
from colortrack.data import codebook as codebook_lib
from colortrack.data import color
from colortrack.data import video_io

Batch = Dict[str, np.ndarray]


def _ordered(pool: concurrent.futures.Executor, fn, items, depth: int):
  """`fn` of each item, in order, at most `depth` computed ahead (`Executor.map` would
  start them all at once, holding every result)."""
  pending = collections.deque()
  for item in items:
    pending.append(pool.submit(fn, item))
    if len(pending) >= depth:
      yield pending.popleft().result()
  while pending:
    yield pending.popleft().result()


class VideoClipSource:
  """The clips of every source under `input_spec` (comma-separated folders/files/globs):
  in memory up to `memory_gib`, else streamed."""

  def __init__(self, input_spec: str, codebook: codebook_lib.Codebook, clip_len: int = 4,
               fps: float = 6.0, stored_size: int = 256, clip_stride: int = 0,
               frame_folder_fps: float = 24.0, workers: Optional[int] = None,
               memory_gib: float = 8.0, shuffle_buffer: int = 256,
               listing: Optional[str] = None):
    self.codebook = codebook
    self.clip_len = clip_len
    self.workers = workers or min(16, os.cpu_count() or 1)
    self.shuffle_buffer = max(1, shuffle_buffer)
    self.sources = video_io.find_sources(input_spec, listing)
    if not self.sources:
      raise errors.UserError(f"{input_spec}: no video files or frame folders found")
    self._input_spec = input_spec
    self._decode_args = (fps, stored_size, clip_stride or clip_len, frame_folder_fps)
    self._bad = set()
    # Sources are decoded by `workers` threads at once (OpenCV's decoder releases the
    # GIL), in order, so the clips are those of a serial decode. Past `memory_gib` of
    # clips the source drops them and streams instead.
    clips, held = [], 0
    with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
      for decoded in _ordered(pool, self._decode, range(len(self.sources)), 2 * self.workers):
        clips.extend(decoded)
        held += sum(c.nbytes for c in decoded)
        if held > memory_gib * 2**30:
          clips = None
          logging.info("video source: the clips of %s exceed %.1f GiB (data.video_memory_gib);"
                       " streaming them from %d decoding threads instead", input_spec,
                       memory_gib, self.workers)
          break
    self.clips = None
    if clips is not None:
      if not clips:
        raise errors.UserError(f"{input_spec}: no clip of {clip_len} frames at {fps:g} fps")
      self.clips = np.stack(clips)  # [N, T, S, S, 3] uint8
      logging.info("video source: %d clips from %d sources (%d skipped), %.2f GiB in memory",
                   len(self.clips), len(self.sources) - len(self._bad), len(self._bad),
                   self.clips.nbytes / 2**30)

  @property
  def streaming(self) -> bool:
    return self.clips is None

  def _decode(self, index: int) -> List[np.ndarray]:
    """The clips of source `index`, uint8 `[T, S, S, 3]` each; [] for a bad one (said once)."""
    fps, stored_size, stride, frame_folder_fps = self._decode_args
    source = self.sources[index]
    if index in self._bad:
      return []
    try:
      frames = [clips_lib.resize_frame(f.rgb, stored_size)
                for f in video_io.FrameReader(source, fps, frame_folder_fps)]
    except video_io.VideoReadError as e:
      logging.warning("%s: %s; skipped", source.path, e)
      self._bad.add(index)
      return []
    return [np.stack(frames[start:start + self.clip_len])
            for start in range(0, len(frames) - self.clip_len + 1, stride)]

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

  def _augmented(self, frames: np.ndarray, seed: Tuple[int, int], keys: Sequence[str],
                 image_size: int, scale_range: Tuple[float, float]) -> Batch:
    rng = np.random.default_rng(list(seed))
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
              start_step: int = 0, shard: Tuple[int, int] = (0, 1)) -> Iterator[Batch]:
    """Endless augmented batches from step `start_step` on; clips in a new order each epoch.

    `workers` threads each build whole batches ahead of time (OpenCV and numpy
    release the GIL), so up to `workers` batches are in flight. `shard` (index,
    count): only part `index` of `count` equal parts of each batch of `batch_size`
    (a process of a multi-process run); the parts together are the whole batch.
    """
    index, count = shard
    if batch_size % count:
      raise errors.TrainingError(f"batch of {batch_size} clips cannot be split over {count} "
                                 "processes")
    keys = tuple(keys)
    if self.streaming:
      yield from self._streamed_batches(batch_size, keys, image_size, scale_range, seed,
                                        start_step, shard)
      return
    prefetch = max(2, self.workers)
    pool = concurrent.futures.ThreadPoolExecutor(self.workers)

    part = batch_size // count

    def make(step: int) -> Batch:
      positions = np.arange(step * batch_size, (step + 1) * batch_size)
      positions = positions[index * part:(index + 1) * part]
      epochs, offsets = np.divmod(positions, len(self.clips))
      order = {int(e): np.random.default_rng([seed, 1, int(e)]).permutation(len(self.clips))
               for e in np.unique(epochs)}
      indices = [int(order[int(e)][o]) for e, o in zip(epochs, offsets)]
      seeds = [(seed, int(p)) for p in positions]
      examples = [self._augmented(self.clips[i], s, keys, image_size, scale_range)
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

  def _streamed_batches(self, batch_size, keys, image_size, scale_range, seed, start_step,
                        shard) -> Iterator[Batch]:
    """Batches of clips decoded as they are needed: the process's sources (every
    count-th, from `index`) in a new order each epoch, decoded `workers` at a time
    into a shuffle buffer of `shuffle_buffer` clips. Seeded by (seed, start_step,
    index): a resumed run reseeds with its step (as the TFRecord path does when its
    iterator cannot be saved) instead of replaying the clips."""
    index, count = shard
    mine = list(range(index, len(self.sources), count))
    if not mine:
      raise errors.TrainingError(f"{self._input_spec}: {len(self.sources)} sources cannot feed "
                                 f"{count} processes")
    part = batch_size // count
    rng = np.random.default_rng([seed, 2, start_step, index])

    def clip_stream():
      with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
        for epoch in itertools.count():
          order = np.random.default_rng([seed, 3, start_step, index, epoch]).permutation(mine)
          produced = 0
          for decoded in _ordered(pool, self._decode, [int(i) for i in order],
                                  2 * self.workers):
            produced += len(decoded)
            yield from decoded
          if not produced:
            raise errors.TrainingError(f"{self._input_spec}: no clip of {self.clip_len} "
                                       "frames in any source")

    stream = clip_stream()
    buffer = [next(stream) for _ in range(self.shuffle_buffer)]
    with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
      for step in itertools.count(start_step):
        chosen = []
        for _ in range(part):
          slot = int(rng.integers(len(buffer)))
          chosen.append(buffer[slot])
          buffer[slot] = next(stream)
        positions = np.arange(step * batch_size, (step + 1) * batch_size)[
            index * part:(index + 1) * part]
        seeds = [(seed, int(p)) for p in positions]
        examples = list(pool.map(
            lambda args: self._augmented(args[0], args[1], keys, image_size, scale_range),
            zip(chosen, seeds)))
        batch = {k: np.stack([e[k] for e in examples]) for k in keys}
        batch[clip_features.AUGMENT_SEED] = np.array(seeds, np.int64)
        yield batch

  def eval_batch(self, count: int, keys: Sequence[str], image_size: int) -> Batch:
    """The first `count` clips, whole frames resized (no augmentation)."""
    if self.streaming:  # decode sources in order until there are enough clips
      first = []
      for index in range(len(self.sources)):
        if len(first) >= count:
          break
        first += self._decode(index)[:count - len(first)]
    else:
      first = self.clips[:count]
    examples = []
    for frames in first:
      resized = np.stack([cv2.resize(f, (image_size, image_size), interpolation=cv2.INTER_AREA)
                          for f in frames])
      examples.append(self._features(resized, keys))
    batch = {k: np.stack([e[k] for e in examples]) for k in keys}
    batch[clip_features.AUGMENT_SEED] = np.zeros((len(examples), 2), np.int64)
    return batch
