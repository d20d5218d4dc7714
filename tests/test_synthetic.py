"""The synthetic dataset: deterministic, consistent ground truth, DAVIS layout."""

import json
import os

import numpy as np
import tensorflow as tf

from colortrack.data import masks
from colortrack.data import synthetic


class SyntheticTest(tf.test.TestCase):

  def test_same_seed_same_video(self):
    a = synthetic.generate_video(7, num_frames=6, height=32, width=40)
    b = synthetic.generate_video(7, num_frames=6, height=32, width=40)
    c = synthetic.generate_video(8, num_frames=6, height=32, width=40)
    self.assertAllEqual(a.frames, b.frames)
    self.assertAllEqual(a.masks, b.masks)
    self.assertNotAllEqual(a.frames, c.frames)

  def test_shapes_and_ids(self):
    video = synthetic.generate_video(0, num_frames=10, height=40, width=56, num_objects=4)
    self.assertEqual(video.frames.shape, (10, 40, 56, 3))
    self.assertEqual(video.masks.shape, (10, 40, 56))
    self.assertEqual(video.keypoints.shape, (10, 12, 2))
    self.assertTrue(set(np.unique(video.masks)) <= {0, 1, 2, 3, 4})

  def test_visible_keypoints_lie_on_their_object(self):
    video = synthetic.generate_video(2, num_frames=30, height=64, width=80)
    for t in range(30):
      for n in np.flatnonzero(video.visible[t]):
        x, y = video.keypoints[t, n]
        self.assertEqual(video.masks[t, int(round(y)), int(round(x))],
                         n // synthetic.KEYPOINTS_PER_OBJECT + 1)

  def test_objects_leave_reenter_occlude_and_scale(self):
    # Over long videos, the generator must produce the hard cases it promises.
    left_and_returned = occluded = scaled = False
    for seed in range(4):
      video = synthetic.generate_video(seed, num_frames=150, height=48, width=64)
      for k in range(1, 4):
        area = (video.masks == k).sum(axis=(1, 2))
        present = area > 0
        first_gone = np.argmax(~present) if not present.all() else None
        if first_gone and present[first_gone:].any():
          left_and_returned = True
        if present.any() and area[present].max() > 2 * area[present].min():
          scaled = True
      centres = video.keypoints[:, ::synthetic.KEYPOINTS_PER_OBJECT]
      inside = ((centres > -0.5) & (centres < [63.5, 47.5])).all(-1)
      hidden = inside & ~video.visible[:, ::synthetic.KEYPOINTS_PER_OBJECT]
      occluded |= bool(hidden.any())
    self.assertTrue(left_and_returned)
    self.assertTrue(occluded)
    self.assertTrue(scaled)

  def test_write_dataset_layout(self):
    root = self.get_temp_dir()
    names = synthetic.write_dataset(root, num_videos=2, num_frames=5, height=32, width=40)
    self.assertEqual(names, ["synthetic_000", "synthetic_001"])
    video = synthetic.generate_video(1, num_frames=5, height=32, width=40)
    mask = masks.read_mask(os.path.join(root, "davis/Annotations/480p/synthetic_001/00003.png"))
    self.assertAllEqual(mask, video.masks[3])
    self.assertTrue(os.path.exists(os.path.join(root, "davis/JPEGImages/480p/synthetic_001/00004.jpg")))
    self.assertTrue(os.path.exists(os.path.join(root, "videos/synthetic_000.mp4")))
    with open(os.path.join(root, "davis/ImageSets/2017/val.txt")) as f:
      self.assertEqual(f.read().split(), names)
    with open(os.path.join(root, "keypoints/synthetic_001.json")) as f:
      keypoints = json.load(f)
    self.assertLen(keypoints["frames"], 5)
    self.assertAllClose([keypoints["frames"][2]["keypoints"][4]["x"],
                         keypoints["frames"][2]["keypoints"][4]["y"]], video.keypoints[2, 4])


if __name__ == "__main__":
  tf.test.main()
