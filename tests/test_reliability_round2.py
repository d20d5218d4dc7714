"""Reliability, round 2 (issue #23): each test here fails on the code before it.

1. Outputs never replace what colortrack did not write (one rule: `files`' record).
2. A dataset is read-only: no output inside it, no name from it steers a write outside.
3. No wrong number with exit 0: frames matched by name, NaN joints not annotated,
   no score that cannot be computed, void in label maps, truncated video said.
4. One validator refuses settings that cannot track or train.
"""

import json
import os

import cv2
import numpy as np
import pytest
import scipy.io
from PIL import Image

from colortrack import errors
from colortrack import validation
from colortrack.data import masks as masks_lib
from colortrack.data import synthetic
from colortrack.data import tfrecord_builder
from colortrack.evaluation import davis
from colortrack.evaluation import keypoint_datasets
from colortrack.evaluation import keypoint_eval
from colortrack.inference import track_video
from colortrack.inference import trackers
from colortrack.utils import files
from tests import test_reliability
from tests import testing_utils

# --- 1. one rule: replace only what colortrack wrote ---------------------------------------


def test_atomic_output_refuses_a_users_file_and_replaces_its_own(tmp_path):
  users = tmp_path / "notes.txt"
  users.write_text("precious")
  with pytest.raises(errors.OutputError, match="notes.txt: exists and colortrack did not"):
    with files.atomic_output(str(users)) as tmp:
      open(tmp, "w").write("replaced")
  assert users.read_text() == "precious"
  ours = tmp_path / "ours.txt"
  for text in ("first", "second"):  # written, then replaced: it is on the record
    with files.atomic_output(str(ours)) as tmp:
      open(tmp, "w").write(text)
  assert ours.read_text() == "second"
  assert files.was_written_by_colortrack(str(ours))
  assert not files.was_written_by_colortrack(str(users))


def test_outputs_inside_inputs_are_refused(tmp_path):
  videos = testing_utils.write_tiny_videos(str(tmp_path / "videos"), num_videos=1)
  with pytest.raises(errors.OutputError, match="is an input"):  # its own input video
    tfrecord_builder.fit_codebook(videos[0], videos[0])
  with pytest.raises(errors.OutputError, match="lies inside an input"):
    tfrecord_builder.fit_codebook(str(tmp_path / "videos"),
                                  str(tmp_path / "videos" / "codebook.npz"))
  (tmp_path / "mine.npz").write_bytes(b"user data")
  with pytest.raises(errors.OutputError, match="mine.npz: exists and colortrack did not"):
    tfrecord_builder.fit_codebook(str(tmp_path / "videos"), str(tmp_path / "mine.npz"))
  assert (tmp_path / "mine.npz").read_bytes() == b"user data"
  assert os.path.getsize(videos[0]) > 1000


def test_folder_outputs_refuse_a_users_files_before_any_work(tmp_path):
  videos = testing_utils.write_tiny_videos(str(tmp_path / "videos"), num_videos=1)
  codebook = str(tmp_path / "codebook.npz")
  tfrecord_builder.fit_codebook(videos[0], codebook, num_clusters=4, capacity=500)
  out = tmp_path / "clips"
  out.mkdir()
  (out / "manifest.json").write_text('{"mine": true}')
  config = tfrecord_builder.BuildConfig(input_spec=videos[0], codebook_path=codebook,
                                        output_dir=str(out), size=32)
  with pytest.raises(errors.OutputError, match="manifest.json: exists and colortrack did not"):
    tfrecord_builder.build(config)
  assert sorted(os.listdir(out)) == ["manifest.json"]  # no shard written before the refusal
  with pytest.raises(errors.UserError, match="lies inside an input"):
    tfrecord_builder.build(tfrecord_builder.BuildConfig(
        input_spec=str(tmp_path / "videos"), codebook_path=codebook,
        output_dir=str(tmp_path / "videos" / "clips"), size=32))


