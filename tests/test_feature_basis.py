"""The feature basis: principal directions that let the pointer compare fewer dimensions."""

import numpy as np
import pytest

from colortrack import errors
from colortrack.inference import embedder as embedder_lib
from colortrack.inference import feature_basis


def _frames_and_features(dim=12, rank=3, count=4, seed=0):
  """Features of rank `rank` in `dim` dimensions (plus tiny noise): `count` grids [5, 6, dim]."""
  rng = np.random.default_rng(seed)
  mix = rng.normal(size=(rank, dim))
  grids = [rng.normal(size=(5, 6, rank)) @ mix + 1e-4 * rng.normal(size=(5, 6, dim))
           for _ in range(count)]
  return grids


def test_basis_is_orthonormal_and_full_rank_projection_keeps_dot_products():
  grids = _frames_and_features()
  bases = feature_basis.fit(None, iter(grids), embed_fn=lambda g: g)
  basis, energy = bases[0]
  np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-5)
  flat = grids[0].reshape(-1, 12)
  # All directions: a rotation, dot products unchanged.
  np.testing.assert_allclose((flat @ basis) @ (flat @ basis).T, flat @ flat.T, atol=1e-4)
  # Rank 3 by construction: 3 directions hold all but the noise's energy, and keep the
  # dot products to the noise's size.
  assert energy[2] > 0.999999
  np.testing.assert_allclose((flat @ basis[:, :3]) @ (flat @ basis[:, :3]).T, flat @ flat.T,
                             atol=1e-3)


def test_an_ensemble_gets_a_basis_for_each_prefix_of_its_networks():
  grids = _frames_and_features()
  bases = feature_basis.fit(None, iter(grids), embed_fn=lambda g: g, network_dims=(4, 4, 4))
  assert sorted(bases) == [0, 1, 2] and bases[1][0].shape[0] == 4 and bases[2][0].shape[0] == 8


def test_embedder_projects_and_refuses_what_it_cannot(tmp_path):
  grids = _frames_and_features()
  bases = feature_basis.fit(None, iter(grids), embed_fn=lambda g: g)
  feature_basis.save(str(tmp_path), bases, "test")
  loaded = feature_basis.load(str(tmp_path))
  np.testing.assert_allclose(loaded[0], bases[0][0])
  embedder = embedder_lib.Embedder(lambda frames: np.stack(grids[:len(frames)]).astype(
      np.float32), 8, "test", bases=loaded)
  frames = np.zeros((1, 40, 48, 3), np.uint8)  # 5 x 6 cells at stride 8
  projected = embedder(frames, dims=3)
  assert projected.shape == (1, 5, 6, 3)
  with pytest.raises(errors.UserError, match="feature_dims=99; its basis has 12"):
    embedder(frames, dims=99)
  with pytest.raises(errors.UserError, match="no feature basis"):
    embedder_lib.Embedder(lambda f: None, 8, "bare")(frames, dims=3)


def test_sampled_frames_are_evenly_spaced_in_folders_and_videos(tmp_path):
  from colortrack.data import synthetic  # pylint: disable=g-import-not-at-top
  from colortrack.inference import basis_fitting  # pylint: disable=g-import-not-at-top
  from tests import testing_utils  # pylint: disable=g-import-not-at-top
  video = synthetic.generate_video(0, num_frames=10, height=32, width=48)
  testing_utils.write_frame_folder(str(tmp_path / "folder"), video.frames)
  synthetic.write_video_file(str(tmp_path / "v.mp4"), video.frames, video.fps)
  for source in ("folder", "v.mp4"):
    got = list(basis_fitting.sample_frames(str(tmp_path / source), 3))
    # linspace(0, 9, 3) rounds to frames 0, 4 (4.5 rounds to even) and 9.
    assert len(got) == 3, source
    for frame, index in zip(got, (0, 4, 9)):
      assert np.abs(frame.astype(int) - video.frames[index]).mean() < 12, (source, index)
