"""Reliability: nothing a user owns is deleted, no number is silently wrong, bad input is one line.

Each test here failed on the code before the reliability issue (#12). Fault
injection: a full disk (a real 1 MiB tmpfs where this machine may mount one,
else an injected write error), kill -9 and resume, and a NaN training step.
"""

import contextlib
import glob
import json
import os
import signal
import stat
import subprocess
import sys
import time

import ml_collections
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from colortrack import errors
from colortrack import serving
from colortrack.data import codebook as codebook_lib
from colortrack.data import masks as masks_lib
from colortrack.data import pipeline
from colortrack.data import synthetic
from colortrack.data import tfrecord_builder
from colortrack.evaluation import davis
from colortrack.evaluation import keypoint_datasets
from colortrack.evaluation import keypoint_eval
from colortrack.evaluation import results_record
from colortrack.inference import embedder as embedder_lib
from colortrack.inference import track_video
from colortrack.inference import trackers
from colortrack.training import trainer
from colortrack.utils import files
from tests import test_training
from tests import testing_utils


def run(module, *args, timeout=300):
  return subprocess.run([sys.executable, "-m", module, *args], cwd=testing_utils.REPO_ROOT,
                        capture_output=True, text=True, timeout=timeout, check=False)


def error_lines(result):
  """stderr lines that are log errors or tracebacks (what a user sees as the failure)."""
  return [line for line in result.stderr.splitlines()
          if line.startswith(("E", "error:", "Traceback", "FATAL"))]


@contextlib.contextmanager
def small_tmpfs(path, size="1m", read_only=False):
  """A real small file system (needs root and mount); skips the test where not allowed."""
  os.makedirs(path, exist_ok=True)
  options = f"size={size}" + (",ro" if read_only else "")
  mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path],
                           capture_output=True, check=False).returncode == 0
  if not mounted:
    pytest.skip("cannot mount a tmpfs here (needs root); the injected-error test covers it")
  try:
    yield path
  finally:
    subprocess.run(["umount", path], check=False)


def trained_workdir(pattern, root, name="run", **overrides):
  workdir = os.path.join(root, name)
  trainer.train(test_training.tiny_config(pattern, num_steps=2, checkpoint_every=2,
                                          **overrides), workdir)
  return workdir


# --- 1. train.export never deletes what colortrack did not write ---------------------------


@pytest.fixture(scope="module")
def workdir(tiny_workdir):
  return tiny_workdir


def test_export_refuses_user_folder_workdir_and_file(workdir, tmp_path):
  model = trainer.restore_model(workdir)
  user_dir = tmp_path / "mine"
  user_dir.mkdir()
  (user_dir / "thesis.tex").write_text("precious")
  plain_file = tmp_path / "notes.txt"
  plain_file.write_text("precious")
  checkpoints = sorted(os.listdir(os.path.join(workdir, "checkpoints")))
  for target, message in [(user_dir, "did not write"), (workdir, "training workdir"),
                          (plain_file, "is a file")]:
    with pytest.raises(serving.ExportError, match=message):
      serving.export(model, str(target))
  assert (user_dir / "thesis.tex").read_text() == "precious"
  assert plain_file.read_text() == "precious"
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == checkpoints
  # No temp folder is left beside the targets.
  assert not glob.glob(str(tmp_path / ".*export-*"))


def test_export_replaces_an_earlier_export_and_keeps_it_when_the_new_one_fails(workdir,
                                                                                 tmp_path):
  model = trainer.restore_model(workdir)
  target = str(tmp_path / "saved")
  serving.export(model, target, trainer.load_config(workdir))
  serving.export(model, target, trainer.load_config(workdir))  # an earlier export: replaced
  first = embedder_lib.savedmodel_fingerprint(target)
  assert sorted(os.listdir(target)) == sorted(
      e for e in serving.EXPORT_ENTRIES if os.path.exists(os.path.join(target, e)))
  broken = trainer.restore_model(workdir)
  broken.weights[0].assign(np.full(broken.weights[0].shape, np.nan, np.float32))
  with pytest.raises(serving.ExportError, match="NaN or inf"):
    serving.export(broken, target, trainer.load_config(workdir))
  assert embedder_lib.savedmodel_fingerprint(target) == first  # the good export is intact
  assert stat.S_IMODE(os.stat(target).st_mode) == 0o777 & ~files.umask()


