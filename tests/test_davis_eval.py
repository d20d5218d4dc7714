"""DAVIS J/F: hand-computed goldens, and parity with the official toolkit's numbers."""

import csv
import os

import numpy as np
import tensorflow as tf
from absl.testing import parameterized
from PIL import Image

from colortrack.data import masks
from colortrack.evaluation import davis
from tests import testing_utils

GOLDEN = testing_utils.shared_path("golden", "davis2016-dev")


class RegionAndBoundaryTest(tf.test.TestCase):

  def test_j_golden(self):
    gt = np.zeros((1, 4, 4), bool)
    gt[0, :2, :2] = True  # 4 pixels
    pred = np.zeros((1, 4, 4), bool)
    pred[0, :2, 1:3] = True  # 4 pixels, 2 shared -> 2 / 6
    self.assertAllClose(davis.region_similarity(gt, pred), [2 / 6])
    empty = np.zeros((1, 4, 4), bool)
    self.assertAllClose(davis.region_similarity(empty, empty), [1.0])  # empty union -> 1

  def test_f_empty_rules(self):
    empty = np.zeros((20, 20), bool)
    square = np.zeros((20, 20), bool)
    square[5:10, 5:10] = True
    self.assertEqual(davis.boundary_f_measure(empty, empty), 1.0)
    self.assertEqual(davis.boundary_f_measure(square, empty), 0.0)  # P=1, R=0
    self.assertEqual(davis.boundary_f_measure(empty, square), 0.0)  # P=0, R=1
    self.assertEqual(davis.boundary_f_measure(square, square), 1.0)

  def test_f_within_bound_is_perfect_and_far_is_zero(self):
    # 100x100 frame: bound = ceil(0.008 * 141.4) = 2 pixels.
    gt = np.zeros((100, 100), bool)
    gt[20:60, 20:60] = True
    near = np.roll(gt, 2, axis=1)
    far = np.roll(gt, 30, axis=0)
    self.assertEqual(davis.boundary_f_measure(gt, near), 1.0)
    self.assertLess(davis.boundary_f_measure(gt, far), 0.6)

  def test_seg2bmap_golden(self):
    seg = np.zeros((4, 5), bool)
    seg[1:3, 1:4] = True
    # A pixel is on the boundary when it differs from its right, lower or
    # lower-right neighbour (last row/column compare along the edge only).
    expected = np.array([[1, 1, 1, 1, 0],
                         [1, 0, 0, 1, 0],
                         [1, 1, 1, 1, 0],
                         [0, 0, 0, 0, 0]], bool)
    self.assertAllEqual(davis.seg2bmap(seg), expected)

  def test_statistics_golden(self):
    values = np.array([1, 1, 0.5, 0.5, 0.5, 0.2, 0.2, 0.2])
    stats = davis.statistics(values)
    # Bin edges: round(linspace(1, 8, 5)) - 1 = [0, 2, 3, 5, 7] (4.5 rounds to 4),
    # first bin values[0:3], last bin values[5:8]: decay = 2.5/3 - 0.2.
    # Mean = (1 + 1 + 3 x 0.5 + 3 x 0.2) / 8 = 4.1 / 8; recall: 2 of 8 are > 0.5.
    self.assertAllClose([stats["Mean"], stats["Recall"], stats["Decay"]],
                        [4.1 / 8, 2 / 8, 2.5 / 3 - 0.2])

  def test_score_sequence_pads_missing_objects_and_refuses_extra(self):
    gt = np.zeros((4, 8, 8), np.uint8)
    gt[:, :4, :4] = 1
    gt[:, 4:, 4:] = 2
    pred = np.where(gt == 1, 1, 0).astype(np.uint8)  # object 2 never predicted
    scores = davis.score_sequence("s", gt, pred)
    self.assertEqual([o.name for o in scores], ["s_1", "s_2"])
    self.assertAllClose(scores[0].j, [1, 1])  # frames 1 and 2 only
    self.assertAllClose(scores[1].j, [0, 0])
    with self.assertRaisesRegex(davis.EvaluationError, "object id 3"):
      davis.score_sequence("s", gt, np.full_like(gt, 3))

  def test_void_is_background(self):
    gt = np.zeros((3, 8, 8), np.uint8)
    gt[:, :4] = 1
    gt[:, 7] = 255
    scores = davis.score_sequence("s", gt, np.where(gt == 1, 1, 0).astype(np.uint8))
    self.assertAllClose(scores[0].j, [1.0])