def test_colorize_never_writes_into_its_frame_folder(tmp_path):
  from colortrack.evaluation import colorize  # pylint: disable=g-import-not-at-top
  video = synthetic.generate_video(0, num_frames=3, height=32, width=48)
  testing_utils.write_frame_folder(str(tmp_path / "frames"), video.frames)
  before = sorted(os.listdir(tmp_path / "frames"))
  with pytest.raises(errors.OutputError, match="is an input"):
    colorize.colorize_video(str(tmp_path / "frames"), str(tmp_path / "frames"), tracker=None)
  assert sorted(os.listdir(tmp_path / "frames")) == before


# --- 2. a dataset is read-only ---------------------------------------------------------------


def test_results_inside_the_dataset_are_refused_even_with_overwrite(tmp_path):
  synthetic.write_dataset(str(tmp_path / "syn"), num_videos=1, num_frames=4, height=32,
                          width=48)
  root = str(tmp_path / "syn" / "davis")
  sequences = davis.list_sequences(root)
  annotations = os.path.join(root, "Annotations", "480p")
  before = {p: open(p, "rb").read() for p in masks_lib.mask_paths(
      os.path.join(annotations, sequences[0]))}
  for overwrite in (False, True):
    with pytest.raises(errors.OutputError, match="lies inside an input"):
      davis.predict(root, annotations, trackers.IdentityTracker(), sequences,
                    overwrite=overwrite)
  assert {p: open(p, "rb").read() for p in before} == before


def test_sequence_and_video_names_cannot_leave_the_results_folder(tmp_path):
  synthetic.write_dataset(str(tmp_path / "syn"), num_videos=1, num_frames=4, height=32,
                          width=48)
  root = tmp_path / "syn" / "davis"
  sets = root / "ImageSets" / "2017"
  sets.mkdir(parents=True, exist_ok=True)
  for name in ("../../escape", "/abs/olute"):
    (sets / "val.txt").write_text(name + "\n")
    with pytest.raises(errors.OutputError, match="not a plain relative name"):
      davis.list_sequences(str(root))
  jhmdb = tmp_path / "jhmdb"
  (jhmdb / "splits").mkdir(parents=True)
  (jhmdb / "splits" / "catch_test_split1.txt").write_text("../../../escape.avi 2\n")
  with pytest.raises(errors.OutputError, match="not a plain relative name"):
    keypoint_datasets.load_videos(str(jhmdb))


# --- 3. no wrong number with exit 0 ---------------------------------------------------------


