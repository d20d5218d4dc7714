"""Starting from a box or clicks: GrabCut's first mask, through the API and the binary."""

import json
import os

import numpy as np
import pytest

from colortrack import errors
from colortrack.data import masks as masks_lib
from colortrack.data import synthetic
from colortrack.inference import first_mask
from tests import test_reliability


def _scene():
  """A 64x80 frame: a reddish textured 24x20 block on a bluish noisy background, and its ids."""
  rng = np.random.default_rng(0)
  frame = np.zeros((64, 80, 3), np.uint8)
  frame[..., 2] = rng.integers(150, 220, (64, 80))
  frame[..., 1] = rng.integers(60, 120, (64, 80))
  ids = np.zeros((64, 80), np.uint8)
  ids[20:40, 30:54] = 1
  frame[ids == 1] = np.stack([rng.integers(180, 250, 480), rng.integers(20, 80, 480),
                              rng.integers(0, 40, 480)], axis=1)
  return frame, ids


def _iou(a, b):
  return (a & b).sum() / (a | b).sum()


def test_a_loose_box_finds_the_object():
  frame, ids = _scene()
  found = first_mask.mask_from_boxes(frame, [[22, 12, 62, 48]])  # 8 px of background around
  assert set(np.unique(found)) == {0, 1}
  # GrabCut separates the two colour distributions: the block, not the whole box
  # (the box alone has IoU 480 / 1517 = 0.32 with it).
  assert _iou(found == 1, ids == 1) > 0.9


def test_boxes_number_objects_in_order_and_the_smaller_wins():
  frame, ids = _scene()
  found = first_mask.mask_from_boxes(frame, [[0, 0, 79, 63], [22, 12, 62, 48]])
  assert _iou(found == 2, ids == 1) > 0.9  # box 1 (id 2) is the block, drawn over box 0


def test_clicks_find_the_object_under_them():
  frame, ids = _scene()
  found = first_mask.mask_from_clicks(frame, [[40, 28], [46, 32]])
  assert _iou(found == 1, ids == 1) > 0.9


@pytest.mark.parametrize("boxes, message", [
    ([[10, 10, 5, 20]], "needs x0 < x1"), ([[100, 100, 120, 120]], "outside the 80x64 frame"),
    ([[10, 10, 11, 11]], "smaller than 3x3")])
def test_bad_boxes_are_one_line(boxes, message):
  frame, _ = _scene()
  with pytest.raises(errors.UserError, match=message):
    first_mask.mask_from_boxes(frame, boxes)


def test_box_flags_parse_or_name_the_flag():
  np.testing.assert_array_equal(first_mask.parse_boxes(["1,2,30,40"]), [[1, 2, 30, 40]])
  with pytest.raises(errors.UserError, match="--box=1,2,3: expected"):
    first_mask.parse_boxes(["1,2,3"])
  np.testing.assert_array_equal(first_mask.parse_clicks("1,2;3,4"), [[1, 2], [3, 4]])
  with pytest.raises(errors.UserError, match="--points=1;2: expected"):
    first_mask.parse_clicks("1;2")


def test_api_tracks_from_boxes():
  import colortrack  # pylint: disable=g-import-not-at-top
  video = synthetic.generate_video(0, num_frames=4, height=64, width=80)
  first = video.masks[0]
  ys, xs = np.nonzero(first == 1)
  masks = colortrack.load_tracker(method="identity").track_masks(
      video.frames, boxes=[[xs.min(), ys.min(), xs.max(), ys.max()]])
  assert masks.shape == (4, 64, 80) and masks[0].max() == 1


def test_track_binary_from_a_box_writes_the_first_mask(tmp_path):
  video = synthetic.generate_video(0, num_frames=6, height=64, width=80)
  path = str(tmp_path / "v.mp4")
  synthetic.write_video_file(path, video.frames, video.fps)
  ys, xs = np.nonzero(video.masks[0] == 1)
  box = f"--box={xs.min()},{ys.min()},{xs.max()},{ys.max()}"
  result = test_reliability.run("colortrack.track", f"--video={path}", box,
                                f"--output_dir={tmp_path}/out", "--method=flow")
  assert result.returncode == 0, result.stderr[-2000:]
  made = masks_lib.read_mask(str(tmp_path / "out" / "first_mask.png"))
  assert _iou(made == 1, video.masks[0] == 1) > 0.5
  assert len([n for n in os.listdir(tmp_path / "out" / "masks") if n.endswith(".png")]) == 6
  with open(tmp_path / "out" / "colortrack_track.json") as f:
    assert json.load(f)["annotation_from"]["boxes"][0] == [xs.min(), ys.min(), xs.max(),
                                                           ys.max()]


def test_track_binary_profile_picks_the_shipped_model(tmp_path):
  video = synthetic.generate_video(0, num_frames=3, height=48, width=64)
  path = str(tmp_path / "v.mp4")
  synthetic.write_video_file(path, video.frames, video.fps)
  masks_lib.write_mask(str(tmp_path / "m.png"), video.masks[0])
  result = test_reliability.run("colortrack.track", f"--video={path}", f"--mask={tmp_path}/m.png",
                                f"--output_dir={tmp_path}/out", "--profile=fast", "--nooverlay")
  assert result.returncode == 0, result.stderr[-2000:]
  with open(tmp_path / "out" / "colortrack_track.json") as f:
    assert json.load(f)["model"].endswith("mast_crop256")
