"""Training on several machines, simulated by 2 processes on localhost (CPU).

As the README's "Training on several machines" launches them: the same command on
every worker, with TF_CONFIG (TensorFlow) or KERAS_DISTRIBUTION_* (JAX) naming the
cluster and the worker's index. Checks: one checkpoint set (the chief's / process
0's), the other worker's copies deleted, equal trainable weights on both workers
(the fingerprint each logs at the end), a stopped worker ending the run in one
line, every worker resuming from the chief's checkpoint, and (JAX) the same
weights as one process training on 2 devices.
"""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from colortrack.data import codebook as codebook_lib
from tests import test_jax_backend
from tests import testing_utils

pytestmark = pytest.mark.slow

FINGERPRINT = re.compile(r"\(weights ([0-9a-f]{16})\)")


def free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("localhost", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def start_workers(tmp_path, workdir, pattern, num_steps):
  """Both workers' processes, each with its own TF_CONFIG and temp dir."""
  cluster = {"worker": [f"localhost:{port}" for port in free_ports(2)]}
  workers = []
  for index in range(2):
    temp = tmp_path / f"tmp{index}"
    temp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(temp), TF_CONFIG=json.dumps(
        {"cluster": cluster, "task": {"type": "worker", "index": index}}))
    log = open(tmp_path / f"worker{index}.log", "w")  # pylint: disable=consider-using-with
    workers.append(subprocess.Popen(
        [sys.executable, "-m", "train.train", "--config=colortrack/configs/tiny.py",
         f"--workdir={workdir}", f"--config.data.train_pattern={pattern}",
         f"--config.train.num_steps={num_steps}", "--config.train.checkpoint_every=2"],
        cwd=testing_utils.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
  return workers


def finish(tmp_path, workers, timeout=600):
  codes = [w.wait(timeout=timeout) for w in workers]
  return codes, [(tmp_path / f"worker{i}.log").read_text() for i in range(len(workers))]


def checkpoint_steps(workdir):
  return sorted(int(p.rsplit("-", 1)[1].split(".")[0])
                for p in glob.glob(os.path.join(workdir, "checkpoints", "ckpt-*.index")))


def test_two_workers_write_one_workdir_agree_and_resume(synthetic_clips, tmp_path):
  workdir = str(tmp_path / "run")
  codes, logs = finish(tmp_path, start_workers(tmp_path, workdir, synthetic_clips, 4))
  assert codes == [0, 0], logs[0][-2000:] + logs[1][-2000:]
  for log in logs:
    assert "MultiWorkerMirroredStrategy" in log and "2 replica(s), global batch 4" in log
  # One checkpoint set, the chief's; the other worker wrote its copies to its own temp
  # dir and deleted them.
  assert checkpoint_steps(workdir) == [2, 4]
  assert sorted(os.listdir(workdir)) == [".colortrack_written", "checkpoints", "codebook.json",
                                         "config.json", "tensorboard"]
  assert os.listdir(tmp_path / "tmp1") == []
  fingerprints = [FINGERPRINT.search(log).group(1) for log in logs]
  assert fingerprints[0] == fingerprints[1]

  # Both started again with more steps: both resume from the chief's checkpoint.
  codes, logs = finish(tmp_path, start_workers(tmp_path, workdir, synthetic_clips, 6))
  assert codes == [0, 0], logs[0][-2000:] + logs[1][-2000:]
  for log in logs:
    assert "checkpoints/ckpt-4 at step 4" in log
  assert len({FINGERPRINT.search(log).group(1) for log in logs}) == 1
  assert checkpoint_steps(workdir)[-1] == 6


def kill_the_second_worker_and_resume(tmp_path, workdir, start, steps_of):
  """Kills worker 1 once a checkpoint of step >= 6 exists; worker 0 must end in one line
  at once; both started again resume from the last checkpoint."""
  workers = start(10_000)
  deadline = time.monotonic() + 600
  while not [s for s in steps_of(workdir) if s >= 6] and time.monotonic() < deadline:
    assert all(w.poll() is None for w in workers), (tmp_path / "worker0.log").read_text()[-2000:]
    time.sleep(0.5)
  workers[1].send_signal(signal.SIGKILL)  # preempted
  codes, logs = finish(tmp_path, workers, timeout=300)
  assert codes[0] == 1 and codes[1] == -signal.SIGKILL, logs[0][-2000:]
  assert "a worker of this multi-worker run stopped" in logs[0]
  assert "Traceback" not in logs[0] and "Fatal" not in logs[0]
  latest = steps_of(workdir)[-1]
  assert latest >= 6
  codes, logs = finish(tmp_path, start(latest + 2))
  assert codes == [0, 0], logs[0][-2000:] + logs[1][-2000:]
  for log in logs:
    assert re.search(rf"checkpoints/ckpt-{latest}(\.npz)? at step {latest}", log), log[-2000:]
  assert len({FINGERPRINT.search(log).group(1) for log in logs}) == 1


def test_a_killed_worker_stops_the_run_in_one_line_and_it_resumes(synthetic_clips, tmp_path):
  workdir = str(tmp_path / "run")
  kill_the_second_worker_and_resume(
      tmp_path, workdir, lambda steps: start_workers(tmp_path, workdir, synthetic_clips, steps),
      checkpoint_steps)


def start_jax_processes(tmp_path, workdir, root, num_steps):
  """2 JAX processes (TensorFlow blocked, as on an accelerator machine)."""
  blocker = tmp_path / "no_tensorflow" / "tensorflow"
  blocker.mkdir(parents=True, exist_ok=True)
  (blocker / "__init__.py").write_text('raise ImportError("TensorFlow is not installed here")\n')
  coordinator = f"localhost:{free_ports(1)[0]}"
  processes = []
  for index in range(2):
    env = dict(os.environ, KERAS_BACKEND="jax",
               PYTHONPATH=f"{blocker.parent}{os.pathsep}{testing_utils.REPO_ROOT}",
               KERAS_DISTRIBUTION_JOB_ADDRESSES=coordinator,
               KERAS_DISTRIBUTION_NUM_PROCESSES="2", KERAS_DISTRIBUTION_PROCESS_ID=str(index))
    log = open(tmp_path / f"worker{index}.log", "w")  # pylint: disable=consider-using-with
    processes.append(subprocess.Popen(
        [sys.executable, "-m", "train.train"] + jax_flags(workdir, root, num_steps),
        cwd=testing_utils.REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
  return processes


def jax_flags(workdir, root, num_steps):
  return ["--config=colortrack/configs/tiny.py", f"--workdir={workdir}",
          "--config.runtime.backend=jax", "--config.data.source=video",
          f"--config.data.train_pattern={root}/videos",
          f"--config.data.codebook={root}/codebook.npz", f"--config.train.num_steps={num_steps}",
          "--config.train.checkpoint_every=2"]


def test_two_jax_processes_write_one_workdir_agree_and_resume(tmp_path):
  root = tmp_path / "data"
  testing_utils.write_tiny_videos(str(root / "videos"), num_videos=2, num_frames=48)
  codebook_lib.save(testing_utils.hue_codebook(), str(root / "codebook.npz"))
  workdir = str(tmp_path / "run")
  codes, logs = finish(tmp_path, start_jax_processes(tmp_path, workdir, root, 4))
  assert codes == [0, 0], logs[0][-2000:] + logs[1][-2000:]
  for index, log in enumerate(logs):
    assert f"JAX on 2 cpu device(s), data parallel in 2 processes (this is process {index})" in log
  assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["ckpt-2.npz", "ckpt-4.npz"]
  assert len({FINGERPRINT.search(log).group(1) for log in logs}) == 1

  # Each process read its half of every batch: together, the batches one process on 2
  # devices reads, so the weights are those of that run (summation order aside).
  single = str(tmp_path / "single")
  result = test_jax_backend.run_without_tensorflow(
      tmp_path, ["-m", "train.train"] + jax_flags(single, root, 4), devices=2)
  assert result.returncode == 0, result.stderr[-3000:]
  with np.load(os.path.join(workdir, "checkpoints", "ckpt-4.npz")) as two, \
      np.load(os.path.join(single, "checkpoints", "ckpt-4.npz")) as one:
    assert sorted(two.files) == sorted(one.files)
    for key in two.files:
      np.testing.assert_allclose(two[key], one[key], atol=1e-5, rtol=1e-4, err_msg=key)

  codes, logs = finish(tmp_path, start_jax_processes(tmp_path, workdir, root, 6))
  assert codes == [0, 0], logs[0][-2000:] + logs[1][-2000:]
  for log in logs:
    assert "checkpoints/ckpt-4.npz at step 4" in log
  assert len({FINGERPRINT.search(log).group(1) for log in logs}) == 1
  assert "ckpt-6.npz" in os.listdir(os.path.join(workdir, "checkpoints"))


def test_a_killed_jax_process_stops_the_run_in_one_line_and_it_resumes(tmp_path):
  # JAX's own exit would wait for the lost process and then abort with a stack dump:
  # the binary says its one line and exits at once.
  root = tmp_path / "data"
  testing_utils.write_tiny_videos(str(root / "videos"), num_videos=2, num_frames=48)
  codebook_lib.save(testing_utils.hue_codebook(), str(root / "codebook.npz"))
  workdir = str(tmp_path / "run")

  def npz_steps(folder):
    return sorted(int(p.rsplit("-", 1)[1].split(".")[0])
                  for p in glob.glob(os.path.join(folder, "checkpoints", "ckpt-*.npz")))

  kill_the_second_worker_and_resume(
      tmp_path, workdir, lambda steps: start_jax_processes(tmp_path, workdir, root, steps),
      npz_steps)