def test_retune_changes_only_the_defaults_of_an_export(workdir, tmp_path):
  target = str(tmp_path / "saved")
  serving.export(trainer.restore_model(workdir), target, trainer.load_config(workdir))
  (tmp_path / "saved" / "MODEL_CARD.md").write_text("the user's card")
  weights = {name: (tmp_path / "saved" / name).read_bytes()
             for name in ("saved_model.pb", "variables/variables.index")}
  config = serving.retune(target, ["renormalize_floor=0.8", "keypoints.scale=2"])
  assert (config.inference.renormalize_floor, config.inference.keypoints.scale) == (0.8, 2.0)
  assert embedder_lib.load(target).config.inference.renormalize_floor == 0.8
  for name, data in weights.items():
    assert (tmp_path / "saved" / name).read_bytes() == data
  assert (tmp_path / "saved" / "MODEL_CARD.md").read_text() == "the user's card"
  with pytest.raises(serving.ExportError, match="not a colortrack export"):
    serving.retune(str(tmp_path), ["window=2"])
  with pytest.raises(errors.UserError, match="KEY one of"):
    serving.retune(target, ["windw=2"])
  assert embedder_lib.load(target).config.inference.window == config.inference.window


def test_exports_store_names_not_the_training_machines_paths(workdir, tmp_path):
  config = trainer.load_config(workdir)
  config.unlock()
  config.data.train_pattern = "/srv/me/clips_a/*.tfrecord,/srv/me/clips_b/*.tfrecord"
  config.train.init_workdir = "/home/me/runs/pair"
  config.data.codebook = "../data/codebook.npz"
  target = str(tmp_path / "saved")
  serving.export(trainer.restore_model(workdir), target, config)
  stored = embedder_lib.load(target).config
  assert stored.data.train_pattern == "clips_a/*.tfrecord,clips_b/*.tfrecord"
  assert stored.train.init_workdir == "pair"
  assert stored.data.codebook == "codebook.npz"
  # An ensemble member's entry is cleaned too, and retune cleans an older export's config.
  member = {"method": "mast", "data": {"train_pattern": "/x/y/clips/*.tfrecord"},
            "train": {"init_workdir": None}}
  assert serving.without_machine_paths(ml_collections.ConfigDict(
      {"ensemble": [member]})).ensemble[0]["data"]["train_pattern"] == "clips/*.tfrecord"
  config_path = os.path.join(target, serving.CONFIG_NAME)
  with open(config_path) as f:
    text = f.read().replace('"pair"', '"/home/me/runs/pair"')
  with open(config_path, "w") as f:
    f.write(text)
  assert serving.retune(target, []).train.init_workdir == "pair"
  with open(config_path) as f:
    assert "/home/me" not in f.read()


def test_from_export_refuses_weights_that_do_not_fit_the_config(workdir, tmp_path):
  target = str(tmp_path / "saved")
  serving.export(trainer.restore_model(workdir), target, trainer.load_config(workdir))
  model, _, _ = serving.restore_export(target)  # as exported: every weight found and set
  np.testing.assert_allclose(model.weights[0].numpy(),
                             trainer.restore_model(workdir).weights[0].numpy())
  config_path = os.path.join(target, serving.CONFIG_NAME)
  original = files.read_json(config_path)
  for change, message in [(lambda c: c["model"]["encoder_blocks"].__setitem__(-1, 2),
                           "holds no value for weight"),
                          (lambda c: c["model"].__setitem__("head_width", 3),
                           "has no place in the network")]:
    config = json.loads(json.dumps(original))
    change(config)
    with open(config_path, "w") as f:
      json.dump(config, f)
    with pytest.raises(serving.ExportError, match=message):
      serving.restore_export(target)


