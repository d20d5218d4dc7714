"""The Python API: arrays in, arrays out, one-line errors for bad arrays."""

import numpy as np
import pytest

import colortrack
from colortrack import errors
from colortrack import pretrained
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
  # Its masks copy from the first and the previous frame, at most 400 pixels; its keypoints
  # keep the settings they were measured with (window 3, top-10, 480 pixels).
  masks_config, points_config = fast._tracker.config, fast._tracker.keypoint_config  # pylint: disable=protected-access
  assert (masks_config.window, masks_config.top_k, masks_config.max_short_side) == (1, 20, 400)
  assert (points_config.window, points_config.top_k, points_config.max_short_side) == (3, 10, 480)
  best = colortrack.load_tracker(profile="best")
  assert (best._tracker.config.radius, best._tracker.config.max_short_side) == (16, 480)  # pylint: disable=protected-access
  # A profile's settings are the masks': the export's keypoint tuning (radius 6) stays.
  assert best._tracker.keypoint_config.radius == 6  # pylint: disable=protected-access
  assert colortrack.load_tracker(profile="best", radius=9)._tracker.keypoint_config.radius == 9  # pylint: disable=protected-access
  # The default profile is the default model with its own settings.
  default = colortrack.load_tracker()
  assert default.description == colortrack.load_tracker(profile="default").description
  assert default._tracker.config == colortrack.load_tracker(  # pylint: disable=protected-access
      model=pretrained.DEFAULT_MODEL)._tracker.config  # pylint: disable=protected-access
  # Frames at most 400 pixels and a window of 27 x 27 cells instead of 480 and 33 x 33:
  # the same objects, nearly the same masks.
  a = default.track_masks(video.frames, video.masks[0])
  b = best.track_masks(video.frames, video.masks[0])
  assert np.mean(a == b) > 0.9
  # A keyword setting overrides the profile's; an unknown profile is one line.
  assert colortrack.load_tracker(profile="best", radius=12)._tracker.config.radius == 12  # pylint: disable=protected-access
  with pytest.raises(errors.UserError, match="profile 'quick': use one of best, default, fast"):
    colortrack.load_tracker(profile="quick")