def test_davis_frames_with_one_based_names_are_scored_by_name(tmp_path):
  """Frames 00001..00006 with annotations of 00001, 00003 and 00006 only (sparse)."""
  video = synthetic.generate_video(0, num_frames=6, height=32, width=48)
  root = tmp_path / "davis"
  frames = root / "JPEGImages" / "480p" / "seq"
  frames.mkdir(parents=True)
  for t, frame in enumerate(video.frames):
    cv2.imwrite(str(frames / f"{t + 1:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    if t + 1 in (1, 3, 6):
      masks_lib.write_mask(str(root / "Annotations" / "480p" / "seq" / f"{t + 1:05d}.png"),
                           video.masks[t])
  results = str(tmp_path / "results")
  davis.predict(str(root), results, trackers.IdentityTracker(), ["seq"])
  assert sorted(os.listdir(os.path.join(results, "seq")))[0] == "00001.png"
  scores = davis.evaluate(str(root), results, ["seq"])
  # Identity repeats frame 1's mask; the only scored frame is 00003 (first and last
  # annotated frames are not scored): J must be that of mask 1 against mask 3.
  gt1, gt3 = video.masks[0] == 1, video.masks[2] == 1
  expected_j = (gt1 & gt3).sum() / (gt1 | gt3).sum()
  assert scores.per_object()[0]["J-Mean"] == pytest.approx(expected_j)


def test_jhmdb_frame_missing_does_not_shift_the_ground_truth(tmp_path):
  root = tmp_path / "jhmdb"
  (root / "splits").mkdir(parents=True)
  (root / "splits" / "catch_test_split1.txt").write_text("clip.avi 2\n")
  frames = root / "Rename_Images" / "catch" / "clip"
  frames.mkdir(parents=True)
  for n in (1, 2, 4, 5):  # frame 3 is missing
    cv2.imwrite(str(frames / f"{n:05d}.png"), np.zeros((8, 8, 3), np.uint8))
  pos = np.zeros((2, 15, 5))
  pos[0] = np.arange(1, 6)[None]  # x (1-based) = the frame number
  mat = root / "joint_positions" / "catch" / "clip" / "joint_positions.mat"
  mat.parent.mkdir(parents=True)
  scipy.io.savemat(str(mat), {"pos_img": pos})
  video, = keypoint_datasets.load_videos(str(root))
  assert [os.path.basename(p) for p in video.frame_paths] == [
      "00001.png", "00002.png", "00004.png", "00005.png"]
  np.testing.assert_array_equal(video.gt[:, 0, 0], [0, 1, 3, 4])  # 0-based x of frames 1,2,4,5


def _badja(tmp_path, joints_per_frame, visibility=None):
  root = tmp_path / "badja"
  frames = root / "DAVIS" / "JPEGImages" / "480p" / "dog"
  frames.mkdir(parents=True)
  entries = []
  for t, joints in enumerate(joints_per_frame):
    cv2.imwrite(str(frames / f"{t:05d}.jpg"), np.zeros((8, 8, 3), np.uint8))
    entry = {"image_path": f"x/{t:05d}.jpg", "joints": joints}
    if visibility is not False:
      entry["visibility"] = [1] * len(joints)
    entries.append(entry)
  (root / "joint_annotations").mkdir()
  (root / "joint_annotations" / "dog.json").write_text(
      json.dumps(entries).replace('"NaN"', "NaN"))
  return str(root)


def test_badja_nan_joint_later_is_not_annotated_not_a_miss(tmp_path):
  root = _badja(tmp_path, [[[10, 10], [20, 20]], [[10, 10], ["NaN", "NaN"]],
                           [[10, 10], [20, 20]]])
  video, = keypoint_datasets.load_videos(root)
  np.testing.assert_array_equal(video.visible, [[1, 1], [1, 0], [1, 1]])
  assert np.all(np.isfinite(video.gt))


@pytest.mark.parametrize("joints, visibility, message", [
    ([[["NaN", "NaN"], [20, 20]], [[10, 10], [20, 20]]], True, "joint 0 of the first"),
    ([[[10, 10], [20, 20]], [[10, 10]]], True, "has 1 joints"),
    ([[[10, 10], [20, 20]], [[10, 10], [20, 20]]], False, "has no visibility key"),
])
def test_bad_badja_files_are_one_line(tmp_path, joints, visibility, message):
  root = _badja(tmp_path, joints, visibility)
  with pytest.raises(keypoint_datasets.DatasetError, match=message):
    keypoint_datasets.load_videos(root)


def test_scores_that_cannot_be_computed_are_errors_not_nan(tmp_path):
  gt = np.zeros((2, 4, 4), np.uint8)
  gt[:, 1:3, 1:3] = 1
  with pytest.raises(davis.EvaluationError, match="2 annotated frame"):
    davis.score_sequence("short", gt, gt)
  empty = np.zeros((4, 4, 4), np.uint8)
  assert davis.score_sequence("empty", empty, empty) == []
  with pytest.raises(davis.EvaluationError, match="no object to score"):
    davis.DavisResults([]).global_scores()
  # No visible joint after the first frame: no PCK (it was `PCK nan` with exit 0).
  video = keypoint_datasets.KeypointVideo("v", ["a", "b"], np.zeros((2, 3, 2)),
                                          np.array([[1, 1, 1], [0, 0, 0]], bool),
                                          np.ones(2, bool))
  np.save(tmp_path / "v.npy", np.zeros((2, 3, 2)))
  with pytest.raises(keypoint_datasets.DatasetError, match="v: no visible joint"):
    keypoint_eval.score([video], str(tmp_path))


def test_label_map_with_void_keeps_its_ids(tmp_path):
  ids = np.zeros((8, 8), np.uint8)
  ids[1:3, 1:3], ids[4:6, 4:6], ids[0, :] = 1, 2, 255
  Image.fromarray(ids, mode="L").save(tmp_path / "labels.png")
  np.testing.assert_array_equal(masks_lib.read_mask(str(tmp_path / "labels.png")), ids)
  binary = (ids == 1).astype(np.uint8) * 255  # a 0/255 mask alone: one object
  Image.fromarray(binary, mode="L").save(tmp_path / "binary.png")
  np.testing.assert_array_equal(masks_lib.read_mask(str(tmp_path / "binary.png")), ids == 1)


def test_truncated_video_is_said_and_recorded(tmp_path):
  video = synthetic.generate_video(0, num_frames=12, height=32, width=48)
  path = str(tmp_path / "v.mp4")
  synthetic.write_video_file(path, video.frames, video.fps)
  masks_lib.write_mask(str(tmp_path / "m.png"), video.masks[0])
  real_count = track_video.video_io.frame_count_and_fps

  def declares_more(source, *args):
    count, fps = real_count(source, *args)
    return count + 5, fps  # as a cut file's container would

  track_video.video_io.frame_count_and_fps = declares_more
  try:
    summary = track_video.track_video(path, str(tmp_path / "out"), trackers.IdentityTracker(),
                                      mask_path=str(tmp_path / "m.png"), write_overlay=False)
  finally:
    track_video.video_io.frame_count_and_fps = real_count
  assert "declares 17 frames but only 12" in summary["truncated"]
  record = json.load(open(tmp_path / "out" / track_video.RECORD_NAME))
  assert (record["frames_decoded"], record["frames_declared"], record["truncated"]) == (
      12, 17, True)


# --- 4. one validator ------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, message", [
    ({"temperature": 0}, "temperature=0.0: must be > 0"),
    ({"temperature": float("nan")}, "temperature=nan: not a finite number"),
    ({"temperature": -1.0}, "must be > 0"),
    ({"top_k": -2}, "top_k=-2: must be a whole number >= 0"),
    ({"radius": -1}, "radius=-1"),
    ({"radius": "abc"}, "radius='abc': not a int"),
    ({"window": -1}, "window=-1"),
    ({"max_short_side": -5}, "max_short_side=-5"),
    ({"scale": 0}, "scale=0.0: must be > 0"),
    ({"keypoint_sigma": 0}, "keypoint_sigma=0"),
    ({"window": 0, "use_first": False}, "window=0 without the first frame"),
    ({"mask_threshold": 1.0}, "mask_threshold=1.0: must be between 0 and 1"),
    ({"mask_threshold": 0}, "mask_threshold=0.0: must be between 0 and 1"),
    ({"min_component_fraction": 1.5}, "min_component_fraction=1.5: must be between 0 and 1"),
    ({"guided_filter_radius": -3}, "guided_filter_radius=-3: must be a whole number >= 0"),
    ({"guided_filter_radius": 2.5}, "guided_filter_radius=2.5"),
])
def test_settings_that_cannot_track_are_refused(overrides, message):
  with pytest.raises(validation.SettingError, match=message):
    trackers.settings(None, overrides)


