"""The data_prep binaries end to end on synthetic video, as a user runs them."""

import glob
import json
import os
import subprocess
import sys

import tensorflow as tf

from tests import testing_utils


def run_binary(module, *args):
  return subprocess.run([sys.executable, "-m", module, *args], cwd=testing_utils.REPO_ROOT,
                        capture_output=True, text=True, timeout=300, check=False)


class DataPrepBinariesTest(tf.test.TestCase):

  def test_make_fit_build_inspect(self):
    root = self.create_tempdir().full_path
    steps = [
        ("data_prep.make_synthetic", f"--output_dir={root}/syn", "--num_videos=2",
         "--num_frames=24", "--height=48", "--width=64"),
        ("data_prep.fit_codebook", f"--input={root}/syn/videos", f"--output={root}/cb.npz",
         "--num_clusters=8"),
        ("data_prep.build_tfrecords", f"--input={root}/syn/videos", f"--codebook={root}/cb.npz",
         f"--output_dir={root}/clips", "--size=32"),
        ("data_prep.inspect_tfrecords", f"--input={root}/clips/*.tfrecord",
         f"--output_dir={root}/inspect", "--num_clips=2"),
    ]
    for step in steps:
      result = run_binary(*step)
      self.assertEqual(result.returncode, 0, msg=f"{step[0]}:\n{result.stderr[-3000:]}")
    with open(f"{root}/clips/manifest.json") as f:
      self.assertEqual(json.load(f)["clips"], 2)
    self.assertLen(glob.glob(f"{root}/inspect/*.png"), 2)

  def test_bad_codebook_is_one_clear_line_and_exit_1(self):
    root = self.create_tempdir().full_path
    video, = testing_utils.write_tiny_videos(root, num_videos=1)
    result = run_binary("data_prep.build_tfrecords", f"--input={video}",
                        f"--codebook={root}/nope.npz", f"--output_dir={root}/out")
    self.assertEqual(result.returncode, 1)
    errors = [l for l in result.stderr.splitlines() if l.startswith("E")]
    self.assertLen(errors, 1)
    self.assertIn(f"{root}/nope.npz: codebook file not found", errors[0])

  def test_nothing_written_exits_non_zero(self):
    root = self.create_tempdir().full_path
    with open(os.path.join(root, "corrupt.mp4"), "wb") as f:
      f.write(b"\x00" * 100)
    from colortrack.data import codebook as codebook_lib  # pylint: disable=g-import-not-at-top
    codebook_lib.save(testing_utils.hue_codebook(), os.path.join(root, "cb.npz"))
    result = run_binary("data_prep.build_tfrecords", f"--input={root}/corrupt.mp4",
                        f"--codebook={root}/cb.npz", f"--output_dir={root}/out")
    self.assertEqual(result.returncode, 1)
    self.assertIn("corrupt.mp4: cannot open video", result.stderr)
    self.assertIn("no clips could be written", result.stderr)


if __name__ == "__main__":
  tf.test.main()
