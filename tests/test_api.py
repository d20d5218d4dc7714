"""The Python API: arrays in, arrays out, one-line errors for bad arrays."""

import numpy as np
import pytest

import colortrack
from colortrack import errors
from colortrack.data import synthetic


@pytest.fixture(scope="module")
def video():
  return synthetic.generate_video(0, num_frames=5, height=48, width=64)


@pytest.fixture(scope="module")
def tracker():
  return colortrack.load_tracker()  # the shipped default model


def test_masks_from_the_shipped_model(tracker, video):
  masks = tracker.track_masks(video.frames, video.masks[0])
  assert masks.shape == (5, 48, 64) and masks.dtype == np.uint8
  np.testing.assert_array_equal(masks[0], video.masks[0])
  assert set(np.unique(masks)) <= set(np.unique(video.masks[0]))
  assert "ensemble_cpu" in tracker.description


def test_points_and_baselines(tracker, video):
  points, visible = tracker.track_points(video.frames, video.keypoints[0])
  assert points.shape == (5, len(video.keypoints[0]), 2) and visible.shape == points.shape[:2]
  np.testing.assert_allclose(points[0], video.keypoints[0])
  identity = colortrack.load_tracker(method="identity")
  np.testing.assert_array_equal(identity.track_masks(video.frames, video.masks[0])[-1],
                                video.masks[0])


def test_bad_arrays_are_one_line_errors(tracker, video):
  cases = [((video.frames[..., 0], video.masks[0]), "uint8 RGB \\[T, H, W, 3\\]"),
           ((video.frames.astype(np.float32), video.masks[0]), "got float32"),
           ((video.frames, video.masks[0][:10]), "first_mask is \\[10, 64\\]"),
           ((video.frames, np.zeros_like(video.masks[0])), "no object")]
  for args, message in cases:
    with pytest.raises(errors.UserError, match=message):
      tracker.track_masks(*args)
  with pytest.raises(errors.UserError, match="finite"):
    tracker.track_points(video.frames, [[1.0, np.nan]])


def test_profiles_pick_a_shipped_model_and_settings(video):
  fast = colortrack.load_tracker(profile="fast")
  assert "mast_crop256" in fast.description
  balanced = colortrack.load_tracker(profile="balanced")
  assert balanced._tracker.config.radius == 12  # pylint: disable=protected-access
  # A profile's settings are the masks': the export's keypoint tuning (radius 6) stays.
  assert balanced._tracker.keypoint_config.radius == 6  # pylint: disable=protected-access
  assert colortrack.load_tracker(profile="balanced", radius=9)._tracker.keypoint_config.radius == 9  # pylint: disable=protected-access
  # A window of 25 x 25 cells instead of 33 x 33: the same objects, nearly the same masks.
  best = colortrack.load_tracker()
  a = balanced.track_masks(video.frames, video.masks[0])
  b = best.track_masks(video.frames, video.masks[0])
  assert np.mean(a == b) > 0.9
  # A keyword setting overrides the profile's; an unknown profile is one line.
  assert colortrack.load_tracker(profile="balanced", radius=16)._tracker.config.radius == 16  # pylint: disable=protected-access
  with pytest.raises(errors.UserError, match="profile 'quick': use one of best, balanced, fast"):
    colortrack.load_tracker(profile="quick")