def test_every_test_time_setting_has_a_flag():
  import dataclasses  # pylint: disable=g-import-not-at-top
  from colortrack.cli import tracking_flags  # pylint: disable=g-import-not-at-top
  names = {field.name for field in dataclasses.fields(trackers.TrackingSettings)}
  flagged = {flag.name for flag in tracking_flags._OVERRIDES}  # pylint: disable=protected-access
  flagged |= {tracking_flags.LONG_TERM.name, tracking_flags.SHORT_TERM.name}
  # ensemble_members is a model's own (its keypoint section), not a user's choice.
  assert names - flagged == {"ensemble_members"}


def test_retune_refuses_what_the_tracker_would(tmp_path):
  from colortrack import serving  # pylint: disable=g-import-not-at-top
  from colortrack.configs import base  # pylint: disable=g-import-not-at-top
  with pytest.raises(validation.SettingError, match="--inference=temperature=nan"):
    serving.with_inference_defaults(base.get_base_config(), ["temperature=nan"])


@pytest.mark.parametrize("field, value, message", [
    ("model.output_stride", 0, "output_stride=0"),
    ("data.clip_len", 1, "clip_len=1"),
    ("model.embed_dim", 0, "embed_dim=0"),
])
def test_training_fields_that_cannot_train_are_refused(field, value, message):
  from colortrack.configs import tiny  # pylint: disable=g-import-not-at-top
  config = tiny.get_config()
  section, key = field.split(".")
  config[section][key] = value
  with pytest.raises(validation.SettingError, match=message):
    validation.check_training(config)


