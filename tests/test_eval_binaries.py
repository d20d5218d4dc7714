"""eval.davis, eval.summarize, eval.jhmdb and eval.colorize, run as a user runs them."""

import csv
import json
import os
import subprocess
import sys
import pytest

import tensorflow as tf

from colortrack import pretrained
from colortrack.data import synthetic
from colortrack.utils import files
from tests import testing_utils


def run(module, *args):
  return subprocess.run([sys.executable, "-m", module, *args], cwd=testing_utils.REPO_ROOT,
                        capture_output=True, text=True, timeout=300, check=False)


class EvalBinariesTest(tf.test.TestCase):

  def test_davis_predict_score_resume_and_summarize(self):
    root = self.create_tempdir().full_path
    synthetic.write_dataset(root, num_videos=2, num_frames=8, height=48, width=64)
    davis_root = os.path.join(root, "davis")
    for method in ("identity", "flow"):
      result = run("eval.davis", f"--davis_root={davis_root}", f"--results_dir={root}/{method}",
                   f"--method={method}")
      self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
      self.assertIn("J&F-Mean", result.stdout)
      for name in ("global_results-val.csv", "per-sequence_results-val.csv",
                   "jf_over_time.png", "per_sequence.png"):
        self.assertTrue(os.path.exists(os.path.join(root, method, name)), name)
    # A second run keeps the existing predictions (resume) and scores the same.
    again = run("eval.davis", f"--davis_root={davis_root}", f"--results_dir={root}/flow",
                "--method=flow")
    self.assertIn("predictions exist, kept", again.stderr)
    summary = run("eval.summarize", f"--results_dirs={root}/identity,{root}/flow",
                  f"--davis_root={davis_root}", f"--plot_dir={root}/plots")
    self.assertEqual(summary.returncode, 0, msg=summary.stderr[-2000:])
    # The comparison page: both plots, an index.html and side-by-side videos.
    self.assertCountEqual(os.listdir(os.path.join(root, "plots")),
                          ["jf_over_time.png", "per_sequence.png", "index.html", "videos",
                           files.WRITTEN_RECORD])
    with open(os.path.join(root, "plots", "index.html")) as f:
      page = f.read()
    self.assertIn("<img src='jf_over_time.png'", page)  # the page shows the plots beside it
    lines = summary.stdout.strip().splitlines()
    self.assertEqual([l.split()[0] for l in lines], ["method", "identity", "flow"])
    with open(os.path.join(root, "flow", "global_results-val.csv")) as f:
      flow_jf = float(next(csv.DictReader(f))["J&F-Mean"])
    self.assertAlmostEqual(float(lines[2].split()[1]), flow_jf, places=3)

  def test_davis_model_defaults_to_the_shipped_tracker(self):
    root = self.create_tempdir().full_path
    synthetic.write_dataset(root, num_videos=1, num_frames=4, height=32, width=32)
    result = run("eval.davis", f"--davis_root={root}/davis", f"--results_dir={root}/r")
    self.assertEqual(result.returncode, 0, msg=result.stderr[-2000:])
    self.assertIn(f"packed export {pretrained.DEFAULT_MODEL}", result.stderr)
    self.assertLen(os.listdir(os.path.join(root, "r", "synthetic_000")), 4)

  def test_davis_missing_model_is_one_clear_error(self):
    root = self.create_tempdir().full_path
    synthetic.write_dataset(root, num_videos=1, num_frames=4, height=32, width=32)
    result = run("eval.davis", f"--davis_root={root}/davis", f"--results_dir={root}/r",
                 f"--model={root}/missing")
    self.assertEqual(result.returncode, 1)
    self.assertIn(f"{root}/missing: model not found", result.stderr)

  def test_jhmdb_flow_on_shared_data(self):
    if not testing_utils.has_shared():
      self.skipTest(testing_utils.SHARED_MISSING_REASON)
    out = self.create_tempdir().full_path
    result = run("eval.jhmdb", f"--jhmdb_root={testing_utils.shared_path('data', 'jhmdb')}",
                 f"--results_dir={out}", "--method=flow")
    self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
    with open(os.path.join(out, "pck.csv")) as f:
      rows = list(csv.DictReader(f))
    # The golden flow predictions were made the same way: every threshold's PCK matches.
    with open(testing_utils.shared_path("golden", "jhmdb", "flow", "pck.csv")) as f:
      golden = next(csv.DictReader(f))
    for column in ("PCK@0.1", "PCK@0.2", "PCK@0.5"):
      self.assertAlmostEqual(float(rows[-1][column]), float(golden[column]), places=3)

  @pytest.fixture(autouse=True)
  def _workdir(self, tiny_workdir):
    self.tiny_workdir = tiny_workdir

  @pytest.mark.slow
  def test_colorize_with_a_trained_workdir(self):
    root = self.create_tempdir().full_path
    workdir = self.tiny_workdir
    video = synthetic.generate_video(1, num_frames=5, height=48, width=64)
    video_path = os.path.join(root, "v.mp4")
    synthetic.write_video_file(video_path, video.frames, 24.0)
    result = run("eval.colorize", f"--video={video_path}", f"--output_dir={root}/col",
                 f"--model={workdir}", "--radius=3")
    self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
    with open(os.path.join(root, "col", "colorize.json")) as f:
      scores = json.load(f)
    self.assertEqual(scores["frames"], 5)
    self.assertGreater(scores["mean_ab_error"], 0.0)
    self.assertTrue(os.path.exists(os.path.join(root, "col", "colorize.mp4")))
    frame_path = os.path.join(root, "frame.png")
    import cv2  # pylint: disable=g-import-not-at-top
    cv2.imwrite(frame_path, video.frames[0])
    result = run("eval.embedding_pca", f"--image={frame_path}", f"--output={root}/pca.png",
                 f"--model={workdir}")
    self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
    panel = cv2.imread(f"{root}/pca.png")
    # Frame and PCA side by side (2 x 64 wide), a white caption band under the 48 rows.
    self.assertEqual(panel.shape[1:], (128, 3))
    self.assertGreater(panel.shape[0], 48)
    self.assertGreater(panel[48:].mean(), 200)
    # Failure co-occurrence on a synthetic DAVIS layout tracked by the same model.
    synthetic.write_dataset(os.path.join(root, "syn"), num_videos=1, num_frames=6, height=48,
                            width=64)
    davis_root = os.path.join(root, "syn", "davis")
    result = run("eval.davis", f"--davis_root={davis_root}", f"--results_dir={root}/dv",
                 f"--model={workdir}", "--radius=3")
    self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
    result = run("eval.failures", f"--davis_root={davis_root}", f"--results_dir={root}/dv",
                 f"--model={workdir}", "--radius=3")
    self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
    with open(os.path.join(root, "dv", "failures.json")) as f:
      failures = json.load(f)
    self.assertEqual(failures["both"] + failures["tracking_only"] + failures["colorization_only"]
                     + failures["neither"], failures["frames"])


if __name__ == "__main__":
  tf.test.main()