def test_export_check_fails_on_nan():
  class NanModule:
    def embed_frames(self, frames):
      return tf.fill([2, 9, 12, 4], np.nan)

  class Loaded:
    signatures = {"embed": lambda frames: {"embeddings": tf.fill([2, 9, 12, 4], np.nan)}}

  original = tf.saved_model.load
  tf.saved_model.load = lambda path: Loaded()
  try:
    with pytest.raises(serving.ExportError, match="NaN or inf"):
      serving.verify_export(NanModule(), "/nowhere")
  finally:
    tf.saved_model.load = original


# --- 2. results folders never mix methods, models or runs ---------------------------------


@pytest.fixture()
def tiny_davis(tmp_path):
  synthetic.write_dataset(str(tmp_path / "syn"), num_videos=2, num_frames=6, height=32,
                          width=48)
  return str(tmp_path / "syn" / "davis")


class _KilledAfter:
  """Wraps a tracker; raises (like a kill) after `frames` frames of the second sequence."""

  def __init__(self, tracker, frames):
    self.tracker, self.frames, self.sequences = tracker, frames, 0
    self.name = tracker.name

  def track_masks(self, frames, first_ids):
    self.sequences += 1
    for index, ids in enumerate(self.tracker.track_masks(frames, first_ids)):
      if self.sequences == 2 and index == self.frames:
        raise KeyboardInterrupt("killed")
      yield ids


def test_identity_into_a_flow_folder_is_refused_not_mislabelled(tiny_davis, tmp_path):
  results = str(tmp_path / "results")
  sequences = davis.list_sequences(tiny_davis)
  davis.predict(tiny_davis, results, trackers.FlowTracker(), sequences)
  flow = davis.evaluate(tiny_davis, results, sequences)
  assert flow.method == "flow"
  with pytest.raises(results_record.ResultsError, match="method flow -> identity"):
    davis.predict(tiny_davis, results, trackers.IdentityTracker(), sequences)
  davis.predict(tiny_davis, results, trackers.IdentityTracker(), sequences, overwrite=True)
  identity = davis.evaluate(tiny_davis, results, sequences)
  assert identity.method == "identity"
  # Identity repeats frame 0: every predicted frame equals the first annotation.
  first = masks_lib.read_mask(os.path.join(results, sequences[0], "00000.png"))
  last = masks_lib.read_mask(os.path.join(results, sequences[0], "00005.png"))
  np.testing.assert_array_equal(first, last)


def test_killed_overwrite_run_resumes_without_mixing(tiny_davis, tmp_path):
  results = str(tmp_path / "results")
  sequences = davis.list_sequences(tiny_davis)
  davis.predict(tiny_davis, results, trackers.FlowTracker(), sequences)
  with pytest.raises(KeyboardInterrupt):  # identity --overwrite, killed in sequence 2
    davis.predict(tiny_davis, results, _KilledAfter(trackers.IdentityTracker(), 3), sequences,
                  overwrite=True)
  with pytest.raises(results_record.ResultsError, match="incomplete"):
    davis.evaluate(tiny_davis, results, sequences)  # never scored as if complete
  davis.predict(tiny_davis, results, trackers.IdentityTracker(), sequences)  # resumed
  for sequence in sequences:
    first = masks_lib.read_mask(os.path.join(results, sequence, "00000.png"))
    for path in masks_lib.mask_paths(os.path.join(results, sequence)):
      np.testing.assert_array_equal(masks_lib.read_mask(path), first, err_msg=path)
  assert davis.evaluate(tiny_davis, results, sequences).method == "identity"


def test_unrecorded_predictions_are_refused_but_can_be_scored(tiny_davis, tmp_path):
  results = str(tmp_path / "external")
  sequences = davis.list_sequences(tiny_davis)
  for sequence in sequences:
    for path in masks_lib.mask_paths(davis.annotation_dir(tiny_davis, sequence)):
      masks_lib.write_mask(os.path.join(results, sequence, os.path.basename(path)),
                           masks_lib.read_mask(path))
  with pytest.raises(results_record.ResultsError, match="did not record"):
    davis.predict(tiny_davis, results, trackers.FlowTracker(), sequences)
  scores = davis.evaluate(tiny_davis, results, sequences)  # --score_only: as they are
  assert scores.method == "predictions"
  assert scores.global_scores()["J&F-Mean"] == pytest.approx(1.0)