@pytest.mark.slow
def test_binaries_refuse_impossible_flags_in_one_line(tmp_path):
  (tmp_path / "v").mkdir()
  cases = [
      ("data_prep.build_tfrecords", ["--input=v", "--codebook=c", "--output_dir=o", "--size=0"],
       "--size=0"),
      ("data_prep.build_tfrecords", ["--input=v", "--codebook=c", "--output_dir=o", "--fps=nan"],
       "--fps=nan"),
      ("data_prep.make_synthetic", [f"--output_dir={tmp_path}/s", "--num_objects=300"],
       "--num_objects=300"),
      ("data_prep.fit_codebook", ["--input=v", f"--output={tmp_path}/c.npz",
                                  "--num_clusters=0"], "--num_clusters=0"),
      ("colortrack.track", ["--video=v.mp4", "--mask=m.png", f"--output_dir={tmp_path}/t",
                            "--temperature=0"], "temperature=0"),
  ]
  for module, args, message in cases:
    result = test_reliability.run(module, *args)
    lines = test_reliability.error_lines(result)
    assert result.returncode == 1 and len(lines) == 1 and message in lines[0], (
        module, result.stderr[-1500:])


# --- 5. every remaining traceback is one line ------------------------------------------------


def test_misspelt_preset_is_one_line_naming_the_presets():
  result = test_reliability.run("train.train", "--config=tinyy", "--workdir=unused")
  lines = test_reliability.error_lines(result)
  assert result.returncode == 1 and len(lines) == 1, result.stderr[-1500:]
  assert "--config=tinyy: no such preset" in lines[0] and "tiny" in lines[0]


def test_resuming_with_another_crop_size_is_refused_in_one_line(synthetic_clips, tmp_path):
  from colortrack.training import trainer  # pylint: disable=g-import-not-at-top
  from tests import test_training  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path / "run")
  trainer.train(test_training.tiny_config(synthetic_clips, num_steps=2, checkpoint_every=2),
                workdir)
  config = test_training.tiny_config(synthetic_clips, num_steps=4, checkpoint_every=2)
  config.data.image_size = 24
  with pytest.raises(errors.TrainingError, match="image_size=24, but the checkpoints"):
    trainer.train(config, workdir)