class DavisLayoutTest(tf.test.TestCase):

  def write_sequence(self, root, name, num_frames=4, mode="P"):
    ann = os.path.join(root, "Annotations", "480p", name)
    os.makedirs(ann, exist_ok=True)
    for t in range(num_frames):
      ids = np.zeros((8, 8), np.uint8)
      ids[:4, t:t + 4] = 1
      if mode == "P":
        masks.write_mask(os.path.join(ann, f"{t:05d}.png"), ids)
      else:
        Image.fromarray(ids * 255, mode="L").save(os.path.join(ann, f"{t:05d}.png"))

  def test_2016_pairs_and_2017_names(self):
    root = self.create_tempdir().full_path
    os.makedirs(os.path.join(root, "ImageSets", "480p"))
    with open(os.path.join(root, "ImageSets", "480p", "val.txt"), "w") as f:
      f.write("/JPEGImages/480p/b/00000.jpg /Annotations/480p/b/00000.png\n"
              "/JPEGImages/480p/b/00001.jpg /Annotations/480p/b/00001.png\n"
              "/JPEGImages/480p/a/00000.jpg /Annotations/480p/a/00000.png\n")
    self.assertEqual(davis.list_sequences(root), ["b", "a"])
    os.makedirs(os.path.join(root, "ImageSets", "2017"))
    with open(os.path.join(root, "ImageSets", "2017", "val.txt"), "w") as f:
      f.write("x\ny\n")
    self.assertEqual(davis.list_sequences(root), ["x", "y"])

  def test_evaluate_2016_gray_gt_against_palette_predictions(self):
    root = self.create_tempdir().full_path
    self.write_sequence(root, "seq", mode="L")
    results = os.path.join(root, "results")
    self.write_sequence(os.path.join(results, "tmp"), "seq", mode="P")
    os.rename(os.path.join(results, "tmp", "Annotations", "480p", "seq"),
              os.path.join(results, "seq"))
    scores = davis.evaluate(root, results, ["seq"])
    self.assertAllClose(scores.global_scores()["J&F-Mean"], 1.0)
    paths = davis.write_csvs(scores, results)
    with open(paths["global_results-val.csv"]) as f:
      self.assertEqual(next(csv.reader(f)), list(davis.GLOBAL_COLUMNS))

  def test_missing_prediction_names_the_file(self):
    root = self.create_tempdir().full_path
    self.write_sequence(root, "seq")
    with self.assertRaisesRegex(davis.EvaluationError, r"seq/00000.png: prediction missing"):
      davis.evaluate(root, os.path.join(root, "nothing"), ["seq"])


class MaskReadingTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(("L", "L"), ("LA", "LA"))
  def test_davis2016_gray_masks_read_as_object_1(self, mode):
    path = os.path.join(self.create_tempdir().full_path, "m.png")
    gray = np.zeros((4, 6), np.uint8)
    gray[1:3, 2:5] = 255
    image = Image.fromarray(gray, mode="L")
    if mode == "LA":
      image = Image.merge("LA", [image, Image.new("L", image.size, 255)])
    image.save(path)
    self.assertAllEqual(masks.read_mask(path), gray // 255)

  def test_rgb_rendering_of_palette_maps_back(self):
    path = os.path.join(self.create_tempdir().full_path, "m.png")
    ids = np.array([[0, 1, 2], [3, 0, 1]], np.uint8)
    Image.fromarray(masks.davis_palette()[ids], mode="RGB").save(path)
    self.assertAllEqual(masks.read_mask(path), ids)

  def test_garbage_names_the_file(self):
    path = os.path.join(self.create_tempdir().full_path, "bad.png")
    with open(path, "w") as f:
      f.write("no png")
    with self.assertRaisesRegex(masks.MaskError, "bad.png: unreadable mask"):
      masks.read_mask(path)


class OfficialParityTest(tf.test.TestCase, parameterized.TestCase):
  """Every number of ../shared/golden/davis2016-dev, computed by the official toolkit."""

  @parameterized.named_parameters(
      ("identity", "identity"), ("flow", "flow"), ("flow_perturbed", "flow_perturbed"),
      ("synthetic_multiobject", "synthetic_multiobject"))
  def test_reproduces_official_numbers(self, case):
    if not testing_utils.has_shared():
      self.skipTest(testing_utils.SHARED_MISSING_REASON)
    if case == "synthetic_multiobject":
      root = os.path.join(GOLDEN, case, "gt")
      predictions = os.path.join(GOLDEN, case, "pred")
    else:
      root = testing_utils.shared_path("data", "davis2016")
      predictions = os.path.join(GOLDEN, case)
    results = davis.evaluate(root, predictions)
    with open(os.path.join(GOLDEN, case, "official_global.csv")) as f:
      official = {k: float(v) for k, v in next(csv.DictReader(f)).items()}
    ours = results.global_scores()
    for column in davis.GLOBAL_COLUMNS:
      self.assertAllClose(ours[column], official[column], atol=1e-6, msg=column)
    with open(os.path.join(GOLDEN, case, "official_per_object.csv")) as f:
      official_rows = {row["object"]: row for row in csv.DictReader(f)}
    rows = results.per_object()
    self.assertEqual(sorted(r["object"] for r in rows), sorted(official_rows))
    for row in rows:
      for column in davis.GLOBAL_COLUMNS[1:]:
        self.assertAllClose(row[column], float(official_rows[row["object"]][column]),
                            atol=1e-6, msg=f"{row['object']} {column}")


if __name__ == "__main__":
  tf.test.main()