def test_keypoint_results_folder_is_recorded_too(tmp_path):
  frames = tmp_path / "frames"
  video = synthetic.generate_video(0, num_frames=5, height=32, width=48)
  testing_utils.write_frame_folder(str(frames), video.frames)
  paths = sorted(glob.glob(str(frames / "*.png")))
  gt = video.keypoints.astype(np.float64)
  videos = [keypoint_datasets.KeypointVideo("v", paths, gt, np.ones(gt.shape[:2], bool),
                                            np.ones(len(paths), bool))]
  results = str(tmp_path / "pck")
  keypoint_eval.predict(videos, trackers.FlowTracker(), results)
  with pytest.raises(results_record.ResultsError, match="method flow -> identity"):
    keypoint_eval.predict(videos, trackers.IdentityTracker(), results)
  np.save(os.path.join(results, "v.npy"), np.zeros((3, 2)))
  with pytest.raises(keypoint_datasets.DatasetError, match="v.npy: prediction has shape"):
    keypoint_eval.score(videos, results)
  with open(os.path.join(results, "v.npy"), "wb") as f:
    f.write(b"garbage")
  with pytest.raises(keypoint_datasets.DatasetError, match="v.npy: unreadable prediction"):
    keypoint_eval.score(videos, results)


# --- 3. a full disk never leaves a truncated shard marked finished ------------------------


@pytest.fixture()
def tiny_videos(tmp_path):
  folder = tmp_path / "videos"
  testing_utils.write_tiny_videos(str(folder), num_videos=2, num_frames=48)
  codebook_lib.save(testing_utils.hue_codebook(), str(tmp_path / "codebook.npz"))
  return str(folder), str(tmp_path / "codebook.npz")


def _build_config(videos, codebook, output_dir, **kwargs):
  return tfrecord_builder.BuildConfig(input_spec=videos, codebook_path=codebook,
                                      output_dir=output_dir, size=32, **kwargs)


def test_write_error_is_fatal_for_the_shard_not_a_bad_video(tiny_videos, tmp_path,
                                                            monkeypatch):
  videos, codebook = tiny_videos
  output = str(tmp_path / "clips")
  # /dev/full answers every write with ENOSPC, as a full disk does.
  monkeypatch.setattr(tfrecord_builder, "open_record_writer",
                      lambda path: tf.io.TFRecordWriter("/dev/full"))
  with pytest.raises(tfrecord_builder.OutputWriteError, match="the shard was not written"):
    tfrecord_builder.build(_build_config(videos, codebook, output, num_shards=1))
  assert not glob.glob(os.path.join(output, "*.tfrecord"))
  assert not glob.glob(os.path.join(output, "*manifest.json"))
  monkeypatch.undo()
  summary = tfrecord_builder.build(_build_config(videos, codebook, output, num_shards=1))
  assert summary.clips_total == tfrecord_builder.count_records(
      os.path.join(output, "clips-00000-of-00001.tfrecord")) > 0


@pytest.mark.slow
def test_full_tmpfs_then_resume_on_a_bigger_disk(tiny_videos, tmp_path):
  videos, codebook = tiny_videos
  with small_tmpfs(str(tmp_path / "small"), size="64k") as small:
    result = run("data_prep.build_tfrecords", f"--input={videos}", f"--codebook={codebook}",
                 f"--output_dir={small}/clips", "--size=64", "--num_shards=2")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert any("the shard was not written" in line for line in error_lines(result))
    manifests = glob.glob(f"{small}/clips/*.manifest.json")
    for manifest in manifests:  # whatever was marked finished reads back whole
      shard = manifest.replace(".manifest.json", ".tfrecord")
      assert tfrecord_builder.count_records(shard) == files.read_json(manifest)["clips"]
    assert not os.path.exists(f"{small}/clips/manifest.json")


# --- 4. NaN and inf are errors, never numbers ---------------------------------------------


