"""The JAX backend: tiny presets train without TensorFlow, resume, export and track.

The JAX runs are subprocesses (Keras fixes its backend at import) with
TensorFlow made unimportable, as on an accelerator machine that has none; two
simulated CPU devices exercise keras.distribution.DataParallel. The rest of
this test runs under TensorFlow, as export and tracking do.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from keras import ops

from colortrack import serving
from colortrack.data import codebook as codebook_lib
from colortrack.data import synthetic
from colortrack.inference import trackers
from colortrack.methods import mast
from colortrack.training import trainer
from tests import testing_utils

pytestmark = pytest.mark.slow

EMBED_SCRIPT = """
import sys, numpy as np
from keras import ops
from colortrack.training import trainer
model = trainer.restore_model(sys.argv[1])
x = np.random.default_rng(0).uniform(-1, 1, size=(1, 2, 32, 40, 1)).astype(np.float32)
np.save(sys.argv[2], ops.convert_to_numpy(model(x, training=False)))
"""


def run_without_tensorflow(tmp_path, args, devices=1):
  blocker = tmp_path / "no_tensorflow" / "tensorflow"
  blocker.mkdir(parents=True, exist_ok=True)
  (blocker / "__init__.py").write_text('raise ImportError("TensorFlow is not installed here")\n')
  env = dict(os.environ, KERAS_BACKEND="jax",
             PYTHONPATH=f"{blocker.parent}{os.pathsep}{testing_utils.REPO_ROOT}",
             XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  return subprocess.run([sys.executable, *args], cwd=testing_utils.REPO_ROOT, env=env,
                        capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def jax_workdir(tmp_path_factory):
  root = tmp_path_factory.mktemp("jax")
  testing_utils.write_tiny_videos(str(root / "videos"), num_videos=2, num_frames=48)
  codebook_lib.save(testing_utils.hue_codebook(), str(root / "codebook.npz"))
  workdir = str(root / "run")
  flags = ["-m", "train.train", "--config=colortrack/configs/tiny.py", f"--workdir={workdir}",
           "--config.runtime.backend=jax", "--config.data.source=video",
           f"--config.data.train_pattern={root}/videos",
           f"--config.data.codebook={root}/codebook.npz", "--config.train.checkpoint_every=2"]
  first = run_without_tensorflow(root, flags + ["--config.train.num_steps=4"], devices=2)
  assert first.returncode == 0, first.stderr[-3000:]
  assert "JAX on 2 cpu device(s), data parallel" in first.stderr
  # Resumed (on one device) where the first run stopped, as after a kill.
  second = run_without_tensorflow(root, flags + ["--config.train.num_steps=6"])
  assert second.returncode == 0, second.stderr[-3000:]
  assert "ckpt-4.npz at step 4" in second.stderr
  assert "step 6, loss" in second.stderr
  return root, workdir


def test_jax_checkpoints_are_numpy_and_finite(jax_workdir):
  _, workdir = jax_workdir
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == [
      "ckpt-2.npz", "ckpt-4.npz", "ckpt-6.npz"]
  assert os.listdir(os.path.join(workdir, "tensorboard"))
  with np.load(os.path.join(workdir, "checkpoints", "ckpt-6.npz")) as data:
    assert int(data["step"]) == 6
    assert all(np.all(np.isfinite(data[k])) for k in data.files)


def test_jax_weights_give_the_same_embeddings_under_tensorflow(jax_workdir, tmp_path):
  root, workdir = jax_workdir
  script = tmp_path / "embed.py"
  script.write_text(EMBED_SCRIPT)
  result = run_without_tensorflow(root, [str(script), workdir, str(tmp_path / "jax.npy")])
  assert result.returncode == 0, result.stderr[-3000:]
  model = trainer.restore_model(workdir)  # this process: TensorFlow backend
  x = np.random.default_rng(0).uniform(-1, 1, size=(1, 2, 32, 40, 1)).astype(np.float32)
  tf_embeddings = ops.convert_to_numpy(model(x, training=False))
  jax_embeddings = np.load(tmp_path / "jax.npy")
  # Same float32 weights, same graph; XLA and TF kernels differ in summation order
  # only: measured 7.5e-9 here; 1e-5 leaves room for other CPUs.
  np.testing.assert_allclose(tf_embeddings, jax_embeddings, atol=1e-5, rtol=0)


def test_jax_trained_model_exports_and_tracks(jax_workdir, tmp_path):
  _, workdir = jax_workdir
  export_dir = str(tmp_path / "saved")
  serving.export(trainer.restore_model(workdir), export_dir, trainer.load_config(workdir))
  video = synthetic.generate_video(0, num_frames=4, height=32, width=48)
  tracker = trackers.make_tracker("model", export_dir)
  masks = list(tracker.track_masks(iter(video.frames), video.masks[0]))
  assert len(masks) == 4 and masks[-1].shape == (32, 48)
  # The workdir itself tracks too (--model=WORKDIR: its .npz checkpoint).
  from_workdir = trackers.make_tracker("model", workdir)
  masks = list(from_workdir.track_masks(iter(video.frames), video.masks[0]))
  assert len(masks) == 4 and masks[-1].shape == (32, 48)


def test_a_jax_workdir_is_not_resumed_by_tensorflow(jax_workdir):
  root, workdir = jax_workdir
  config = trainer.load_config(workdir)
  config.train.num_steps = 8
  config.runtime.backend = "tensorflow"
  with pytest.raises(trainer.TrainingError, match="trained with the jax backend"):
    trainer.train(config, workdir)
  del root


MAST_OPS_SCRIPT = """
import sys, numpy as np
from keras import ops
from colortrack.methods import mast
data = np.load(sys.argv[1])
out = {space: ops.convert_to_numpy(mast.to_color_space(data["rgb"], space))
       for space in ("lab", "rgb", "hsv")}
