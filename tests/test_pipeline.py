"""tf.data pipeline on fake TFRecords written to a temp dir."""

import os

import numpy as np
import tensorflow as tf

from colortrack.data import clips
from colortrack.data import pipeline
from colortrack.data import schema
from colortrack.data import inspect
from tests import testing_utils


def write_fake_shards(folder, num_shards=2, clips_per_shard=3, size=16, clip_len=4):
  """Clips whose lightness encodes (clip id, frame, row, col) so crops can be checked.

  Lightness uint8 value = (x + y) % 200 + frame, codes = value // 16 (a pure
  function of lightness, so a crop/flip applied consistently keeps the relation).
  """
  codebook = testing_utils.hue_codebook(num_clusters=16)
  paths = []
  y, x = np.mgrid[0:size, 0:size]
  for shard in range(num_shards):
    path = os.path.join(folder, schema.shard_name(shard, num_shards))
    with tf.io.TFRecordWriter(path) as writer:
      for c in range(clips_per_shard):
        frames = []
        for t in range(clip_len):
          value = ((x + 3 * y) % 200 + t).astype(np.uint8)
          rgb = np.repeat(value[..., None], 3, axis=-1)
          frames.append(clips.PreparedFrame(
              t, clips._encode_png(value), clips._encode_png((value // 16).astype(np.uint8)),
              tf.io.encode_jpeg(rgb).numpy(), True))
        writer.write(clips.encode_clip(frames, f"video{shard}_{c}", c, 6.0, size, codebook))
    paths.append(path)
  return paths


class PipelineTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.folder = self.create_tempdir().full_path
    write_fake_shards(self.folder)
    self.pattern = os.path.join(self.folder, "*.tfrecord")

  def test_training_batches_shapes_and_dtypes(self):
    dataset = pipeline.make_dataset(self.pattern, batch_size=4, image_size=12, seed=1,
                                    keys=(pipeline.LIGHTNESS, pipeline.AB_CODES, pipeline.RGB))
    batch = next(iter(dataset))
    self.assertEqual(batch["lightness"].shape, (4, 4, 12, 12, 1))
    self.assertEqual(batch["ab_codes"].shape, (4, 4, 12, 12))
    self.assertEqual(batch["rgb"].shape, (4, 4, 12, 12, 3))
    self.assertEqual(batch["ab_codes"].dtype, tf.int32)
    self.assertAllInRange(batch["lightness"], 0.0, 100.0)

  def test_eval_reads_every_clip_once_in_order(self):
    dataset = pipeline.make_dataset(self.pattern, batch_size=4, image_size=16, is_training=False)
    sizes = [int(b["lightness"].shape[0]) for b in dataset]
    self.assertEqual(sizes, [4, 2])  # 6 clips, last batch kept in evaluation

  def test_crop_and_flip_are_shared_by_frames_and_keys(self):
    # Crop side = 0.5 * 16 = 8 = image_size: no resampling, so values survive exactly.
    dataset = pipeline.make_dataset(self.pattern, batch_size=6, image_size=8, seed=3,
                                    scale_range=(0.5, 0.5))
    batch = next(iter(dataset))
    value = np.round(batch["lightness"].numpy()[..., 0] * schema.LIGHTNESS_UINT8_SCALE)
    # Codes stay the same function of lightness: the same crop/flip hit both keys.
    self.assertAllEqual(batch["ab_codes"].numpy(), value.astype(np.int64) // 16)
    # Frame t = frame 0 + t everywhere: the same crop/flip hit every frame.
    for t in range(4):
      self.assertAllEqual(value[:, t], value[:, 0] + t)
    # Neighbouring columns differ by +1 (no flip) or -1 (flip), the same within a clip.
    steps = np.unique(np.diff(value[:, 0], axis=-1).reshape(6, -1), axis=1)
    self.assertAllInSet(steps, [-1.0, 1.0, -199.0, 199.0])

  def test_input_context_shards_files(self):
    counts = []
    for pipeline_id in range(2):
      context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline_id,
                                           num_replicas_in_sync=2)
      dataset = pipeline.make_dataset(self.pattern, batch_size=4, is_training=False,
                                      image_size=16, input_context=context)
      # Global batch 4 over 2 replicas -> 2 per replica; one file (3 clips) each.
      counts.append([int(b["lightness"].shape[0]) for b in dataset])
    self.assertEqual(counts, [[2, 1], [2, 1]])

  def test_decode_steps_inside_dataset_map_equal_eager(self):
    serialized = next(iter(tf.data.TFRecordDataset(sorted(tf.io.gfile.glob(self.pattern)))))
    keys = (pipeline.LIGHTNESS, pipeline.AB_CODES)
    eager = pipeline.decode_frames(pipeline.parse_clip(serialized, keys), keys, 4)
    mapped = next(iter(tf.data.Dataset.from_tensors(serialized).map(
        lambda s: pipeline.decode_frames(pipeline.parse_clip(s, keys), keys, 4))))
    for key in keys:
      self.assertAllEqual(eager[key], mapped[key])

  def test_no_files(self):
    with self.assertRaisesRegex(pipeline.DataError, "no TFRecord files"):
      pipeline.make_dataset(os.path.join(self.folder, "nothing*.tfrecord"), batch_size=2)

  def test_inspect_writes_strips(self):
    out = os.path.join(self.folder, "inspect")
    paths = inspect.write_strips(self.pattern, out, num_clips=2)
    self.assertLen(paths, 2)
    strip = tf.io.decode_png(tf.io.read_file(paths[0])).numpy()
    # 3 rows (gray input, colours, codes) of 4 frames of 16 x 16, a label column at the left.
    self.assertEqual(strip.shape[0], 3 * 16)
    self.assertGreater(strip.shape[1], 4 * 16)
    self.assertGreater(strip[:, :strip.shape[1] - 4 * 16].mean(), 200)


if __name__ == "__main__":
  tf.test.main()