def test_bad_settings_are_refused_before_anything_is_written(synthetic_clips, tmp_path):
  for key, value, message in [("learning_rate", float("inf"), "learning_rate=inf"),
                              ("learning_rate", float("nan"), "learning_rate=nan"),
                              ("batch_size", 0, "batch_size=0")]:
    config = test_training.tiny_config(synthetic_clips, **{key: value})
    with pytest.raises(trainer.TrainingError, match=message):
      trainer.train(config, str(tmp_path / key))
    assert not os.path.exists(tmp_path / key)
  config = test_training.tiny_config(synthetic_clips)
  config.model.temperature = 0.0
  with pytest.raises(trainer.TrainingError, match="model.temperature=0.0"):
    trainer.train(config, str(tmp_path / "temperature"))


def test_diverging_step_stops_with_its_number_and_keeps_good_checkpoints(synthetic_clips,
                                                                        tmp_path):
  good = trained_workdir(synthetic_clips, str(tmp_path), "good")
  latest = trainer.latest_checkpoint(good)
  # A finite but absurd learning rate (no up-front check can refuse it): the first update
  # blows the weights up to ~1e38, the next step's loss is NaN. Resumed in a good workdir,
  # it stops at that step and no non-finite weights are ever saved.
  config = test_training.tiny_config(synthetic_clips, num_steps=8, checkpoint_every=1,
                                     learning_rate=1e38)
  with pytest.raises(trainer.TrainingError,
                     match=r"step [3-8]: (loss is nan|model weights hold NaN)") as failure:
    trainer.train(config, good)
  failed_step = int(str(failure.value).split(":")[0].split()[1])
  assert latest in tf.train.get_checkpoint_state(
      os.path.dirname(latest)).all_model_checkpoint_paths  # the good one is kept
  saved = sorted(int(p.rsplit("-", 1)[1].split(".")[0])
                 for p in glob.glob(os.path.join(good, "checkpoints", "ckpt-*.index")))
  assert max(saved) < failed_step
  for step in saved:
    reader = tf.train.load_checkpoint(os.path.join(good, "checkpoints", f"ckpt-{step}"))
    for name in reader.get_variable_to_shape_map():
      if name.startswith("weights/"):
        assert np.all(np.isfinite(reader.get_tensor(name))), (step, name)


def test_embedder_refuses_nan_embeddings():
  nan_embedder = embedder_lib.Embedder(lambda frames: tf.fill([1, 2, 2, 4], np.nan), 8, "x",
                                       path="/models/diverged")
  with pytest.raises(embedder_lib.ModelLoadError, match="/models/diverged: .*NaN"):
    nan_embedder(np.zeros((1, 16, 16, 3), np.uint8))


# --- Also: outputs of colortrack.track, workers, shards, codebooks, permissions -----------


def test_track_into_an_earlier_run_leaves_no_stale_masks(tmp_path):
  long_video = synthetic.generate_video(0, num_frames=8, height=32, width=48)
  short_video = synthetic.generate_video(1, num_frames=4, height=32, width=48)
  paths = {}
  for name, video in (("long", long_video), ("short", short_video)):
    testing_utils.write_frame_folder(str(tmp_path / name), video.frames)
    paths[name] = str(tmp_path / f"{name}.png")
    masks_lib.write_mask(paths[name], video.masks[0])
  out = str(tmp_path / "tracked")
  track_video.track_video(str(tmp_path / "long"), out, trackers.IdentityTracker(),
                          mask_path=paths["long"])
  track_video.track_video(str(tmp_path / "short"), out, trackers.IdentityTracker(),
                          mask_path=paths["short"])
  assert len(os.listdir(os.path.join(out, "masks"))) == 4
  record = files.read_json(os.path.join(out, track_video.RECORD_NAME))
  assert record["status"] == "complete" and record["frames"] == 4
  foreign = tmp_path / "foreign"
  (foreign / "masks").mkdir(parents=True)
  (foreign / "masks" / "00000.png").write_bytes(b"user's file")
  with pytest.raises(track_video.TrackInputError, match="not written by colortrack.track"):
    track_video.track_video(str(tmp_path / "short"), str(foreign), trackers.IdentityTracker(),
                            mask_path=paths["short"])
  assert (foreign / "masks" / "00000.png").read_bytes() == b"user's file"


