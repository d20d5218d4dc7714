"""tf.data input pipeline over clip TFRecords, built from pure `dict -> dict` steps.

Output of `make_dataset` (per element, before batching):
  "lightness": float32 [T, S, S, 1]  L in [0, 100]            (key LIGHTNESS)
  "ab_codes":  int32   [T, S, S]     codebook index           (key AB_CODES)
  "rgb":       float32 [T, S, S, 3]  sRGB in [0, 1]           (key RGB)
  "augment_seed": int64 [2]           the clip's stateless seed (zeros in evaluation)
where T = clip length and S = `image_size`. Only the requested keys are
decoded: the colorization model reads lightness and codes, MAST reads rgb.
"""

import functools
from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow as tf

from colortrack import errors
from colortrack.data import clip_features
from colortrack.data import schema

# The feature names (clip_features, shared with the TF-free video source).
LIGHTNESS = clip_features.LIGHTNESS
AB_CODES = clip_features.AB_CODES
RGB = clip_features.RGB
AUGMENT_SEED = clip_features.AUGMENT_SEED  # int64 [2]: seed of a clip's stateless augmentation
_STORED_KEY = {LIGHTNESS: schema.LIGHTNESS_PNG, AB_CODES: schema.AB_CODES_PNG,
               RGB: schema.RGB_JPEG}

Features = Dict[str, tf.Tensor]


def parse_clip(serialized: tf.Tensor, keys: Sequence[str]) -> Features:
  """Parses one serialized Example; frame images stay encoded."""
  spec = {
      schema.NUM_FRAMES: tf.io.FixedLenFeature([], tf.int64),
      schema.HEIGHT: tf.io.FixedLenFeature([], tf.int64),
      schema.WIDTH: tf.io.FixedLenFeature([], tf.int64),
      schema.CODEBOOK_SHA: tf.io.FixedLenFeature([], tf.string),
      schema.VIDEO_ID: tf.io.FixedLenFeature([], tf.string),
  }
  for key in keys:
    spec[_STORED_KEY[key]] = tf.io.VarLenFeature(tf.string)
  parsed = tf.io.parse_single_example(serialized, spec)
  for key in keys:
    parsed[_STORED_KEY[key]] = tf.sparse.to_dense(parsed[_STORED_KEY[key]])
  return parsed


def _decode_each(encoded: tf.Tensor, channels: int) -> tf.Tensor:
  return tf.map_fn(lambda b: tf.io.decode_image(b, channels=channels, expand_animations=False),
                   encoded, fn_output_signature=tf.TensorSpec([None, None, channels], tf.uint8))


def decode_frames(features: Features, keys: Sequence[str], clip_len: int) -> Features:
  """Encoded frames -> float/int tensors with static frame count `clip_len`."""
  height = tf.cast(features[schema.HEIGHT], tf.int32)
  width = tf.cast(features[schema.WIDTH], tf.int32)
  out = {"video_id": features[schema.VIDEO_ID], "codebook_sha": features[schema.CODEBOOK_SHA]}
  if AUGMENT_SEED in features:
    out[AUGMENT_SEED] = features[AUGMENT_SEED]
  channels = {LIGHTNESS: 1, AB_CODES: 1, RGB: 3}
  for key in keys:
    frames = _decode_each(features[_STORED_KEY[key]][:clip_len], channels[key])
    frames = tf.reshape(frames, [clip_len, height, width, channels[key]])
    if key == LIGHTNESS:
      out[key] = tf.cast(frames, tf.float32) / schema.LIGHTNESS_UINT8_SCALE
    elif key == AB_CODES:
      out[key] = tf.cast(frames[..., 0], tf.int32)
    else:
      out[key] = tf.cast(frames, tf.float32) / 255.0
  return out


def _resize(frames: tf.Tensor, size: int, nearest: bool) -> tf.Tensor:
  method = "nearest" if nearest else "bilinear"
  return tf.image.resize(frames, [size, size], method=method, antialias=not nearest)