out["masks"] = ops.convert_to_numpy(mast.dropout_masks(data["seeds"], 3, 0.5, (1, 2)))
out["back"] = ops.convert_to_numpy(mast.from_color_space(out["lab"], "lab"))
np.savez(sys.argv[2], **out)
"""


def test_mast_inputs_and_dropout_are_the_same_under_jax(tmp_path):
  # MAST's colour conversions and its per-clip channel dropout are keras.ops: under
  # JAX (no TensorFlow) they give what the TensorFlow backend gives for the same
  # frames and seeds, so a model trained on either backend saw the same inputs.
  rng = np.random.default_rng(0)
  rgb = rng.uniform(0, 1, (2, 3, 5, 7, 3)).astype(np.float32)
  seeds = np.stack([np.full(64, 3), np.arange(64) * 1000 + 7], 1).astype(np.int64)
  np.savez(tmp_path / "in.npz", rgb=rgb, seeds=seeds)
  script = tmp_path / "mast_ops.py"
  script.write_text(MAST_OPS_SCRIPT)
  result = run_without_tensorflow(tmp_path, [str(script), str(tmp_path / "in.npz"),
                                             str(tmp_path / "out.npz")])
  assert result.returncode == 0, result.stderr[-3000:]
  jax_out = np.load(tmp_path / "out.npz")
  for space in ("lab", "rgb", "hsv"):
    np.testing.assert_allclose(jax_out[space], ops.convert_to_numpy(
        mast.to_color_space(rgb, space)), atol=1e-5, err_msg=space)
  np.testing.assert_array_equal(jax_out["masks"], ops.convert_to_numpy(
      mast.dropout_masks(seeds, 3, 0.5, (1, 2))))
  assert 0 < (jax_out["masks"] == 0).any(-1).mean() < 1  # some clips dropped, some not
  np.testing.assert_allclose(jax_out["back"], rgb, atol=1e-3)


def test_accelerator_run_script_on_cpu_with_tiny_presets(tmp_path):
  # benchmarks/accelerator_run.sh as run on the lent GPU (BENCHMARKS.md "On one H200"),
  # here with tiny presets on the CPU and TensorFlow blocked: it times both steps,
  # trains the paper stand-in end to end and MAST (by steps here: a loaded machine's
  # clock would make the test flaky), and leaves a MAST workdir that exports and
  # tracks under TensorFlow.
  testing_utils.write_tiny_videos(str(tmp_path / "videos"), num_videos=2, num_frames=48)
  codebook_lib.save(testing_utils.hue_codebook(), str(tmp_path / "codebook.npz"))
  blocker = tmp_path / "no_tensorflow" / "tensorflow"
  blocker.mkdir(parents=True)
  (blocker / "__init__.py").write_text('raise ImportError("TensorFlow is not installed here")\n')
  env = dict(os.environ, PYTHON=sys.executable, PYTHONPATH=str(blocker.parent),
             PAPER_PRESET="colortrack/configs/tiny.py", PAPER_STEPS="6", STEP_STEPS="2",
             MAST_PRESET="colortrack/configs/mast_pair.py:tiny", MAST_IMAGE_SIZE="32",
             MAST_BATCH="4", MAST_SECONDS="600", MAST_STEPS="20", MAST_CHECKPOINT_EVERY="10",
             MAST_LR_DROP_STEP="15")
  out = tmp_path / "out"
  result = subprocess.run(
      ["bash", "benchmarks/accelerator_run.sh", str(tmp_path / "videos"),
       str(tmp_path / "codebook.npz"), str(out)], cwd=testing_utils.REPO_ROOT, env=env,
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
  rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
  assert [r["preset"] for r in rows] == ["vondrick", "mast"]
  assert all(r["loss_finite"] and r["clips_per_s"] > 0 for r in rows)
  assert "step 6, loss" in (out / "paper_train.log").read_text()
  assert "MAST workdir:" in result.stdout and "(ckpt-20.npz)" in result.stdout
  # The schedule the script was given is the one the workdir trained with.
  assert json.loads((out / "mast" / "config.json").read_text())["train"]["lr_drop_step"] == 15
  export_dir = str(tmp_path / "saved")
  workdir = str(out / "mast")
  serving.export(trainer.restore_model(workdir), export_dir, trainer.load_config(workdir))
  video = synthetic.generate_video(0, num_frames=4, height=32, width=48)
  masks = list(trackers.make_tracker("model", export_dir).track_masks(iter(video.frames),
                                                                       video.masks[0]))
  assert len(masks) == 4 and masks[-1].shape == (32, 48)
  # A folder that holds anything is refused before any work.
  again = subprocess.run(["bash", "benchmarks/accelerator_run.sh", str(tmp_path / "videos"),
                          str(tmp_path / "codebook.npz"), str(out)], cwd=testing_utils.REPO_ROOT,
                         env=env, capture_output=True, text=True, timeout=60, check=False)
  assert again.returncode == 2 and "not empty" in again.stderr
