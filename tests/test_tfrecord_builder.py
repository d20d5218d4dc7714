"""The TFRecord builder: clips, sharding, manifests, resume, and bad input."""

import json
import os

import numpy as np
import tensorflow as tf

from colortrack.data import clips
from colortrack.data import codebook as codebook_lib
from colortrack.data import schema
from colortrack.data import synthetic
from colortrack.data import tfrecord_builder
from colortrack.data import video_io
from colortrack.utils import files
from tests import testing_utils


def _frame(index):
  return clips.PreparedFrame(index, b"", b"", b"", True)


class GroupClipsTest(tf.test.TestCase):

  def test_non_overlapping(self):
    groups = clips.group_clips((_frame(i) for i in range(10)), clip_len=4, clip_stride=4)
    self.assertEqual([[f.source_index for f in g] for g in groups], [[0, 1, 2, 3], [4, 5, 6, 7]])

  def test_overlapping_and_sparse(self):
    overlapping = clips.group_clips((_frame(i) for i in range(6)), clip_len=4, clip_stride=1)
    self.assertEqual([g[0].source_index for g in overlapping], [0, 1, 2])
    sparse = clips.group_clips((_frame(i) for i in range(20)), clip_len=4, clip_stride=6)
    self.assertEqual([[f.source_index for f in g] for g in sparse],
                     [[0, 1, 2, 3], [6, 7, 8, 9], [12, 13, 14, 15]])


class BuilderTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = self.create_tempdir().full_path
    self.videos = os.path.join(self.root, "videos")
    testing_utils.write_tiny_videos(self.videos, num_videos=3)
    self.codebook_path = os.path.join(self.root, "codebook.npz")
    codebook_lib.save(testing_utils.hue_codebook(), self.codebook_path)

  def config(self, **overrides):
    kwargs = dict(input_spec=self.videos, codebook_path=self.codebook_path,
                  output_dir=os.path.join(self.root, "out"), size=32)
    kwargs.update(overrides)
    return tfrecord_builder.BuildConfig(**kwargs)

  def read_examples(self, output_dir):
    pattern = os.path.join(output_dir, "*" + schema.SHARD_SUFFIX)
    return [tf.train.Example.FromString(r.numpy())
            for r in tf.data.TFRecordDataset(sorted(tf.io.gfile.glob(pattern)))]

  def test_writes_clips_shards_and_manifest(self):
    summary = tfrecord_builder.build(self.config(num_shards=2))
    # 3 videos x 24 frames at 24 fps -> 6 frames at 6 fps -> 1 clip of 4 each.
    self.assertEqual(summary.clips_written, 3)
    self.assertEqual(summary.shards_written, 2)
    with open(summary.manifest_path) as f:
      manifest = json.load(f)
    self.assertEqual(manifest["clips"], 3)
    self.assertEqual(manifest["sources_ok"], 3)
    self.assertEqual([e["source_frames"] for e in manifest["sources"]], [24, 24, 24])
    examples = self.read_examples(os.path.join(self.root, "out"))
    self.assertLen(examples, 3)
    feature = examples[0].features.feature
    self.assertEqual(list(feature[schema.SOURCE_FRAME_INDICES].int64_list.value), [0, 4, 8, 12])
    self.assertLen(feature[schema.LIGHTNESS_PNG].bytes_list.value, 4)
    self.assertEqual(feature[schema.CODEBOOK_SHA].bytes_list.value[0].decode(),
                     testing_utils.hue_codebook().sha)

  def test_stored_codes_are_the_quantized_frame(self):
    video = synthetic.generate_video(5, num_frames=4, height=32, width=32)
    folder = os.path.join(self.root, "frames", "seq")
    testing_utils.write_frame_folder(folder, video.frames)
    out = os.path.join(self.root, "out_frames")
    tfrecord_builder.build(self.config(input_spec=folder, output_dir=out, fps=0.0))
    feature = self.read_examples(out)[0].features.feature
    codes = tf.io.decode_png(feature[schema.AB_CODES_PNG].bytes_list.value[2]).numpy()[..., 0]
    lightness = tf.io.decode_png(feature[schema.LIGHTNESS_PNG].bytes_list.value[2]).numpy()[..., 0]
    from colortrack.data import color  # pylint: disable=g-import-not-at-top
    lab = color.rgb_to_lab(video.frames[2])  # 32x32 in, 32x32 out: no resize
    self.assertAllEqual(codes, testing_utils.hue_codebook().quantize(lab[..., 1:]))
    self.assertAllClose(lightness / schema.LIGHTNESS_UINT8_SCALE, lab[..., 0], atol=0.5)

  def test_resume_skips_finished_shards_and_redoes_interrupted_one(self):
    config = self.config(num_shards=3)
    tfrecord_builder.build(config)
    out = config.output_dir
    # Simulate a kill during shard 1: its manifest is gone, a temp file is left.
    os.remove(os.path.join(out, schema.shard_manifest_name(1, 3)))
    os.remove(os.path.join(out, schema.MANIFEST_NAME))
    with open(os.path.join(out, ".clips-00001-of-00003.tfrecord.abc.tmp"), "w") as f:
      f.write("partial")
    summary = tfrecord_builder.build(config)
    self.assertEqual((summary.shards_written, summary.shards_reused), (1, 2))
    self.assertEqual(summary.clips_total, 3)
    self.assertIsNotNone(summary.manifest_path)
    self.assertLen(self.read_examples(out), 3)
    self.assertEqual([n for n in os.listdir(out) if n.endswith(".tmp")], [])

  def test_shard_index_writes_only_that_shard(self):
    summary = tfrecord_builder.build(self.config(num_shards=3, shard_index=2))
    self.assertEqual(summary.shards_written, 1)
    self.assertIsNone(summary.manifest_path)  # other shards are not done yet
    out = os.path.join(self.root, "out")
    self.assertEqual(sorted(n for n in os.listdir(out) if n != files.WRITTEN_RECORD),
                     [schema.shard_manifest_name(2, 3), schema.shard_name(2, 3)])
    with self.assertRaisesRegex(tfrecord_builder.BuildError, "outside"):
      tfrecord_builder.build(self.config(num_shards=3, shard_index=3))

  def test_shard_index_takes_ranges_and_lists_for_job_arrays(self):
    parse = tfrecord_builder.parse_shard_indices
    self.assertEqual(parse(5, 8), [5])
    self.assertEqual(parse("0-2,6,5-5", 8), [0, 1, 2, 5, 6])
    for bad in ("3-1", "7-9", "x", "1,,2"):
      with self.assertRaisesRegex(tfrecord_builder.BuildError, f"--shard_index={bad}"):
        parse(bad, 8)
    summary = tfrecord_builder.build(self.config(num_shards=3, shard_index="0-1"))
    self.assertEqual(summary.shards_written, 2)
    self.assertIsNone(summary.manifest_path)  # shard 2 is another task's
    summary = tfrecord_builder.build(self.config(num_shards=3, shard_index="2"))
    self.assertIsNotNone(summary.manifest_path)  # the last task finishes the dataset

  def test_a_job_array_writes_the_shards_of_one_process_and_lists_once(self):
    # Byte for byte (records are serialized deterministically), with the listing written
    # by the first task and read by the others.
    one = tfrecord_builder.build(self.config(num_shards=3, output_dir=os.path.join(
        self.root, "one")))
    listing = os.path.join(self.root, "listing.json")
    for task in ("0-1", "2"):
      tfrecord_builder.build(self.config(num_shards=3, shard_index=task, listing=listing,
                                         output_dir=os.path.join(self.root, "array")))
    self.assertEqual(one.shards_written, 3)
    for index in range(3):
      name = schema.shard_name(index, 3)
      self.assertEqual(files.sha256_of_files([os.path.join(self.root, "one", name)]),
                       files.sha256_of_files([os.path.join(self.root, "array", name)]))
    self.assertLen(files.read_json(listing)["sources"], 3)
    # A listing is of one input: another --input with it is refused in one line.
    with self.assertRaisesRegex(video_io.VideoReadError, "listing.json: lists the sources of"):
      tfrecord_builder.build(self.config(num_shards=3, listing=listing,
                                         input_spec=self.videos + "/tiny_0.mp4",
                                         output_dir=os.path.join(self.root, "other")))

  def test_codebook_job_array_merges_to_the_one_process_codebook(self):
    one = tfrecord_builder.fit_codebook(self.videos, os.path.join(self.root, "one.npz"),
                                        capacity=500)
    samples = os.path.join(self.root, "samples")
    for task in range(2):
      tfrecord_builder.sample_codebook_part(self.videos, samples, task, 2, capacity=500)
    with self.assertRaisesRegex(tfrecord_builder.BuildError, "different sizes"):
      tfrecord_builder.sample_codebook_part(self.videos, samples, 0, 3, capacity=500)
      tfrecord_builder.merge_codebook(samples, os.path.join(self.root, "bad.npz"))
    os.remove(tfrecord_builder.samples_part_path(samples, 0, 3))
    merged = tfrecord_builder.merge_codebook(samples, os.path.join(self.root, "merged.npz"))
    self.assertEqual(merged.sha, one.sha)
    os.remove(tfrecord_builder.samples_part_path(samples, 1, 2))
    with self.assertRaisesRegex(tfrecord_builder.BuildError, "samples-00001-of-00002.npz: missing"):
      tfrecord_builder.merge_codebook(samples, os.path.join(self.root, "again.npz"))

  def test_two_worker_processes(self):
    summary = tfrecord_builder.build(self.config(num_shards=3, workers=2))
    self.assertEqual(summary.clips_total, 3)
    self.assertEqual(summary.shards_written, 3)

  def test_bad_sources_are_reported_and_skipped(self):
    bad = self.videos
    with open(os.path.join(bad, "corrupt.mp4"), "wb") as f:
      f.write(os.urandom(2048))
    open(os.path.join(bad, "zero.mp4"), "wb").close()
    testing_utils.write_tiny_videos(os.path.join(self.root, "short"), num_videos=1, num_frames=8)
    os.replace(os.path.join(self.root, "short", "tiny_0.mp4"), os.path.join(bad, "short.mp4"))
    gray = synthetic.generate_video(9, num_frames=24, height=48, width=64).frames
    gray = np.repeat(gray.mean(axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1)
    synthetic.write_video_file(os.path.join(bad, "gray.mp4"), gray, 24.0)
    mixed = os.path.join(bad, "mixed_frames")
    testing_utils.write_frame_folder(mixed, synthetic.generate_video(0, 6, 32, 32).frames)
    testing_utils.write_frame_folder(os.path.join(self.root, "odd"), np.zeros((1, 16, 16, 3), np.uint8))
    os.replace(os.path.join(self.root, "odd", "00000.png"), os.path.join(mixed, "00006.png"))

    with self.assertLogs(level="WARNING") as logs:
      summary = tfrecord_builder.build(self.config(num_shards=1))
    self.assertEqual(summary.clips_written, 3)
    reasons = {os.path.basename(k): v for k, v in summary.skipped.items()}
    self.assertEqual(sorted(reasons), ["corrupt.mp4", "gray.mp4", "mixed_frames", "short.mp4",
                                       "zero.mp4"])
    self.assertIn("grayscale", reasons["gray.mp4"])
    self.assertIn("shorter than a clip: 2 frame(s) at 6 fps", reasons["short.mp4"])
    self.assertIn("mixed resolutions", reasons["mixed_frames"])
    self.assertIn("cannot open video", reasons["corrupt.mp4"])
    # One warning line per bad source, naming it, plus the closing summary line.
    for name in reasons:
      self.assertTrue(any(name in line and "skipped" in line for line in logs.output), name)
    self.assertTrue(any("skipped 5 source(s)" in line for line in logs.output))

  def test_output_dir_that_is_a_file(self):
    path = os.path.join(self.root, "a_file")
    open(path, "w").close()
    with self.assertRaisesRegex(tfrecord_builder.BuildError, "a_file: --output_dir is a file"):
      tfrecord_builder.build(self.config(output_dir=path))

  def test_missing_codebook(self):
    with self.assertRaisesRegex(codebook_lib.CodebookError, "missing.npz: codebook file not found"):
      tfrecord_builder.build(self.config(codebook_path=os.path.join(self.root, "missing.npz")))

  def test_mismatched_codebook_on_resume(self):
    tfrecord_builder.build(self.config(num_shards=1))
    other = os.path.join(self.root, "other.npz")
    codebook_lib.save(testing_utils.hue_codebook(num_clusters=6), other)
    with self.assertRaisesRegex(tfrecord_builder.BuildError, "built with codebook"):
      tfrecord_builder.build(self.config(num_shards=1, codebook_path=other))

  def test_changed_clip_params_on_resume(self):
    tfrecord_builder.build(self.config(num_shards=1))
    with self.assertRaisesRegex(tfrecord_builder.BuildError, "use a new --output_dir"):
      tfrecord_builder.build(self.config(num_shards=1, size=48))

  def test_no_sources(self):
    with self.assertRaisesRegex(tfrecord_builder.BuildError, "no video files"):
      tfrecord_builder.build(self.config(input_spec=os.path.join(self.root, "nothing_here")))

  def test_fit_codebook_from_videos(self):
    path = os.path.join(self.root, "fitted.npz")
    codebook = tfrecord_builder.fit_codebook(self.videos, path, num_clusters=4, capacity=5000)
    self.assertEqual(codebook_lib.load(path).num_clusters, 4)
    self.assertEqual(codebook.info["num_sources"], 3)
    # 3 videos x 1 frame/s x 1 s x 64 x 64 pixels were seen; 5000 kept.
    self.assertEqual(codebook.info["values_seen"], 3 * 64 * 64)
    self.assertEqual(codebook.info["num_samples"], 5000)


if __name__ == "__main__":
  tf.test.main()