def random_crop_flip(features: Features, keys: Sequence[str], image_size: int,
                     scale_range: Tuple[float, float]) -> Features:
  """One random square crop and one random flip, shared by all frames and keys.

  The crop side is a uniform fraction `scale_range` of the shorter image side;
  the crop is resized to `image_size` (bilinear, codes nearest). Randomness is
  stateless, from `features[AUGMENT_SEED]` (int64 `[2]`): the same seed gives the
  same crop, and the input iterator can be saved in a checkpoint.
  """
  seeds = tf.random.experimental.stateless_split(features[AUGMENT_SEED], 4)
  reference = features[keys[0]]
  height, width = tf.shape(reference)[1], tf.shape(reference)[2]
  short = tf.cast(tf.minimum(height, width), tf.float32)
  scale = tf.random.stateless_uniform([], seeds[0], scale_range[0], scale_range[1])
  side = tf.maximum(tf.cast(tf.round(short * scale), tf.int32), 1)
  top = tf.random.stateless_uniform([], seeds[1], 0, height - side + 1, dtype=tf.int32)
  left = tf.random.stateless_uniform([], seeds[2], 0, width - side + 1, dtype=tf.int32)
  flip = tf.random.stateless_uniform([], seeds[3]) < 0.5
  out = dict(features)
  for key in keys:
    frames = features[key]
    is_codes = key == AB_CODES
    if is_codes:
      frames = frames[..., None]
    frames = frames[:, top:top + side, left:left + side]
    frames = tf.cond(flip, lambda f=frames: tf.reverse(f, axis=[2]), lambda f=frames: f)
    frames = _resize(frames, image_size, nearest=is_codes)
    out[key] = tf.cast(frames[..., 0], tf.int32) if is_codes else frames
  return out


def resize_frames(features: Features, keys: Sequence[str], image_size: int) -> Features:
  """Deterministic evaluation-time twin of `random_crop_flip`: whole frame, resized."""
  out = dict(features)
  for key in keys:
    if key == AB_CODES:
      out[key] = tf.cast(_resize(features[key][..., None], image_size, True)[..., 0], tf.int32)
    else:
      out[key] = _resize(features[key], image_size, False)
  return out


def make_dataset(file_pattern: str, batch_size: int, keys: Sequence[str] = (LIGHTNESS, AB_CODES),
                 clip_len: int = 4, image_size: int = 256, is_training: bool = True,
                 scale_range: Tuple[float, float] = (0.7, 1.0),
                 input_context: Optional[tf.distribute.InputContext] = None,
                 shuffle_buffer: int = 512, cycle_length: int = 8,
                 seed: Optional[int] = None) -> tf.data.Dataset:
  """Batched clips from TFRecord shards matching `file_pattern` (comma-separated ok).

  `batch_size` is the global batch; with an `input_context` (from
  `strategy.distribute_datasets_from_function`) files are sharded over input
  pipelines and each gets the per-replica batch. Training repeats forever with
  shuffling and augmentation; evaluation reads each clip once, in order.
  """
  files = match_files(file_pattern)
  dataset = tf.data.Dataset.from_tensor_slices(files)
  if input_context is not None:
    if len(files) >= input_context.num_input_pipelines:
      dataset = dataset.shard(input_context.num_input_pipelines,
                              input_context.input_pipeline_id)
    batch_size = input_context.get_per_replica_batch_size(batch_size)
  if is_training:
    dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True).repeat()
  dataset = dataset.interleave(
      tf.data.TFRecordDataset, cycle_length=cycle_length,
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=not is_training)
  if input_context is not None and len(files) < input_context.num_input_pipelines:
    # Too few files to shard by file: shard by record instead.
    dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
  if is_training:
    dataset = dataset.shuffle(shuffle_buffer, seed=seed)
    # A pair of int64 seeds per clip for stateless augmentation.
    dataset = tf.data.Dataset.zip(dataset, tf.data.Dataset.random(seed=seed).batch(2))
  else:
    dataset = dataset.map(lambda serialized: (serialized, tf.zeros([2], tf.int64)))
  keys = tuple(keys)
  steps = [functools.partial(decode_frames, keys=keys, clip_len=clip_len)]
  if is_training:
    steps.append(functools.partial(random_crop_flip, keys=keys, image_size=image_size,
                                   scale_range=scale_range))
  else:
    steps.append(functools.partial(resize_frames, keys=keys, image_size=image_size))

  def apply_steps(serialized, augment_seed):
    features = parse_clip(serialized, keys)
    features[AUGMENT_SEED] = augment_seed
    for step in steps:
      features = step(features)
    return {key: features[key] for key in keys + (AUGMENT_SEED,)}

  dataset = dataset.map(apply_steps, num_parallel_calls=tf.data.AUTOTUNE,
                        deterministic=not is_training)
  dataset = dataset.batch(batch_size, drop_remainder=is_training)
  return dataset.prefetch(tf.data.AUTOTUNE)


