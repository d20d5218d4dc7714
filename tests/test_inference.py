"""Label propagation: grid mapping, the local pointer, trackers, and the track command."""

import itertools
import json
import os
import subprocess
import sys

import av
import cv2
import numpy as np
import pytest
import tensorflow as tf
from absl.testing import parameterized

from colortrack import validation
from colortrack.data import masks
from colortrack.data import synthetic
from colortrack.data import video_io
from colortrack.evaluation import colorize
from colortrack.inference import grid
from colortrack.inference import labels
from colortrack.inference import propagation
from colortrack.inference import track_video
from colortrack.inference import trackers
from tests import testing_utils

STRIDE = 8


class CellContentEmbedder:
  """Oracle embedder: a cell's embedding is its own pixels, normalized.

  Two cells match exactly (dot product 1) only where their content is the
  same, so on a texture translated by whole cells the pointer must copy every
  label from the cell the content came from.
  """

  stride = STRIDE

  def __call__(self, frames):
    t, height, width, _ = frames.shape
    cells = frames.reshape(t, height // STRIDE, STRIDE, width // STRIDE, STRIDE, 3)
    cells = cells.transpose(0, 1, 3, 2, 4, 5).reshape(t, height // STRIDE, width // STRIDE, -1)
    cells = cells.astype(np.float32) - 127.5
    return cells / np.linalg.norm(cells, axis=-1, keepdims=True)


def through_grid(ids: np.ndarray) -> np.ndarray:
  """What a mask becomes after pixels -> grid -> pixels (no motion)."""
  object_ids = masks.object_ids(ids)
  onehot = labels.ids_to_onehot(ids, object_ids)
  soft = grid.grid_to_pixels(grid.pixels_to_grid(onehot, STRIDE), STRIDE, *ids.shape)
  return labels.onehot_to_ids(soft, object_ids)


def textured_shift_video(num_frames=4, shift_cells=1, height=48, width=64, seed=0):
  """Random texture moving right by `shift_cells` cells per frame (circularly)."""
  rng = np.random.default_rng(seed)
  texture = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
  return [np.roll(texture, STRIDE * shift_cells * t, axis=1) for t in range(num_frames)]


class GridTest(tf.test.TestCase):

  def test_pixels_to_grid_averages_cells_and_pads_with_edge(self):
    labels_full = np.zeros((10, 16, 1), np.float32)
    labels_full[:8, :8] = 1.0
    labels_full[8:, 8:] = 1.0
    out = grid.pixels_to_grid(labels_full, STRIDE)
    # Rows 8-9 are padded to 16 by repeating row 9: cell (1, 1) is all ones.
    self.assertAllClose(out[..., 0], [[1.0, 0.0], [0.0, 1.0]])

  def test_cell_centres_golden(self):
    # 0-based pixel centres: cell j spans pixels 8j..8j+7, centre 8j + 3.5.
    self.assertAllClose(grid.cell_centres(1, 2, STRIDE)[0], [[3.5, 3.5], [11.5, 3.5]])

  def test_grid_to_pixels_keeps_block_edges_and_rounds_corners(self):
    ids = np.zeros((32, 32), np.uint8)
    ids[8:24, 16:32] = 1
    back = through_grid(ids)
    # Bilinear between cell centres puts edges exactly on cell borders; at a
    # convex corner both weights are 0.5625 and 0.5625^2 < 0.5, so the corner
    # pixels within 3 px of it round off.
    near_corner = np.zeros_like(ids, bool)
    for row, col in ((8, 16), (23, 16)):
      near_corner[max(row - 3, 0):row + 4, max(col - 3, 0):col + 4] = True
    self.assertAllEqual(back[~near_corner], ids[~near_corner])
    self.assertAllEqual(back[[8, 23], 16], [0, 0])  # the rounded corners

  def test_upsampled_ids_equal_the_argmax_of_bilinear_upsampling(self):
    # Soft masks of 3 objects on a 12 x 20 grid, smooth as propagated ones are, brought
    # up to 31 x 47 (not a multiple) and to the same size; ties are impossible with
    # random values.
    rng = np.random.default_rng(0)
    coarse = rng.random((4, 6, 4)).astype(np.float32)
    soft = cv2.resize(coarse, (20, 12), interpolation=cv2.INTER_LINEAR)
    object_ids = np.array([2, 5, 7])
    for height, width in ((31, 47), (12, 20), (12, 21)):
      expected = labels.onehot_to_ids(
          cv2.resize(soft, (width, height), interpolation=cv2.INTER_LINEAR), object_ids)
      self.assertAllEqual(labels.upsampled_ids(soft, height, width, object_ids), expected,
                          msg=f"{height}x{width}")

  def test_keypoint_heatmap_round_trip(self):
    points = np.array([[13.5, 20.0], [40.0, 5.0]], np.float32)
    heat = labels.keypoint_heatmaps(points, 6, 8, STRIDE)
    peaks = heat[..., 1:].reshape(-1, 2).max(axis=0)
    decoded, visible = labels.decode_keypoints(heat, STRIDE, peaks, top=5)
    self.assertAllClose(decoded, points, atol=2.5)
    self.assertAllEqual(visible, [True, True])
    faded = heat.copy()
    faded[..., 2] *= 0.1  # keypoint 1 has left: its peak fades
    self.assertAllEqual(labels.decode_keypoints(faded, STRIDE, peaks)[1], [True, False])


class LocalPointerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.parameters((1, 0, 4), (2, 3, 5), (3, 5, 3), (50, 0, 7))
  def test_equals_brute_force(self, radius, top_k, tile):
    rng = np.random.default_rng(radius)
    h, w, frames, dim = 7, 9, 2, 5
    target = rng.normal(size=(h, w, dim)).astype(np.float32)
    refs = rng.normal(size=(frames, h, w, dim)).astype(np.float32)
    values = rng.uniform(size=(frames, h, w, 3)).astype(np.float32)
    out = propagation.propagate_local(target, refs, values, 0.7, radius, top_k, tile).numpy()
    # Brute force: every (target, reference) pair, masked outside the window.
    rows, cols = np.mgrid[0:h, 0:w]
    expected = np.zeros((h, w, 3))
    for i in range(h):
      for j in range(w):
        inside = (np.abs(rows - i) <= radius) & (np.abs(cols - j) <= radius)
        logits = np.einsum("d,fhwd->fhw", target[i, j], refs)[:, inside].ravel() / 0.7
        vals = values[:, inside].reshape(-1, 3)
        if top_k:
          keep = np.argsort(-logits)[:top_k]
          logits, vals = logits[keep], vals[keep]
        weights = np.exp(logits - logits.max())
        expected[i, j] = weights @ vals / weights.sum()
    self.assertAllClose(out, expected, atol=1e-5)

  @parameterized.parameters((10, 3136), (20, 3136), (10, 50), (20, 100), (5, 16), (3, 7))
  def test_grouped_top_k_equals_top_k(self, k, columns):
    # Distinct values: the same values and columns as top_k. Some widths are not a
    # multiple of the group (16), some have fewer groups than k (100 columns: 7 groups).
    rng = np.random.default_rng(columns + k)
    logits = tf.constant(rng.permutation(6 * columns).reshape(6, columns).astype(np.float32))
    expected = tf.math.top_k(logits, k=k)
    scores, indices = propagation.grouped_top_k(logits, k)
    self.assertAllEqual(scores, expected.values)
    self.assertAllEqual(indices, expected.indices)
    # Many ties (8 distinct values, as bfloat16 affinities tie): the same values, and the
    # columns hold them.
    ties = tf.constant(rng.integers(0, 8, size=(6, columns)).astype(np.float32))
    scores, indices = propagation.grouped_top_k(ties, k)
    self.assertAllEqual(scores, tf.math.top_k(ties, k=k).values)
    self.assertAllEqual(tf.gather(ties, indices, batch_dims=1), scores)
    self.assertAllEqual([len(set(row)) for row in indices.numpy()], [k] * 6)

  def test_bfloat16_rounds_the_features_and_affinities_only(self):
    rng = np.random.default_rng(3)
    target = rng.normal(size=(6, 8, 16)).astype(np.float32)
    refs = rng.normal(size=(2, 6, 8, 16)).astype(np.float32)
    values = rng.uniform(size=(2, 6, 8, 3)).astype(np.float32)
    as_bf16 = lambda x: tf.cast(tf.cast(x, tf.bfloat16), tf.float32).numpy()
    fast = propagation.propagate_local(target, refs, values, 4.0, 2, 0, 4,
                                       precision="bfloat16").numpy()
    # float32 on the bfloat16-rounded features: the same but for each affinity's own
    # rounding (relative 2^-9 of |logit| <= 16 / 4 here, so labels move by < 1e-2)...
    rounded = propagation.propagate_local(as_bf16(target), as_bf16(refs), values, 4.0, 2, 0,
                                          4).numpy()
    self.assertAllClose(fast, rounded, atol=1e-2)
    # ... while the features' rounding is visible against plain float32.
    exact = propagation.propagate_local(target, refs, values, 4.0, 2, 0, 4).numpy()
    self.assertGreater(np.abs(fast - exact).max(), 1e-5)
    self.assertEqual(fast.dtype, np.float32)

  def test_auto_precision_is_bfloat16_only_where_the_cpu_has_it(self):
    expected = "bfloat16" if propagation.bfloat16_is_fast() else "float32"
    self.assertEqual(propagation.resolve_precision("auto"), expected)
    self.assertEqual(propagation.resolve_precision("float32"), "float32")
    with self.assertRaisesRegex(ValueError, "half"):
      propagation.resolve_precision("half")
    with self.assertRaisesRegex(validation.SettingError, "pointer_precision='half'"):
      trackers.settings(overrides={"pointer_precision": "half"})

  def test_huge_radius_equals_global_pointer(self):
    rng = np.random.default_rng(0)
    target = rng.normal(size=(4, 5, 3)).astype(np.float32)
    refs = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    values = rng.uniform(size=(2, 4, 5, 2)).astype(np.float32)
    local = propagation.propagate_local(target, refs, values, 0.5, 100, 0)
    dense = propagation.propagate(target.reshape(-1, 3), refs.reshape(-1, 3),
                                  values.reshape(-1, 2), 0.5)
    self.assertAllClose(np.reshape(local, (-1, 2)), dense, atol=1e-6)


class _ConstantEmbedder:
  """Every cell looks the same: the pointer averages the labels of its window."""
  stride = STRIDE

  def __call__(self, frames):
    t, height, width, _ = frames.shape
    return np.ones((t, height // STRIDE, width // STRIDE, 4), np.float32) / 2.0


class TrackerTest(tf.test.TestCase, parameterized.TestCase):

  @parameterized.named_parameters(
      ("global", trackers.PropagationConfig(temperature=0.01)),
      ("local_top1", trackers.PropagationConfig(temperature=0.5, top_k=1, radius=2)),
      ("hard", trackers.PropagationConfig(temperature=0.01, hard=True, window=1)))
  def test_shifted_texture_shifts_the_mask(self, config):
    frames = textured_shift_video()
    first = np.zeros((48, 64), np.uint8)
    first[8:24, 8:24] = 1  # both objects stay inside the frame for 3 shifts
    first[32:48, 24:32] = 2
    tracker = trackers.PointerTracker(CellContentEmbedder(), config)
    predicted = list(tracker.track_masks(iter(frames), first))
    self.assertAllEqual(predicted[0], first)
    for t in range(1, len(frames)):
      expected = np.roll(through_grid(first), STRIDE * t, axis=1)
      # Texture wraps around: the t cells that entered on the left have their
      # source at the far right, outside a local window (global finds it).
      start = STRIDE * (t + 1) if config.radius else 0
      self.assertAllEqual(predicted[t][:, start:], expected[:, start:], msg=f"frame {t}")

  def test_shifted_texture_shifts_keypoints(self):
    frames = textured_shift_video(num_frames=3)
    points = np.array([[20.0, 12.0], [35.5, 27.5]], np.float32)
    tracker = trackers.PointerTracker(CellContentEmbedder(),
                                      trackers.PropagationConfig(temperature=0.01))
    for t, (tracked, visible) in enumerate(tracker.track_points(iter(frames), points)):
      self.assertAllClose(tracked, points + [STRIDE * t, 0], atol=2.5, msg=f"frame {t}")
      self.assertAllEqual(visible, [True, True])

  def test_keypoint_settings_apply_to_points_only(self):
    frames = textured_shift_video(num_frames=3)
    points = np.array([[20.0, 12.0], [35.5, 27.5]], np.float32)
    masks_config = trackers.PropagationConfig(temperature=0.01, scale=0.5)
    points_config = trackers.PropagationConfig(temperature=0.01)
    tracker = trackers.PointerTracker(CellContentEmbedder(), masks_config, points_config)
    # Points at full resolution (the 0.5 scale of masks would lose the texture cells).
    for t, (tracked, _) in enumerate(tracker.track_points(iter(frames), points)):
      self.assertAllClose(tracked, points + [STRIDE * t, 0], atol=2.5, msg=f"frame {t}")
    self.assertEqual(tracker.processing_size(48, 64), (24, 32))
    self.assertEqual(tracker.processing_size(48, 64, keypoints=True), (48, 64))

  def test_colorize_at_scale_two_puts_the_reference_colours_on_the_upsampled_grid(self):
    frames = textured_shift_video(num_frames=3)
    height, width = frames[0].shape[:2]
    tracker = trackers.PointerTracker(
        CellContentEmbedder(), trackers.PropagationConfig(window=0, temperature=0.01, scale=2))
    results = list(colorize.colorize(tracker, iter(frames)))
    self.assertLen(results, 3)
    for panel, error in results:  # gray | colorized | truth at the frame's own size
      self.assertEqual(panel.shape, (height, 3 * width, 3))
      self.assertEqual(error.shape, (height, width))
      self.assertTrue(np.all(np.isfinite(error)))

  def test_ensemble_members_set_for_points_reach_the_embedder_for_points_only(self):
    asked = []

    class EnsembleLikeEmbedder(CellContentEmbedder):

      def __call__(self, frames, networks=0):
        asked.append(networks)
        return super().__call__(frames)

    frames = textured_shift_video(num_frames=3)
    tracker = trackers.PointerTracker(
        EnsembleLikeEmbedder(), trackers.PropagationConfig(),
        trackers.PropagationConfig(temperature=0.01, ensemble_members=2))
    first = np.zeros((48, 64), np.uint8)
    first[8:24, 8:24] = 1
    list(tracker.track_masks(iter(frames), first))
    list(tracker.track_points(iter(frames), np.array([[20.0, 12.0]], np.float32)))
    self.assertEqual(asked, [0, 0, 0, 2, 2, 2])

  def test_scale_half_tracks_at_coarser_grid(self):
    frames = [np.repeat(np.repeat(f, 2, 0), 2, 1) for f in textured_shift_video()]
    first = np.zeros((96, 128), np.uint8)
    first[16:64, 32:80] = 1
    tracker = trackers.PointerTracker(
        CellContentEmbedder(), trackers.PropagationConfig(temperature=0.01, scale=0.5))
    predicted = list(tracker.track_masks(iter(frames), first))
    # Frame 0 twice: what the scaled grid round trip makes of the mask, unmoved.
    static = list(tracker.track_masks(iter([frames[0], frames[0]]), first))[1]
    self.assertGreater(np.mean(static == first), 0.97)
    # Two frames later the content moved 2 x 16 full-resolution pixels.
    self.assertAllEqual(predicted[2], np.roll(static, 2 * 2 * STRIDE, axis=1))

  def test_renormalize_keeps_a_diffusing_object(self):

    frames = [np.zeros((48, 64, 3), np.uint8)] * 2
    first = np.zeros((48, 64), np.uint8)
    first[16:32, 24:40] = 1  # 2 x 2 cells
    # radius 1, all affinities equal: a 3 x 3 box filter. The object's cells get
    # 4/9 < 0.5, so plain soft propagation loses the whole object in one frame;
    # rescaled to [0, 1], its channel peaks at 1 there and background at 0.
    plain = trackers.PropagationConfig(temperature=1.0, radius=1)
    rescaled = trackers.PropagationConfig(temperature=1.0, radius=1, renormalize=True)
    lost = list(trackers.PointerTracker(_ConstantEmbedder(), plain).track_masks(
        iter(frames), first))
    kept = list(trackers.PointerTracker(_ConstantEmbedder(), rescaled).track_masks(
        iter(frames), first))
    self.assertEqual(lost[1].max(), 0)
    self.assertAllEqual(kept[1][20:28, 28:36], np.ones((8, 8)))  # the object's centre
    self.assertEqual(kept[1][:12].max(), 0)
    self.assertEqual(kept[1][:, :16].max(), 0)

  def test_renormalize_golden(self):
    object_prob = np.array([[0.1, 0.4], [0.25, 0.1]], np.float32)
    soft = np.stack([1 - object_prob, object_prob, np.full_like(object_prob, 0.3)], axis=-1)
    # Object channel (p - 0.1) / 0.3 -> [[0, 1], [0.5, 0]]; background 1 - p
    # ((1 - p) - 0.6) / 0.3 -> [[1, 0], [0.5, 1]]; the constant channel keeps
    # 0.3; then each cell is divided by its sum.
    expected = np.array([[[1, 0, 0.3], [0, 1, 0.3]], [[0.5, 0.5, 0.3], [1, 0, 0.3]]])
    expected /= expected.sum(axis=-1, keepdims=True)
    self.assertAllClose(labels.renormalize(soft), expected, atol=1e-6)

  def test_renormalize_floor_lets_a_gone_object_fade(self):
    # A gone object smeared at 0.05..0.15: full renormalization stretches it (and the
    # background, 0.85..0.95) to [0, 1], so it wins the cell where it is 0.15. Both
    # ranges are 0.1 < floor 0.5: left as they are, background wins everywhere.
    object_prob = np.array([[0.05, 0.15], [0.1, 0.05]], np.float32)
    soft = np.stack([1 - object_prob, object_prob], axis=-1)
    full = labels.renormalize(soft)
    floored = labels.renormalize(soft, floor=0.5)
    self.assertEqual(np.argmax(full, -1)[0, 1], 1)  # forced back onto a cell
    self.assertAllClose(floored, soft, atol=1e-6)
    self.assertEqual(np.argmax(floored, -1).max(), 0)
    # A present object (range 0.1..0.9 >= floor) is stretched as before.
    present = np.stack([1 - 8 * object_prob + 0.3, 8 * object_prob - 0.3], axis=-1)
    self.assertAllClose(labels.renormalize(present, floor=0.5), labels.renormalize(present))

  def test_background_weighted_thresholds_one_object_and_weighs_several(self):
    object_prob = np.array([[0.35, 0.45], [0.55, 0.3]], np.float32)
    soft = np.stack([1 - object_prob, object_prob], axis=-1)
    # One object: the argmax after weighing is "above the threshold".
    for threshold in (0.3, 0.4, 0.5, 0.6):
      self.assertAllEqual(np.argmax(labels.background_weighted(soft, threshold), -1),
                          (object_prob > threshold).astype(int))
    self.assertIs(labels.background_weighted(soft, 0.5), soft)
    # Two objects at 0.3 and 0.25, background 0.45: at 0.4 background weighs 0.45 x 2/3 =
    # 0.3, so just below 0.4 the larger object wins each cell, just above background;
    # the objects never trade places.
    three = np.array([[[0.45, 0.3, 0.25], [0.45, 0.25, 0.3]]], np.float32)
    self.assertAllEqual(np.argmax(labels.background_weighted(three, 0.39), -1), [[1, 2]])
    self.assertAllEqual(np.argmax(labels.background_weighted(three, 0.41), -1), [[0, 0]])

  def test_drop_small_components_keeps_pieces_by_their_share_of_the_largest(self):
    ids = np.zeros((8, 12), np.uint8)
    ids[0:4, 0:5] = 1  # object 1: 20 pixels ...
    ids[6:8, 0:2] = 1  # ... and an island of 4 (0.2 of 20)
    ids[0:3, 8:12] = 2  # object 2: 12 pixels ...
    ids[5, 7] = 2  # ... an island of 1 (1/12)
    ids[7, 11] = 2  # ... and one of 1 touching nothing
    ids[4, 5] = 1  # diagonal to object 1's corner (3, 4): the same piece (8-connected)
    kept = labels.drop_small_components(ids, np.array([1, 2]), 0.1)
    expected = ids.copy()
    expected[5, 7] = expected[7, 11] = 0  # 1 < 0.1 x 12; 4 >= 0.1 x 21 stays
    self.assertAllEqual(kept, expected)
    dropped = labels.drop_small_components(ids, np.array([1, 2]), 0.25)
    expected[6:8, 0:2] = 0  # 4 < 0.25 x 21
    self.assertAllEqual(dropped, expected)
    self.assertIs(labels.drop_small_components(ids, np.array([1, 2]), 0.0), ids)
    self.assertEqual(ids[5, 7], 2)  # the input is left as it was

  def test_mask_threshold_grows_an_object_whose_edges_are_blurred(self):

    frames = [np.zeros((48, 64, 3), np.uint8)] * 2
    first = np.zeros((48, 64), np.uint8)
    first[16:32, 16:40] = 1  # 2 x 3 cells
    # Radius 1, equal affinities: a 3 x 3 box filter. The middle column's two cells
    # get 6/9 > 0.5, the side columns 4/9, so the argmax keeps 2 of the 6 cells and a
    # threshold of 0.4 all 6 (a cell next to them gets at most 3/9).
    config = dict(temperature=1.0, radius=1, use_first=False, window=1)
    argmax = list(trackers.PointerTracker(_ConstantEmbedder(), trackers.PropagationConfig(
        **config)).track_masks(iter(frames), first))
    lowered = list(trackers.PointerTracker(_ConstantEmbedder(), trackers.PropagationConfig(
        **config, mask_threshold=0.4)).track_masks(iter(frames), first))
    self.assertEqual(np.count_nonzero(argmax[1][4::8, 4::8]), 2)
    self.assertAllEqual(lowered[1][4::8, 4::8], first[4::8, 4::8])

  def test_guided_filter_puts_a_blurred_edge_on_the_frame_edge(self):
    # The frame: two colours meeting between columns 19 and 20. The mask: 1 up to column
    # 18, 0 from 22, a ramp between (0.5 at 20), as a label grid blurs an edge; so its
    # decision moves with the threshold (19 to 22 columns). Filtered with radius 8 it is
    # near 1 left and near 0 right of the frame's edge (0.95 / 0.14 beside it), so every
    # threshold from 0.2 to 0.8 keeps exactly the 20 columns of the first colour.
    guide = np.zeros((32, 48, 3), np.float32)
    guide[:, :20] = [0.8, 0.2, 0.1]
    guide[:, 20:] = [0.1, 0.5, 0.3]
    ramp = np.clip((22 - np.arange(48)) / 4.0, 0, 1)
    soft = np.broadcast_to(np.stack([1 - ramp, ramp], -1), (32, 48, 2)).astype(np.float32)
    filtered = labels.guided_filter(guide, soft, 8)
    for threshold in (0.2, 0.3, 0.5, 0.7, 0.8):
      self.assertAllEqual(np.count_nonzero(filtered[..., 1] > threshold, axis=1), [20] * 32)
    self.assertEqual(np.count_nonzero(soft[0, :, 1] > 0.2), 22)  # unfiltered: 19 to 22
    self.assertEqual(np.count_nonzero(soft[0, :, 1] > 0.8), 19)
    # Linear in the masks: channels summing to 1 still do, on any frame; radius 0: as given.
    rng = np.random.default_rng(0)
    three = rng.dirichlet(np.ones(3), size=(24, 40)).astype(np.float32)
    noisy = labels.guided_filter(rng.random((24, 40, 3), dtype=np.float32), three, 5)
    self.assertAllClose(noisy.sum(-1), np.ones((24, 40)), atol=1e-4)
    self.assertIs(labels.guided_filter(guide, soft, 0), soft)
    # Fitted at a quarter size, it still takes the frame's edge; a 3 x 2 frame is fitted as is.
    quarter = labels.guided_filter(guide, soft, 8, subsample=4)
    self.assertAllEqual(np.count_nonzero(quarter[..., 1] > 0.5, axis=1), [20] * 32)
    tiny = labels.guided_filter(guide[:3, :2], soft[:3, :2], 8, subsample=4)
    self.assertAllClose(tiny, labels.guided_filter(guide[:3, :2], soft[:3, :2], 8))

  def test_guided_filter_radius_moves_tracked_masks_onto_the_object(self):
    # As in the threshold test above: a 3 x 3 box filter of the labels blurs the
    # object's edges over a cell, so a threshold of 0.4 alone misses 128 pixels of it
    # (the argmax cuts off cells' edges). The object is white on black in the frames:
    # filtered with radius 12 (pixels of the 48 x 64 frame as tracked), the mask is it.
    frames = [np.zeros((48, 64, 3), np.uint8) for _ in range(2)]
    for frame in frames:
      frame[16:32, 16:40] = 255
    first = np.zeros((48, 64), np.uint8)
    first[16:32, 16:40] = 1
    config = dict(temperature=1.0, radius=1, use_first=False, window=1, mask_threshold=0.4)
    plain = list(trackers.PointerTracker(_ConstantEmbedder(), trackers.PropagationConfig(
        **config)).track_masks(iter(frames), first))
    tracker = trackers.PointerTracker(_ConstantEmbedder(), trackers.PropagationConfig(
        **config, guided_filter_radius=12))
    filtered = list(tracker.track_masks(iter(frames), first))
    self.assertEqual(np.count_nonzero(plain[1] != first), 128)
    self.assertAllEqual(filtered[1], first)
    soft = list(tracker.soft_masks(iter(frames), first))[1]
    with self.assertRaisesRegex(ValueError, "needs the frame"):
      tracker.decode_masks(soft, 48, 64, np.array([1]))
    self.assertAllEqual(tracker.decode_masks(soft, 48, 64, np.array([1]), frame=frames[1]), first)

  def test_gate_moves_unlike_cells_to_background(self):
    first_embedding = np.zeros((2, 2, 2), np.float32)
    first_embedding[..., 0] = 1.0  # every first-frame cell is e0
    first_labels = np.zeros((2, 2, 2), np.float32)
    first_labels[0, 0] = [0, 1]  # cell (0, 0) is the object
    first_labels[..., 0] = 1 - first_labels[..., 1]
    embedding = np.zeros((2, 2, 2), np.float32)
    embedding[0] = [1.0, 0.0]  # row 0 looks like the object (dot 1) ...
    embedding[1] = [0.6, 0.8]  # ... row 1 only 0.6 alike
    soft = np.full((2, 2, 2), 0.5, np.float32)
    gated = labels.gate_by_first_frame(soft, embedding, first_embedding, first_labels, 0.7)
    self.assertAllClose(gated[0], soft[0])  # alike enough: unchanged
    self.assertAllClose(gated[1], [[1.0, 0.0], [1.0, 0.0]])  # to background, mass kept

  def test_first_frame_searched_globally_refinds_a_far_object(self):
    # The textured object jumps 5 cells at frame 2; a radius of 1 cannot follow it,
    # but the first frame's object cells are searched everywhere with first_global.
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, size=(48, 80, 3), dtype=np.uint8)
    patch = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    frames = []
    for col in (8, 8, 48):
      frame = background.copy()
      frame[16:32, col:col + 16] = patch
      frames.append(frame)
    first = np.zeros((48, 80), np.uint8)
    first[16:32, 8:24] = 1
    local = trackers.PropagationConfig(temperature=0.01, top_k=1, radius=1)
    refind = trackers.PropagationConfig(temperature=0.01, top_k=1, radius=1, first_global=True)
    lost = list(trackers.PointerTracker(CellContentEmbedder(), local).track_masks(
        iter(frames), first))[2]
    found = list(trackers.PointerTracker(CellContentEmbedder(), refind).track_masks(
        iter(frames), first))[2]
    self.assertEqual(lost[16:32, 48:64].max(), 0)
    self.assertAllEqual(found[20:28, 52:60], np.ones((8, 8)))

  def test_needs_at_least_one_reference(self):
    with self.assertRaisesRegex(ValueError, "no reference frames"):
      trackers.PointerTracker(CellContentEmbedder(),
                              trackers.PropagationConfig(window=0, use_first=False))

  def test_streams_frames_and_keeps_bounded_memory(self):
    consumed = []

    def endless_frames():
      for t in itertools.count():
        consumed.append(t)
        yield textured_shift_video(num_frames=1, seed=t)[0]

    calls = []

    class CountingEmbedder(CellContentEmbedder):

      def __call__(self, frames):
        calls.append(len(frames))
        return super().__call__(frames)

    tracker = trackers.PointerTracker(CountingEmbedder(), trackers.PropagationConfig(window=3))
    first = np.zeros((48, 64), np.uint8)
    first[8:24, 8:24] = 1
    results = list(itertools.islice(tracker.track_masks(endless_frames(), first), 7))
    self.assertLen(results, 7)
    self.assertEqual(consumed, list(range(7)))  # no read-ahead: a stream, not a list
    self.assertEqual(calls, [1] * 7)  # every frame embedded exactly once

  def test_identity_repeats_and_flow_follows_motion(self):
    frames = textured_shift_video(num_frames=3, shift_cells=0)
    frames = [np.roll(frames[0], 2 * t, axis=1) for t in range(3)]  # 2 px per frame
    first = np.zeros((48, 64), np.uint8)
    first[12:36, 16:44] = 1
    identity = list(trackers.IdentityTracker().track_masks(iter(frames), first))
    self.assertAllEqual(identity[2], first)
    flow = list(trackers.FlowTracker().track_masks(iter(frames), first))
    moved = np.roll(first, 4, axis=1)
    iou = np.sum((flow[2] == 1) & (moved == 1)) / np.sum((flow[2] == 1) | (moved == 1))
    self.assertGreater(iou, 0.9)
    points = list(trackers.FlowTracker().track_points(iter(frames), np.array([[30.0, 24.0]])))
    self.assertAllClose(points[2][0], [[34.0, 24.0]], atol=1.0)


class TrackVideoTest(tf.test.TestCase):

  def setUp(self):
    super().setUp()
    self.root = self.create_tempdir().full_path
    self.video = synthetic.generate_video(4, num_frames=6, height=48, width=64)
    self.video_path = os.path.join(self.root, "v.mp4")
    synthetic.write_video_file(self.video_path, self.video.frames, 24.0)
    self.mask_path = os.path.join(self.root, "first.png")
    masks.write_mask(self.mask_path, self.video.masks[0])

  def test_masks_and_overlay(self):
    out = os.path.join(self.root, "out")
    summary = track_video.track_video(self.video_path, out, trackers.IdentityTracker(),
                                      mask_path=self.mask_path)
    self.assertEqual(summary["frames"], 6)
    self.assertLen(os.listdir(os.path.join(out, "masks")), 6)
    self.assertAllEqual(masks.read_mask(os.path.join(out, "masks", "00005.png")),
                        self.video.masks[0])
    self.assertGreater(os.path.getsize(os.path.join(out, "overlay.mp4")), 0)

  def test_hd_frames_are_processed_small_and_masks_come_back_full_size(self):
    # A 48x64 "HD" video against a cap of 24 pixels on the short side: embedded at 24x32.
    tracker = trackers.PointerTracker(CellContentEmbedder(),
                                      trackers.PropagationConfig(temperature=0.01,
                                                                 max_short_side=24))
    out = os.path.join(self.root, "hd")
    summary = track_video.track_video(self.video_path, out, tracker, mask_path=self.mask_path)
    self.assertEqual((summary["processed_width"], summary["processed_height"]), (32, 24))
    self.assertEqual(masks.read_mask(os.path.join(out, "masks", "00005.png")).shape, (48, 64))
    # The overlay is a preview at the processed size.
    with av.open(os.path.join(out, "overlay.mp4")) as container:
      stream = container.streams.video[0]
      self.assertEqual((stream.width, stream.height), (32, 24))
      self.assertLen(list(container.decode(video=0)), 6)

  def test_keypoints_json(self):
    keypoints_path = os.path.join(self.root, "kp.json")
    with open(keypoints_path, "w") as f:
      json.dump({"keypoints": [{"x": 10, "y": 20}, {"x": 30.5, "y": 5}]}, f)
    out = os.path.join(self.root, "kp_out")
    track_video.track_video(self.video_path, out, trackers.IdentityTracker(),
                            keypoints_path=keypoints_path)
    with open(os.path.join(out, "keypoints.json")) as f:
      result = json.load(f)
    self.assertLen(result["frames"], 6)
    self.assertEqual(result["frames"][3]["keypoints"][1], {"x": 30.5, "y": 5.0, "visible": True})

  def test_bad_inputs_name_the_file(self):
    tracker = trackers.IdentityTracker()
    big_mask = os.path.join(self.root, "big.png")
    masks.write_mask(big_mask, np.ones((10, 10), np.uint8))
    empty_mask = os.path.join(self.root, "empty.png")
    masks.write_mask(empty_mask, np.zeros((48, 64), np.uint8))
    corrupt = os.path.join(self.root, "corrupt.mp4")
    with open(corrupt, "wb") as f:
      f.write(os.urandom(1000))
    outside = os.path.join(self.root, "outside.json")
    with open(outside, "w") as f:
      json.dump([[10, 10], [100, 10]], f)
    out = os.path.join(self.root, "o")
    cases = [
        (dict(video_path=self.video_path, mask_path=big_mask),
         "big.png: mask is 10x10 but the video's frames are 64x48"),
        (dict(video_path=self.video_path, mask_path=empty_mask), "empty.png: mask has no object"),
        (dict(video_path=corrupt, mask_path=self.mask_path), "corrupt.mp4: cannot open video"),
        (dict(video_path=self.video_path, keypoints_path=outside),
         r"outside.json: keypoint 1 at \(100, 10\) is outside the 64x48 frame"),
    ]
    for kwargs, message in cases:
      with self.assertRaisesRegex(track_video.TrackInputError, message):
        track_video.track_video(output_dir=out, tracker=tracker, **kwargs)
    # Rejected before anything was written: no output, no temp video.
    self.assertFalse(os.path.exists(out))

  def test_track_binary_exit_code_and_one_line_error(self):
    result = subprocess.run(
        [sys.executable, "-m", "colortrack.track", f"--video={self.video_path}",
         f"--mask={os.path.join(self.root, 'missing.png')}", f"--output_dir={self.root}/b",
         "--method=flow"],
        cwd=testing_utils.REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    self.assertEqual(result.returncode, 1)
    errors = [l for l in result.stderr.splitlines() if l.startswith("E")]
    self.assertLen(errors, 1)
    self.assertIn("missing.png: unreadable mask", errors[0])


  @pytest.mark.slow
  def test_shipped_tracker_on_real_video_with_hand_drawn_mask(self):
    if not testing_utils.has_shared():
      self.skipTest(testing_utils.SHARED_MISSING_REASON)
    source = testing_utils.shared_path("data", "unlabeled", "videos", "cotracker_apple.mp4")
    # Its first 16 frames as a folder of PNGs (the other input a user has), to keep the test short.
    video = os.path.join(self.root, "apple_frames")
    os.makedirs(video)
    for index, frame in zip(range(16), video_io.rgb_frames(video_io.source_from_path(source))):
      cv2.imwrite(os.path.join(video, f"{index:05d}.png"), frame[..., ::-1])
    first = cv2.imread(os.path.join(video, "00000.png"))
    height, width = first.shape[:2]
    # What a user draws: an ellipse around the middle of the first frame.
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2, height // 2), (width // 6, height // 5), 0, 0, 360, 1, -1)
    mask_path = os.path.join(self.root, "drawn.png")
    masks.write_mask(mask_path, mask)
    result = subprocess.run(
        [sys.executable, "-m", "colortrack.track", f"--video={video}", f"--mask={mask_path}",
         f"--output_dir={self.root}/apple"],
        cwd=testing_utils.REPO_ROOT, capture_output=True, text=True, timeout=600, check=False)
    self.assertEqual(result.returncode, 0, msg=result.stderr[-3000:])
    self.assertIn("colortrack/pretrained/ensemble_cpu", result.stderr)  # the default --model
    predicted = sorted(os.listdir(os.path.join(self.root, "apple", "masks")))
    self.assertLen(predicted, 16)
    last = masks.read_mask(os.path.join(self.root, "apple", "masks", predicted[-1]))
    self.assertGreater(np.count_nonzero(last), 0.2 * np.count_nonzero(mask))
    self.assertGreater(os.path.getsize(os.path.join(self.root, "apple", "overlay.mp4")), 0)


if __name__ == "__main__":
  tf.test.main()
