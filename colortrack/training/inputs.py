"""Where training clips come from: TFRecord shards through tf.data, or videos through numpy.

`config.data.source`:
  "tfrecord" (default)  shards of data_prep.build_tfrecords matching
                        `data.train_pattern`; tf.data, the scalable path; needs TensorFlow.
  "video"               videos / frame folders under `data.train_pattern`, decoded with
                        OpenCV into memory (`colortrack.data.video_clips`), quantized with
                        the codebook file `data.codebook`; needs only numpy and OpenCV.
Both give the same batch features (`colortrack.data.clip_features`) and the
same augmentation. TensorFlow is imported only for the "tfrecord" source.
"""

import logging
from typing import Dict, Iterator, Optional, Sequence, Tuple

import numpy as np

from colortrack import errors

SOURCES = ("tfrecord", "video")


class TrainingInputs:
  """The clips of `config.data`, checked up front; codebook `centroids` and `codebook_sha`."""

  def __init__(self, config):
    self.config = config
    self.source = config.data.get("source", "tfrecord")
    if not config.data.train_pattern:
      raise errors.TrainingError("config.data.train_pattern is required "
                             "(--config.data.train_pattern='DIR/*.tfrecord')")
    if self.source == "tfrecord":
      from colortrack.data import pipeline  # pylint: disable=g-import-not-at-top
      self.files = pipeline.match_files(config.data.train_pattern)
      pipeline.check_shard_sizes(self.files)
      self.centroids, self.codebook_sha = pipeline.read_codebook(config.data.train_pattern)
      self._videos = None
    elif self.source == "video":
      from colortrack.data import codebook as codebook_lib  # pylint: disable=g-import-not-at-top
      if not config.data.get("codebook"):
        raise errors.TrainingError("config.data.codebook is required with data.source=video "
                               "(a codebook from data_prep.fit_codebook)")
      codebook = codebook_lib.load(config.data.codebook)
      self.files = []
      self.centroids, self.codebook_sha = codebook.centroids, codebook.sha
      self._codebook = codebook
      self._videos = None
    else:
      raise errors.TrainingError(f"config.data.source={self.source!r}: use one of {SOURCES}")

  @property
  def description(self) -> str:
    return f"{self.source} {self.config.data.train_pattern}"

  def videos(self):
    """The decoded clips of the "video" source (decoded on first use)."""
    if self._videos is None:
      from colortrack.data import video_clips  # pylint: disable=g-import-not-at-top
      data = self.config.data
      self._videos = video_clips.VideoClipSource(
          data.train_pattern, self._codebook, clip_len=data.clip_len, fps=data.fps,
          stored_size=data.stored_size, clip_stride=data.clip_stride,
          memory_gib=data.get("video_memory_gib", 8.0), shuffle_buffer=data.shuffle_buffer)
    return self._videos

  def numpy_batches(self, keys: Sequence[str], batch_size: int, seed: int,
                    start_step: int, shard: Tuple[int, int] = (0, 1)
                    ) -> Iterator[Dict[str, np.ndarray]]:
    """Endless training batches as numpy, from step `start_step` on (a resumed run's).

    `shard` (index, count): the part of each global batch of `batch_size` that
    process `index` of `count` reads (video: the same clips a single process would
    see, split; TFRecords: every count-th shard file, as tf.distribute splits them).
    """
    data = self.config.data
    scale_range = (data.crop_scale_min, 1.0)
    index, count = shard
    if self.source == "video":
      return self.videos().batches(batch_size, keys, data.image_size, scale_range, seed,
                                   start_step, shard=shard)
    context = None
    if count > 1:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      context = tf.distribute.InputContext(count, index, count)
    dataset = self.tf_dataset(keys, batch_size, seed + start_step, context)
    return dataset.as_numpy_iterator()

  def tf_dataset(self, keys: Sequence[str], batch_size: int, seed: int, input_context=None,
                 start_step: int = 0):
    """The training batches as a tf.data.Dataset (per replica with `input_context`)."""
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    data = self.config.data
    if self.source == "video":
      shard = (0, 1)
      if input_context is not None:
        # Each input pipeline (worker) reads its own part of the clip stream.
        shard = (input_context.input_pipeline_id, input_context.num_input_pipelines)
        batch_size = input_context.get_per_replica_batch_size(batch_size)
      example = self.videos().eval_batch(1, keys, data.image_size)
      signature = {k: tf.TensorSpec((batch_size,) + v.shape[1:], v.dtype)
                   for k, v in example.items()}
      return tf.data.Dataset.from_generator(
          lambda: self.numpy_batches(keys, batch_size * shard[1], seed, start_step, shard),
          output_signature=signature)
    from colortrack.data import pipeline  # pylint: disable=g-import-not-at-top
    return pipeline.make_dataset(
        data.train_pattern, batch_size=batch_size, keys=keys, clip_len=data.clip_len,
        image_size=data.image_size, is_training=True, scale_range=(data.crop_scale_min, 1.0),
        input_context=input_context, shuffle_buffer=data.shuffle_buffer,
        cycle_length=data.cycle_length, seed=seed)

  def eval_batch(self, keys: Sequence[str], count: int = 2) -> Dict[str, np.ndarray]:
    """The first `count` clips, whole frames, no augmentation (TensorBoard pictures)."""
    data = self.config.data
    if self.source == "video":
      return self.videos().eval_batch(count, keys, data.image_size)
    from colortrack.data import pipeline  # pylint: disable=g-import-not-at-top
    dataset = pipeline.make_dataset(data.train_pattern, batch_size=count, keys=keys,
                                    clip_len=data.clip_len, image_size=data.image_size,
                                    is_training=False)
    batch = next(dataset.as_numpy_iterator())
    batch.pop("augment_seed", None)
    return batch

  # The errors TensorFlow's reader raises for a damaged shard (by name: the JAX runner
  # does not import TensorFlow itself).
  READ_ERRORS = ("DataLossError", "InvalidArgumentError")

  def read_error(self, error: BaseException, step: int,
                 latest_checkpoint: Optional[str]) -> errors.TrainingError:
    """The one-line error for a failed read of the clips: the damaged shard, if found."""
    bad = self.find_unreadable_file()
    where = f"{bad}: unreadable record" if bad else "reading the clips failed"
    return errors.TrainingError(
        f"{where} at step {step} ({errors.first_line(error)[:120]}); the last checkpoint is "
        f"{latest_checkpoint or 'none'}")

  def find_unreadable_file(self) -> Optional[str]:
    """After a read error: the first shard whose records do not all read back."""
    if self.source != "tfrecord":
      return None
    from colortrack.data import pipeline  # pylint: disable=g-import-not-at-top
    logging.info("looking for the unreadable shard among %d files", len(self.files))
    return pipeline.find_unreadable_shard(self.files)
