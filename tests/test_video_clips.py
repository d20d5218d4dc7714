"""The numpy/OpenCV video source: in memory (exact replay) or streamed (any dataset size)."""

import logging
import os

import numpy as np
import pytest

from colortrack import errors
from colortrack.data import clip_features
from colortrack.data import video_clips
from colortrack.training import trainer
from tests import test_training
from tests import testing_utils

KEYS = (clip_features.RGB, clip_features.LIGHTNESS, clip_features.AB_CODES)


@pytest.fixture(name="videos")
def fixture_videos(tmp_path):
  folder = str(tmp_path / "videos")
  testing_utils.write_tiny_videos(folder, num_videos=3, num_frames=24)
  return folder


def source(videos, **kwargs):
  return video_clips.VideoClipSource(videos, testing_utils.hue_codebook(), fps=24.0,
                                     stored_size=32, workers=2, **kwargs)


def test_in_memory_batches_replay_and_split_over_processes(videos):
  clips = source(videos)
  assert not clips.streaming and len(clips) == 18  # 3 videos x 24 frames / 4
  whole = next(clips.batches(4, KEYS, 16, seed=3, start_step=5))
  assert whole[clip_features.RGB].shape == (4, 4, 16, 16, 3)
  assert whole[clip_features.AB_CODES].dtype == np.int32
  # The same (seed, step): the same batch (a resumed run's); the two processes' halves
  # of it are its halves.
  again = next(clips.batches(4, KEYS, 16, seed=3, start_step=5))
  halves = [next(clips.batches(4, KEYS, 16, seed=3, start_step=5, shard=(i, 2)))
            for i in range(2)]
  for key in KEYS:
    np.testing.assert_array_equal(whole[key], again[key])
    np.testing.assert_array_equal(whole[key], np.concatenate([h[key] for h in halves]))
  with pytest.raises(errors.TrainingError, match="cannot be split over 3"):
    next(clips.batches(4, KEYS, 16, shard=(0, 3)))


def test_past_its_memory_budget_the_source_streams(videos, caplog):
  # A corrupt file among the videos: said once, skipped, every epoch.
  with open(os.path.join(videos, "corrupt.mp4"), "wb") as f:
    f.write(b"not a video")
  with caplog.at_level(logging.INFO):
    clips = source(videos, memory_gib=1e-6, shuffle_buffer=8)
    batches = clips.batches(4, KEYS, 16, seed=1, start_step=2)
    first = [next(batches) for _ in range(12)]  # 48 clips: past the 18 of one epoch
  assert clips.streaming
  assert "streaming them from 2 decoding threads" in caplog.text
  assert caplog.text.count("corrupt.mp4") == 1
  for batch in first:
    assert batch[clip_features.RGB].shape == (4, 4, 16, 16, 3)
    assert np.isfinite(batch[clip_features.LIGHTNESS]).all()
  # Seeded by (seed, start_step): the same call, the same batches.
  replay = clips.batches(4, KEYS, 16, seed=1, start_step=2)
  np.testing.assert_array_equal(next(replay)[clip_features.RGB], first[0][clip_features.RGB])
  # Every source was read: the three videos' hues all appear (hue_codebook codes).
  codes = np.concatenate([b[clip_features.AB_CODES].ravel() for b in first])
  assert len(np.unique(codes)) >= 3
  assert clips.eval_batch(2, KEYS, 16)[clip_features.RGB].shape == (2, 4, 16, 16, 3)
  # Each process streams its own sources; more processes than sources is refused.
  part = next(clips.batches(4, KEYS, 16, shard=(1, 2)))
  assert part[clip_features.RGB].shape == (2, 4, 16, 16, 3)
  with pytest.raises(errors.TrainingError, match="4 sources cannot feed 5 processes"):
    next(clips.batches(5, KEYS, 16, shard=(4, 5)))


def test_training_on_a_streamed_video_source(videos, tmp_path):
  config = test_training.tiny_config(videos, num_steps=2, checkpoint_every=2)
  config.data.source = "video"
  config.data.codebook = str(tmp_path / "codebook.npz")
  config.data.video_memory_gib = 0.0
  from colortrack.data import codebook as codebook_lib  # pylint: disable=g-import-not-at-top
  codebook_lib.save(testing_utils.hue_codebook(), config.data.codebook)
  last = trainer.train(config, str(tmp_path / "run"))
  assert last["step"] == 2 and np.isfinite(last["loss"])
  config.data.video_memory_gib = float("nan")
  with pytest.raises(trainer.TrainingError, match="video_memory_gib=nan: must be a finite"):
    trainer.train(config, str(tmp_path / "nan"))