@pytest.mark.slow
def test_build_workers_die_with_their_parent(tiny_videos, tmp_path):
  videos, codebook = tiny_videos
  process = subprocess.Popen(
      [sys.executable, "-m", "data_prep.build_tfrecords", f"--input={videos}",
       f"--codebook={codebook}", f"--output_dir={tmp_path}/clips", "--workers=2",
       "--num_shards=2", "--size=32"],
      cwd=testing_utils.REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

  def workers():
    out = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True,
                         check=False).stdout.split()
    return [int(pid) for pid in out]

  deadline = time.monotonic() + 120
  found = []
  while time.monotonic() < deadline and len(found) < 2 and process.poll() is None:
    found = [pid for pid in workers()
             if "multiprocessing" in open(f"/proc/{pid}/cmdline").read()]
    time.sleep(0.2)
  if process.poll() is not None:
    pytest.fail("the build finished before its workers could be seen; make it longer")
  time.sleep(3.0)  # let the workers reach their initializer
  process.send_signal(signal.SIGKILL)
  process.wait()
  deadline = time.monotonic() + 10
  alive = found
  while alive and time.monotonic() < deadline:
    alive = [pid for pid in found if os.path.exists(f"/proc/{pid}") and
             open(f"/proc/{pid}/stat").read().split()[2] != "Z"]
    time.sleep(0.2)
  assert not alive, f"workers {alive} outlived their killed parent"


