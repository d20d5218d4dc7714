"""The JAX backend: the tiny preset trains without TensorFlow, resumes, exports and tracks.

The JAX runs are subprocesses (Keras fixes its backend at import) with
TensorFlow made unimportable, as on an accelerator machine that has none; two
simulated CPU devices exercise keras.distribution.DataParallel. The rest of
this test runs under TensorFlow, as export and tracking do.
"""

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


def test_a_jax_workdir_is_not_resumed_by_tensorflow(jax_workdir):
  root, workdir = jax_workdir
  config = trainer.load_config(workdir)
  config.train.num_steps = 8
  config.runtime.backend = "tensorflow"
  with pytest.raises(trainer.TrainingError, match="trained with the jax backend"):
    trainer.train(config, workdir)
  del root
