"""Finding sources and decoding them, including bad input."""

import os

import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from colortrack.data import synthetic
from colortrack.data import video_io
from tests import testing_utils


class ResampleTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ("30_to_6", 30.0, 6.0, [0, 5, 10, 15]),
      ("24_to_6", 24.0, 6.0, [0, 4, 8, 12, 16]),
      ("25_to_6", 25.0, 6.0, [0, 5, 9, 13, 17]),  # slots start at 25/6*n: 0, 4.17, 8.33, 12.5
      ("same_rate", 6.0, 6.0, list(range(20))),
      ("no_upsampling", 5.0, 6.0, list(range(20))),
      ("zero_keeps_all", 30.0, 0.0, list(range(20))),
  )
  def test_resample_keep(self, source_fps, target_fps, expected_prefix):
    kept = [i for i in range(20) if video_io.resample_keep(i, source_fps, target_fps)]
    self.assertEqual(kept[:len(expected_prefix)], expected_prefix)


class FindSourcesTest(tf.test.TestCase):

  def test_videos_frame_folders_and_nesting(self):
    root = self.get_temp_dir()
    for rel in ("classA/b.mp4", "classA/a.AVI", "c.webm", "notes.txt",
                "frames/seq1/00000.jpg", "frames/seq1/00001.jpg", "frames/seq2/00000.png"):
      path = os.path.join(root, rel)
      os.makedirs(os.path.dirname(path), exist_ok=True)
      open(path, "wb").close()
    sources = video_io.find_sources(root)
    rel = [(os.path.relpath(s.path, root), s.is_frame_folder) for s in sources]
    self.assertEqual(rel, [("c.webm", False), ("classA/a.AVI", False), ("classA/b.mp4", False),
                           ("frames/seq1", True), ("frames/seq2", True)])

  def test_glob_and_comma_list(self):
    root = self.get_temp_dir()
    for name in ("x1.mp4", "x2.mp4", "y.mp4"):
      open(os.path.join(root, name), "wb").close()
    sources = video_io.find_sources(os.path.join(root, "x*.mp4") + "," + os.path.join(root, "y.mp4"))
    self.assertEqual([s.name for s in sources], ["x1.mp4", "x2.mp4", "y.mp4"])

  def test_missing_input_finds_nothing(self):
    with self.assertLogs(level="WARNING") as logs:
      self.assertEqual(video_io.find_sources("/does/not/exist"), [])
    self.assertIn("/does/not/exist: no such file or folder", logs.output[0])


class FrameReaderTest(tf.test.TestCase):

  def test_video_file_resampled(self):
    path = testing_utils.write_tiny_videos(self.get_temp_dir(), num_videos=1)[0]
    reader = video_io.FrameReader(video_io.VideoSource(path, False), target_fps=6.0)
    frames = list(reader)
    # 24 frames at 24 fps -> frames 0, 4, ..., 20 at 6 fps.
    self.assertEqual([f.index for f in frames], [0, 4, 8, 12, 16, 20])
    self.assertEqual(reader.frames_decoded, 24)
    self.assertEqual(frames[0].rgb.shape, (48, 64, 3))
    self.assertEqual(frames[0].rgb.dtype, np.uint8)

  def test_video_frames_match_source_colours(self):
    video = synthetic.generate_video(3, num_frames=4, height=48, width=64)
    path = os.path.join(self.get_temp_dir(), "v.mp4")
    synthetic.write_video_file(path, video.frames, video.fps)
    decoded = np.stack([f.rgb for f in video_io.FrameReader(video_io.VideoSource(path, False))])
    # RGB order, not BGR: lossy mp4 keeps the mean colour of each channel.
    self.assertAllClose(decoded.mean(axis=(0, 1, 2)), video.frames.mean(axis=(0, 1, 2)), atol=4)

  def test_frame_folder_ignores_non_images(self):
    folder = os.path.join(self.get_temp_dir(), "seq")
    testing_utils.write_frame_folder(folder, synthetic.generate_video(0, 8, 32, 32).frames)
    with open(os.path.join(folder, "README.txt"), "w") as f:
      f.write("hello")
    with self.assertLogs(level="WARNING") as logs:
      frames = list(video_io.FrameReader(video_io.VideoSource(folder, True), 0.0))
    self.assertLen(frames, 8)
    self.assertIn("README.txt", logs.output[0])

  def test_frame_folder_mixed_resolutions(self):
    folder = os.path.join(self.get_temp_dir(), "mixed")
    testing_utils.write_frame_folder(folder, synthetic.generate_video(0, 3, 32, 32).frames)
    testing_utils.write_frame_folder(os.path.join(folder, "x"), np.zeros((1, 16, 16, 3), np.uint8))
    os.replace(os.path.join(folder, "x", "00000.png"), os.path.join(folder, "00009.png"))
    with self.assertRaisesRegex(video_io.VideoReadError,
                                "mixed resolutions: 00000.png is 32x32 but 00009.png is 16x16"):
      list(video_io.FrameReader(video_io.VideoSource(folder, True)))

  def test_corrupt_and_empty_video_files(self):
    corrupt = os.path.join(self.get_temp_dir(), "corrupt.mp4")
    with open(corrupt, "wb") as f:
      f.write(os.urandom(4096))
    empty = os.path.join(self.get_temp_dir(), "empty.mp4")
    open(empty, "wb").close()
    for path in (corrupt, empty):
      with self.assertRaises(video_io.VideoReadError):
        list(video_io.FrameReader(video_io.VideoSource(path, False)))


if __name__ == "__main__":
  tf.test.main()