class DataError(errors.UserError):
  """Training data cannot be used: no files, a truncated or corrupt shard, mixed codebooks."""


def match_files(file_pattern: str) -> List[str]:
  """Sorted TFRecord files matching comma-separated globs; DataError when none."""
  patterns = [p for p in file_pattern.split(",") if p]
  files = sorted(set(tf.io.gfile.glob(patterns))) if patterns else []
  if not files:
    raise DataError(f"{file_pattern}: no TFRecord files match")
  return files


def shard_manifest_path(path: str) -> str:
  """The per-shard manifest data_prep.build_tfrecords writes beside a shard."""
  return path[:-len(schema.SHARD_SUFFIX)] + ".manifest.json" if path.endswith(
      schema.SHARD_SUFFIX) else path + ".manifest.json"


def check_shard_sizes(files: Sequence[str]) -> None:
  """Cheap up-front check: a shard whose size differs from its manifest's is truncated."""
  import json  # pylint: disable=g-import-not-at-top
  import os  # pylint: disable=g-import-not-at-top
  for path in files:
    manifest_path = shard_manifest_path(path)
    if not os.path.exists(manifest_path):
      continue
    try:
      with open(manifest_path) as f:
        expected = json.load(f).get("bytes")
    except (OSError, ValueError, AttributeError):
      continue
    if expected is not None and os.path.getsize(path) != expected:
      raise DataError(f"{path}: shard is {os.path.getsize(path)} bytes but its manifest says "
                      f"{expected} (truncated or changed); rebuild it with "
                      "data_prep.build_tfrecords")


def find_unreadable_shard(files: Sequence[str]) -> Optional[str]:
  """The first file whose records cannot all be read (length or CRC errors), else None."""
  for path in files:
    try:
      for _ in tf.data.TFRecordDataset(path, buffer_size=1 << 20):
        pass
    except (tf.errors.DataLossError, tf.errors.OutOfRangeError,
            tf.errors.InvalidArgumentError):
      return path
  return None


def read_codebook(file_pattern: str):
  """(centroids `[K, 2]`, sha) stored in the clips; DataError when files disagree.

  Reads the first clip of every file (cheap), so shards made with two
  different codebooks are refused before training starts.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  found = {}  # sha -> (centroids, first file)
  for path in match_files(file_pattern):
    try:
      for serialized in tf.data.TFRecordDataset(path).take(1):
        feature = tf.train.Example.FromString(serialized.numpy()).features.feature
        centroids = np.array(feature[schema.CODEBOOK_CENTROIDS].float_list.value, np.float32)
        sha = feature[schema.CODEBOOK_SHA].bytes_list.value[0].decode()
        found.setdefault(sha, (centroids.reshape(-1, 2), path))
    except (tf.errors.OpError, IndexError, ValueError) as e:
      raise DataError(f"{path}: not a colortrack clip shard ({errors.first_line(e)})") from e
  if not found:
    raise DataError(f"{file_pattern}: no TFRecord file with a clip matches")
  if len(found) > 1:
    (sha_a, (_, path_a)), (sha_b, (_, path_b)) = list(found.items())[:2]
    raise DataError(f"{path_b}: made with codebook {sha_b}, but {path_a} with {sha_a}; "
                    "train on shards of one codebook")
  sha, (centroids, _) = next(iter(found.items()))
  return centroids, sha