def _foreign_savedmodel(path, stride=8, shrink=2, dtype="uint8"):
  """A SavedModel with colortrack's signature names whose `embed` returns the wrong grid."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  class Foreign(tf.Module):

    def __init__(self):
      super().__init__()
      self.stride = tf.Variable(stride)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], dtype)])
    def embed(self, frames):
      small = tf.image.resize(tf.cast(frames, tf.float32), tf.shape(frames)[1:3] // (
          stride * shrink))
      return {"embeddings": small}

  module = Foreign()
  tf.saved_model.save(module, path, signatures={"embed": module.embed})
  return path


def test_foreign_savedmodels_are_refused_in_one_line(tmp_path):
  from colortrack.inference import embedder as embedder_lib  # pylint: disable=g-import-not-at-top
  wrong_grid = embedder_lib.load(_foreign_savedmodel(str(tmp_path / "grid")))
  with pytest.raises(embedder_lib.ModelLoadError, match="returned shape .* returns"):
    wrong_grid(np.zeros((1, 64, 64, 3), np.uint8))
  with pytest.raises(embedder_lib.ModelLoadError, match="does not take uint8 frames"):
    embedder_lib.load(_foreign_savedmodel(str(tmp_path / "float"), dtype="float32"))
  with pytest.raises(embedder_lib.ModelLoadError, match="stride 3"):
    embedder_lib.load(_foreign_savedmodel(str(tmp_path / "stride"), stride=3))


def test_annotations_of_another_size_and_missing_frames_are_named(tmp_path):
  synthetic.write_dataset(str(tmp_path / "syn"), num_videos=1, num_frames=4, height=32,
                          width=48)
  root = str(tmp_path / "syn" / "davis")
  sequence = davis.list_sequences(root)[0]
  frame = os.path.join(davis.frame_dir(root, sequence), "00002.jpg")
  os.remove(frame)
  with pytest.raises(davis.EvaluationError, match="00002.jpg: frame missing"):
    davis.check_sequences(root, [sequence])
  annotation = os.path.join(davis.annotation_dir(root, sequence), "00002.png")
  os.remove(annotation)
  first = os.path.join(davis.annotation_dir(root, sequence), "00000.png")
  Image.open(first).resize((24, 16)).save(first)
  with pytest.raises(davis.EvaluationError, match="00000.png: annotation is 24x16, the frames"):
    davis.check_sequences(root, [sequence])


def test_api_bad_frames_are_colortracks_own_error():
  import colortrack  # pylint: disable=g-import-not-at-top
  tracker = colortrack.load_tracker(method="flow")
  ragged = [np.zeros((32, 32, 3), np.uint8), np.zeros((16, 32, 3), np.uint8)]
  with pytest.raises(errors.UserError, match="of one size"):
    tracker.track_masks(ragged, np.ones((32, 32), np.uint8))
  with pytest.raises(errors.UserError, match="need at least 16x16"):
    tracker.track_masks(np.zeros((2, 1, 1, 3), np.uint8), np.ones((1, 1), np.uint8))


def test_a_missing_video_is_named_once():
  with pytest.raises(errors.UserError) as raised:
    track_video.track_video("nosuch.mp4", "unused_out", trackers.IdentityTracker(),
                            mask_path="m.png")
  assert str(raised.value).count("nosuch.mp4") == 1, str(raised.value)


# --- 6. no hang: a batch that cannot fit is refused before the first step ------------------


def test_a_batch_that_cannot_fit_is_refused_in_one_line():
  from colortrack.configs import cpu  # pylint: disable=g-import-not-at-top
  from colortrack.training import trainer  # pylint: disable=g-import-not-at-top
  config = cpu.get_config()
  config.train.batch_size = 100_000
  # Derivation of the estimate's scale: the cpu preset's 16-clip batch is ~0.2 GiB, so
  # 100,000 clips need >1 TiB, more than any machine running this test has.
  assert 0.1 < trainer.estimate_step_bytes(cpu.get_config()) / 2**30 < 1.0
  with pytest.raises(errors.TrainingError, match="batch_size=100000: one training step needs"):
    trainer.check_step_fits(config, on_accelerator=False)
  trainer.check_step_fits(cpu.get_config(), on_accelerator=False)  # the preset itself fits


def test_kept_results_count_toward_progress_not_its_rate():
  """A resumed run printed `3030119.4 frames/s, ETA 0s` for sequences it kept."""
  from colortrack.utils import progress as progress_lib  # pylint: disable=g-import-not-at-top
  now = [0.0]
  lines = []
  progress = progress_lib.Progress("predict", 100, unit="frames", log_fn=lines.append,
                                   clock=lambda: now[0])
  now[0] = 0.001
  progress.skip(60, "kept")
  assert progress.rate == 0 and "0.0 frames/s" in lines[-1] and "60/100" in lines[-1]
  now[0] = 10.0
  progress.update(20, force=True)  # 20 frames predicted in 10 s: 2 frames/s, 20 left: 10 s
  assert "2.0 frames/s" in lines[-1] and "ETA 10s" in lines[-1]
