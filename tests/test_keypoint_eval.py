"""PCK goldens, parity with the CRW/UVC golden numbers, and JHMDB/BADJA readers."""

import csv
import json
import os
import warnings

import numpy as np
import tensorflow as tf

from colortrack.evaluation import keypoint_datasets
from colortrack.evaluation import keypoint_eval
from colortrack.evaluation import pck
from colortrack.inference import trackers
from tests import testing_utils


class PckTest(tf.test.TestCase):

  def test_golden(self):
    # Two joints, GT box 30 x 40 in frame 1 -> diagonal 50, normaliser 0.6 x 50 = 30.
    gt = np.array([[[0, 0], [30, 40]], [[0, 0], [30, 40]]], np.float64)
    pred = gt.copy()
    pred[1, 0] += [5, 0]  # 5 px off: correct from alpha = 5/30 = 0.167 up
    pred[1, 1] += [0, 10]  # 10 px off: correct from alpha = 0.333 up
    correct = pck.correct_joints(pred, gt, thresholds=(0.1, 0.2, 0.4))
    self.assertAllEqual(correct[0.1], [[0, 0]])
    self.assertAllEqual(correct[0.2], [[1, 0]])
    self.assertAllEqual(correct[0.4], [[1, 1]])
    self.assertAllClose(pck.pck([correct]), {0.1: 0.0, 0.2: 50.0, 0.4: 100.0})

  def test_first_frame_skipped_and_invisible_joints_not_counted(self):
    gt = np.zeros((3, 2, 2))
    gt[:, 1] = [10, 0]
    pred = gt.copy()
    pred[0] += 100  # frame 0 is the given annotation: ignored
    pred[2, 1] += 50
    visible = np.array([[1, 1], [1, 1], [1, 0]], bool)
    correct = pck.correct_joints(pred, gt, visible, thresholds=(0.5,))
    self.assertAllClose(pck.pck([correct])[0.5], 100.0)

  def test_never_visible_joint_and_empty_frame_are_skipped_quietly(self):
    # Joint 1 is never visible after frame 0, and frame 2 has no visible joint:
    # PCK is joint 0's (1 hit of 1 counted frame = 100), with no RuntimeWarning.
    gt = np.zeros((3, 2, 2))
    gt[:, 1] = [10, 0]
    visible = np.array([[1, 1], [1, 0], [0, 0]], bool)
    with warnings.catch_warnings():
      warnings.simplefilter("error")
      correct = pck.correct_joints(gt, gt, visible, thresholds=(0.5,))
      self.assertAllClose(pck.pck([correct])[0.5], 100.0)

  def test_jhmdb_golden_parity(self):
    if not testing_utils.has_shared():
      self.skipTest(testing_utils.SHARED_MISSING_REASON)
    videos = keypoint_datasets.jhmdb_videos(testing_utils.shared_path("data", "jhmdb"))
    self.assertEqual([v.name for v in videos],
                     ["catch/Goal_Keeping_Tips_catch_f_cm_np1_fr_med_2"])
    for method in ("identity", "flow"):
      golden_dir = testing_utils.shared_path("golden", "jhmdb", method)
      rows = keypoint_eval.score(videos, golden_dir)
      with open(os.path.join(golden_dir, "pck.csv")) as f:
        official = next(csv.DictReader(f))
      for alpha in pck.THRESHOLDS:
        self.assertAllClose(rows[0][f"PCK@{alpha}"], float(official[f"PCK@{alpha}"]),
                            atol=1e-6, msg=f"{method} PCK@{alpha}")

  def test_flow_baseline_reproduces_golden_flow_predictions(self):
    if not testing_utils.has_shared():
      self.skipTest(testing_utils.SHARED_MISSING_REASON)
    videos = keypoint_datasets.jhmdb_videos(testing_utils.shared_path("data", "jhmdb"))
    out = self.create_tempdir().full_path
    keypoint_eval.predict(videos, trackers.FlowTracker(), out)
    ours = np.load(keypoint_eval.prediction_path(out, videos[0]))
    golden = np.load(keypoint_eval.prediction_path(
        testing_utils.shared_path("golden", "jhmdb", "flow"), videos[0]))
    self.assertAllClose(ours, golden, atol=1e-3)


class BadjaReaderTest(tf.test.TestCase):

  def test_rows_cols_at_1080p_become_x_y_at_480p(self):
    root = self.create_tempdir().full_path
    frames = os.path.join(root, "DAVIS", "JPEGImages", "480p", "dog")
    testing_utils.write_frame_folder(frames, np.zeros((6, 8, 8, 3), np.uint8))
    for t in range(6):
      os.rename(os.path.join(frames, f"{t:05d}.png"), os.path.join(frames, f"{t:05d}.jpg"))
    os.makedirs(os.path.join(root, "joint_annotations"))
    entries = [{"image_path": f"DAVIS/JPEGImages/Full-Resolution/dog/{t:05d}.jpg",
                "joints": [[108, 216], [0, 0]], "visibility": [True, t != 1]} for t in (1, 4)]
    with open(os.path.join(root, "joint_annotations", "dog.json"), "w") as f:
      json.dump(entries, f)
    self.assertTrue(keypoint_datasets.is_badja(root))
    (video,) = keypoint_datasets.load_videos(root)
    # Tracking starts at the first annotated frame (00001); 480/1080 scale.
    self.assertLen(video.frame_paths, 5)
    self.assertAllEqual(video.annotated, [1, 0, 0, 1, 0])
    self.assertAllClose(video.gt[0, 0], [216 * 480 / 1080, 108 * 480 / 1080])
    self.assertAllEqual(video.visible[0], [True, False])

  def test_not_a_dataset(self):
    with self.assertRaisesRegex(keypoint_datasets.DatasetError, "not a JHMDB folder"):
      keypoint_datasets.load_videos(self.create_tempdir().full_path)


if __name__ == "__main__":
  tf.test.main()