def test_truncated_and_corrupt_shards_are_named(synthetic_clips, tmp_path):
  import shutil  # pylint: disable=g-import-not-at-top
  clips = tmp_path / "clips"
  shutil.copytree(os.path.dirname(synthetic_clips), clips)
  shard = sorted(glob.glob(str(clips / "*.tfrecord")))[1]
  with open(shard, "rb") as f:
    data = f.read()
  with open(shard, "wb") as f:
    f.write(data[:len(data) // 2])
  pattern = str(clips / "*.tfrecord")
  with pytest.raises(pipeline.DataError, match=f"{shard}: shard is .*truncated"):
    trainer.train(test_training.tiny_config(pattern), str(tmp_path / "w1"))
  # Same size but damaged inside (no manifest can tell): named when it is read.
  os.remove(pipeline.shard_manifest_path(shard))
  corrupt = bytearray(data)
  corrupt[len(data) // 2:len(data) // 2 + 64] = b"\0" * 64
  with open(shard, "wb") as f:
    f.write(bytes(corrupt))
  with pytest.raises(trainer.TrainingError, match=f"{shard}: unreadable record at step"):
    trainer.train(test_training.tiny_config(pattern, num_steps=400), str(tmp_path / "w2"))


def test_mixed_codebooks_are_refused(synthetic_clips, tiny_videos, tmp_path):
  videos, codebook = tiny_videos
  other = str(tmp_path / "other")
  tfrecord_builder.build(_build_config(videos, codebook, other, num_shards=1))
  other_sha = codebook_lib.load(codebook).sha
  _, sha = pipeline.read_codebook(synthetic_clips)
  with pytest.raises(pipeline.DataError, match=f"{other_sha}.*{sha}|{sha}.*{other_sha}"):
    pipeline.read_codebook(f"{synthetic_clips},{other}/*.tfrecord")
  workdir = trained_workdir(synthetic_clips, str(tmp_path), "w")
  with pytest.raises(trainer.TrainingError, match=f"codebook {sha}.*codebook {other_sha}"):
    trainer.train(test_training.tiny_config(f"{other}/*.tfrecord", num_steps=4), workdir)


def test_atomic_outputs_follow_the_umask(tmp_path):
  previous = os.umask(0o022)
  try:
    files.write_json_atomic(str(tmp_path / "a.json"), {})
  finally:
    os.umask(previous)
  assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) == 0o644


# --- One line instead of a traceback ------------------------------------------------------


def test_unwritable_outputs_are_one_line(tmp_path):
  (tmp_path / "a_file").write_text("x")
  for path, message in [(tmp_path / "a_file", "is a file"),
                        (tmp_path / "a_file" / "sub", "is a file, not a folder|part of the path"),
                        ("/sys/colortrack_output", "cannot write")]:
    with pytest.raises(errors.OutputError, match=message):
      files.ensure_output_dir(str(path))
  with small_tmpfs(str(tmp_path / "ro"), read_only=True) as read_only:
    with pytest.raises(errors.OutputError, match="read-only file system"):
      files.ensure_output_dir(os.path.join(read_only, "out"))


def test_bad_codebooks_are_one_line(tmp_path):
  good = tmp_path / "good.npz"
  codebook_lib.save(testing_utils.hue_codebook(), str(good))
  cases = {"garbage.npz": b"not a zip file at all",
           "truncated.npz": good.read_bytes()[:100]}
  for name, data in cases.items():
    (tmp_path / name).write_bytes(data)
  np.save(tmp_path / "array.npy", np.zeros((16, 2), np.float32))
  np.savez(tmp_path / "schema.npz", means=np.zeros((16, 2)))
  for name in list(cases) + ["array.npy", "schema.npz"]:
    with pytest.raises(codebook_lib.CodebookError, match=f"{name}: not a colortrack codebook"):
      codebook_lib.load(str(tmp_path / name))
  with pytest.raises(codebook_lib.CodebookError, match="is a folder"):
    codebook_lib.load(str(tmp_path))


def test_fit_codebook_checks_its_output_before_sampling(tmp_path, monkeypatch):
  monkeypatch.setattr(tfrecord_builder, "sample_ab", lambda *a, **k: pytest.fail("sampled"))
  with pytest.raises(errors.OutputError, match="is a folder, not a file"):
    tfrecord_builder.fit_codebook(str(tmp_path), str(tmp_path))


def test_bad_models_are_one_line(workdir, tmp_path):
  saved = tmp_path / "saved"
  serving.export(trainer.restore_model(workdir), str(saved), trainer.load_config(workdir))
  import shutil  # pylint: disable=g-import-not-at-top
  corrupt = tmp_path / "corrupt"
  shutil.copytree(saved, corrupt)
  (corrupt / "saved_model.pb").write_bytes(b"\x00garbage")
  no_variables = tmp_path / "no_variables"
  shutil.copytree(saved, no_variables)
  shutil.rmtree(no_variables / "variables")
  foreign = tmp_path / "foreign"
  tf.saved_model.save(tf.Module(), str(foreign))
  unrelated = tmp_path / "unrelated"
  unrelated.mkdir()
  (unrelated / "config.json").write_text(json.dumps({"learning_rate": 1}))
  for path, message in [(corrupt, "not a readable SavedModel"),
                        (no_variables, "not a readable SavedModel"),
                        (foreign, "not a colortrack SavedModel"),
                        (unrelated / "config.json", "not a colortrack training config")]:
    with pytest.raises(embedder_lib.ModelLoadError, match=f"{path}: {message}"):
      embedder_lib.load(str(path if path.is_dir() else path.parent))


def test_bad_sequences_and_annotations_are_one_line(tiny_davis):
  with pytest.raises(davis.EvaluationError, match="nosuchseq: no such sequence"):
    davis.check_sequences(tiny_davis, ["nosuchseq"])
  sequence = davis.list_sequences(tiny_davis)[0]
  for path in masks_lib.mask_paths(davis.annotation_dir(tiny_davis, sequence)):
    os.remove(path)
  with pytest.raises(davis.EvaluationError, match=f"{sequence}: no annotations"):
    davis.check_sequences(tiny_davis, [sequence])


def test_malformed_jhmdb_joints_are_named(tmp_path):
  root = tmp_path / "jhmdb"
  (root / "splits").mkdir(parents=True)
  (root / "splits" / "catch_test_split1.txt").write_text("clip.avi 2\n")
  (root / "Rename_Images" / "catch" / "clip").mkdir(parents=True)
  mat = root / "joint_positions" / "catch" / "clip" / "joint_positions.mat"
  mat.parent.mkdir(parents=True)
  mat.write_bytes(b"MATLAB 5.0 MAT-file, truncated")
  with pytest.raises(keypoint_datasets.DatasetError, match="joint_positions.mat: cannot read"):
    keypoint_datasets.load_videos(str(root))


def test_colorize_needs_two_frames(tmp_path):
  video = synthetic.generate_video(0, num_frames=1, height=32, width=48)
  testing_utils.write_frame_folder(str(tmp_path / "one"), video.frames)
  from colortrack.evaluation import colorize  # pylint: disable=g-import-not-at-top
  with pytest.raises(errors.UserError, match="has 1 frame"):
    colorize.colorize_video(str(tmp_path / "one"), str(tmp_path / "out"), tracker=None)


def test_nan_keypoint_is_one_line(tmp_path):
  path = tmp_path / "points.json"
  path.write_text('{"keypoints": [{"x": 1, "y": 2}, {"x": NaN, "y": 3}]}')
  with pytest.raises(track_video.TrackInputError, match="keypoint 1 is not a finite number"):
    track_video.read_keypoints(str(path))


def test_label_maps_and_binary_masks_are_objects(tmp_path):
  ids = np.zeros((8, 8), np.uint16)
  ids[1:3, 1:3], ids[4:6, 4:6], ids[6:, :2] = 1, 2, 3
  Image.fromarray(ids).save(tmp_path / "labels16.png")  # 16-bit gray ("I;16")
  Image.fromarray((ids > 0).astype(np.uint8), mode="L").save(tmp_path / "binary01.png")
  Image.fromarray((ids > 0).astype(np.uint8) * 255, mode="L").save(tmp_path / "davis16.png")
  np.testing.assert_array_equal(masks_lib.read_mask(str(tmp_path / "labels16.png")), ids)
  for name in ("binary01.png", "davis16.png"):
    np.testing.assert_array_equal(masks_lib.read_mask(str(tmp_path / name)), ids > 0)


def test_synthetic_video_and_masks_have_one_size(tmp_path):
  with pytest.raises(errors.UserError, match="427x128 must be even"):
    synthetic.write_dataset(str(tmp_path), num_videos=1, width=427)
  synthetic.write_dataset(str(tmp_path), num_videos=1, num_frames=2, height=32, width=48)
  with pytest.raises(errors.UserError, match="other settings .*width"):
    synthetic.write_dataset(str(tmp_path), num_videos=1, num_frames=2, height=32, width=64)


def test_flow_keeps_every_one_of_many_objects():
  ids = np.zeros((20, 26), np.uint8)
  ids.flat[:130] = np.arange(1, 131)  # 130 one-pixel objects
  frames = [np.full((20, 26, 3), 128, np.uint8)] * 2
  last = list(trackers.FlowTracker().track_masks(iter(frames), ids))[-1]
  np.testing.assert_array_equal(last, ids)


@pytest.mark.slow
def test_binaries_print_one_line_not_a_traceback(workdir, tiny_davis, tmp_path):
  (tmp_path / "notes.txt").write_text("precious")
  cases = [
      ("train.export", [f"--workdir={workdir}", f"--export_dir={tmp_path}/notes.txt"],
       "notes.txt: is a file"),
      ("eval.davis", [f"--davis_root={tiny_davis}", f"--results_dir={tmp_path}/r",
                      "--sequences=nosuchseq", "--method=flow"], "nosuchseq: no such sequence"),
      ("train.train", ["--config=colortrack/configs/tiny.py", f"--workdir={tmp_path}/w",
                       "--config.trian.num_steps=3"], 'Did you mean "train"'),
  ]
  for module, args, message in cases:
    result = run(module, *args)
    assert result.returncode == 1, (module, result.stderr[-2000:])
    lines = error_lines(result)
    assert len(lines) == 1 and message in lines[0], (module, result.stderr[-2000:])
  assert (tmp_path / "notes.txt").read_text() == "precious"
