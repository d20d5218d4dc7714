r"""Runs the binaries on bad input, full disks and kills, as a user would; prints tables.

Example (about 12 minutes here; needs root for the tmpfs probes, else they are skipped):
  python -m benchmarks.reliability_probes --work_dir=/tmp/probes

Each probe runs one binary in a fresh process and classifies what it did:
  clear error   exit status 1, exactly one error line naming the problem, no traceback
  refused       a clear error, and what was there before is unchanged
  resumed       after a kill -9, the same command finished the job and the result is whole
  correct       exit 0 and the number it wrote is the one computed independently
  said          exit 0, and a warning line says what was wrong with the input
Anything else is reported as FAILED with its last lines, and counted by what went
wrong: a user's file changed, a dataset file changed, a wrong number with exit 0,
a traceback, a hang (no exit within 300 s). The second table (round 2,
`benchmarks/reliability_round2.py`) and the first go to BENCHMARKS.md
("Reliability").
"""

import collections
import glob
import json
import os
import shutil
import subprocess

import numpy as np
from absl import app
from absl import flags

from benchmarks.probe_lib import PROBLEMS, Probe, python, run_probe, snapshot, user_files_changed  # pylint: disable=g-multiple-import


_WORK_DIR = flags.DEFINE_string("work_dir", "/tmp/colortrack_probes", "Scratch folder "
                                "(emptied first).")


def mount_tmpfs(path: str, options: str) -> bool:
  os.makedirs(path, exist_ok=True)
  return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path],
                        capture_output=True, check=False).returncode == 0


def main(argv):
  del argv
  w = _WORK_DIR.value
  for mounted in glob.glob(os.path.join(w, "*_fs")):
    subprocess.run(["umount", mounted], capture_output=True, check=False)
  shutil.rmtree(w, ignore_errors=True)
  os.makedirs(w)
  # Inputs: a synthetic dataset, its codebook and clips, a 30-step training run, an export.
  steps = [("data_prep.make_synthetic", f"--output_dir={w}/syn", "--num_videos=3"),
           ("data_prep.fit_codebook", f"--input={w}/syn/videos", f"--output={w}/codebook.npz"),
           ("data_prep.build_tfrecords", f"--input={w}/syn/videos",
            f"--codebook={w}/codebook.npz", f"--output_dir={w}/clips", "--size=64"),
           ("train.train", "--config=colortrack/configs/tiny.py", f"--workdir={w}/run",
            f"--config.data.train_pattern={w}/clips/*.tfrecord",
            "--config.train.num_steps=30"),
           ("train.export", f"--workdir={w}/run", f"--export_dir={w}/saved")]
  for step in steps:
    result = python(*step)
    if result.returncode:
      raise SystemExit(f"setup {step[0]} failed:\n{result.stderr[-2000:]}")
  davis, video = f"{w}/syn/davis", f"{w}/syn/videos/synthetic_000.mp4"
  mask = f"{davis}/Annotations/480p/synthetic_000/00000.png"
  os.makedirs(f"{w}/mine")
  with open(f"{w}/mine/thesis.tex", "w") as f:
    f.write("precious")
  with open(f"{w}/notes.txt", "w") as f:
    f.write("precious")
  python("eval.davis", f"--davis_root={davis}", f"--results_dir={w}/flow", "--method=flow")
  shutil.copytree(f"{w}/flow", f"{w}/external")
  os.remove(f"{w}/external/colortrack_results.json")
  with open(f"{w}/garbage.npz", "wb") as f:
    f.write(b"not a codebook")
  with open(f"{w}/codebook.npz", "rb") as f:
    truncated = f.read()[:200]
  with open(f"{w}/truncated.npz", "wb") as f:
    f.write(truncated)
  np.save(f"{w}/array.npy", np.zeros((16, 2)))
  np.savez(f"{w}/schema.npz", means=np.zeros((16, 2)))
  shutil.copytree(f"{w}/saved", f"{w}/corrupt_model")
  with open(f"{w}/corrupt_model/saved_model.pb", "wb") as f:
    f.write(b"\0garbage")
  shutil.copytree(f"{w}/saved", f"{w}/no_variables")
  shutil.rmtree(f"{w}/no_variables/variables")
  os.makedirs(f"{w}/unrelated")
  with open(f"{w}/unrelated/config.json", "w") as f:
    json.dump({"learning_rate": 1}, f)
  os.makedirs(f"{w}/one_frame")
  shutil.copy(f"{davis}/JPEGImages/480p/synthetic_000/00000.jpg", f"{w}/one_frame/")
  with open(f"{w}/nan_points.json", "w") as f:
    f.write('{"keypoints": [{"x": 1, "y": 2}, {"x": NaN, "y": 3}]}')
  shutil.copytree(f"{davis}", f"{w}/no_annotations")
  for path in glob.glob(f"{w}/no_annotations/Annotations/480p/synthetic_000/*.png"):
    os.remove(path)
  checkpoints = sorted(os.listdir(f"{w}/run/checkpoints"))

  def unchanged_user_files():
    with open(f"{w}/mine/thesis.tex") as f1, open(f"{w}/notes.txt") as f2:
      return f1.read() == f2.read() == "precious"

  def workdir_intact():
    return sorted(os.listdir(f"{w}/run/checkpoints")) == checkpoints

  def flow_scores_kept():
    with open(f"{w}/flow/colortrack_results.json") as f:
      return json.load(f)["producer"]["method"] == "flow"

  model_flags = [f"--model={w}/saved"]
  probes = [
      Probe("export target colortrack did not write", "folder of user files",
            ["train.export", f"--workdir={w}/run", f"--export_dir={w}/mine"], "refused",
            "did not write", unchanged_user_files),
      Probe("export target colortrack did not write", "the training workdir",
            ["train.export", f"--workdir={w}/run", f"--export_dir={w}/run"], "refused",
            "training workdir", workdir_intact),
      Probe("export target colortrack did not write", "a plain file",
            ["train.export", f"--workdir={w}/run", f"--export_dir={w}/notes.txt"], "refused",
            "is a file", unchanged_user_files),
      Probe("results folder of another run", "identity into a flow folder",
            ["eval.davis", f"--davis_root={davis}", f"--results_dir={w}/flow",
             "--method=identity"], "refused", "method flow -> identity", flow_scores_kept),
      Probe("results folder of another run", "model into a flow folder",
            ["eval.davis", f"--davis_root={davis}", f"--results_dir={w}/flow"] + model_flags,
            "refused", "method flow -> model", flow_scores_kept),
      Probe("results folder of another run", "predictions colortrack did not record",
            ["eval.davis", f"--davis_root={davis}", f"--results_dir={w}/external",
             "--method=flow"], "refused", "did not record"),
      Probe("NaN / inf / zero settings", "learning_rate=inf",
            ["train.train", "--config=colortrack/configs/tiny.py", f"--workdir={w}/nan1",
             f"--config.data.train_pattern={w}/clips/*.tfrecord",
             "--config.train.learning_rate=inf"], "clear error", "learning_rate=inf"),
      Probe("NaN / inf / zero settings", "model.temperature=0",
            ["train.train", "--config=colortrack/configs/tiny.py", f"--workdir={w}/nan2",
             f"--config.data.train_pattern={w}/clips/*.tfrecord",
             "--config.model.temperature=0"], "clear error", "model.temperature=0"),
      Probe("NaN / inf / zero settings", "learning_rate=inf resuming a good workdir",
            ["train.train", "--config=colortrack/configs/tiny.py", f"--workdir={w}/run",
             f"--config.data.train_pattern={w}/clips/*.tfrecord",
             "--config.train.learning_rate=inf", "--config.train.num_steps=60"],
            "refused", "learning_rate=inf", workdir_intact),
      Probe("misspelt config field", "--config.trian.num_steps",
            ["train.train", "--config=colortrack/configs/tiny.py", f"--workdir={w}/typo",
             "--config.trian.num_steps=3"], "clear error", 'Did you mean "train"'),
  ]
  for name in ("garbage.npz", "truncated.npz", "array.npy", "schema.npz"):
    probes.append(Probe("bad codebook", name,
                        ["data_prep.build_tfrecords", f"--input={w}/syn/videos",
                         f"--codebook={w}/{name}", f"--output_dir={w}/c_{name}"],
                        "clear error", f"{name}: not a colortrack codebook"))
  probes.append(Probe("bad codebook", "fit_codebook --output=<a folder>",
                      ["data_prep.fit_codebook", f"--input={w}/syn/videos", f"--output={w}"],
                      "clear error", "is a folder, not a file"))
  for name, message in [("corrupt_model", "not a readable SavedModel"),
                        ("no_variables", "not a readable SavedModel"),
                        ("unrelated", "not a colortrack training config"),
                        ("syn", "no config.json")]:
    probes.append(Probe("bad model folder", name,
                        ["colortrack.track", f"--video={video}", f"--mask={mask}",
                         f"--output_dir={w}/t_{name}", f"--model={w}/{name}"],
                        "clear error", message))
  probes += [
      Probe("bad evaluation input", "--sequences=nosuchseq",
            ["eval.davis", f"--davis_root={davis}", f"--results_dir={w}/r1",
             "--sequences=nosuchseq", "--method=flow"], "clear error", "no such sequence"),
      Probe("bad evaluation input", "empty Annotations folder",
            ["eval.davis", f"--davis_root={w}/no_annotations", f"--results_dir={w}/r2",
             "--method=flow"], "clear error", "no annotations"),
      Probe("bad evaluation input", "colorize a 1-frame video",
            ["eval.colorize", f"--video={w}/one_frame", f"--output_dir={w}/col"] + model_flags,
            "clear error", "has 1 frame"),
      Probe("bad tracking input", "a NaN keypoint",
            ["colortrack.track", f"--video={video}", f"--keypoints={w}/nan_points.json",
             f"--output_dir={w}/t_nan", "--method=flow"], "clear error", "not a finite number"),
      Probe("bad tracking input", "make_synthetic --width=427",
            ["data_prep.make_synthetic", f"--output_dir={w}/odd", "--width=427"],
            "clear error", "must be even"),
      Probe("unwritable output", "track into a path under a file",
            ["colortrack.track", f"--video={video}", f"--mask={mask}",
             f"--output_dir={w}/notes.txt/out", "--method=flow"], "clear error", "is a file"),
      Probe("unwritable output", "data prep into a path under a file",
            ["data_prep.build_tfrecords", f"--input={w}/syn/videos",
             f"--codebook={w}/codebook.npz", f"--output_dir={w}/notes.txt/clips"],
            "clear error", "is a file"),
  ]
  skipped = []
  if mount_tmpfs(f"{w}/ro_fs", "size=1m,ro"):
    for module, args in [
        ("data_prep.build_tfrecords", [f"--input={w}/syn/videos",
                                       f"--codebook={w}/codebook.npz",
                                       f"--output_dir={w}/ro_fs/clips"]),
        ("train.export", [f"--workdir={w}/run", f"--export_dir={w}/ro_fs/saved"]),
        ("colortrack.track", [f"--video={video}", f"--mask={mask}",
                              f"--output_dir={w}/ro_fs/t", "--method=flow"]),
        ("eval.colorize", [f"--video={davis}/JPEGImages/480p/synthetic_000",
                           f"--output_dir={w}/ro_fs/c"] + model_flags)]:
      probes.append(Probe("unwritable output", f"{module} on a read-only file system",
                          [module] + args, "clear error", "read-only file system"))
  else:
    skipped.append("read-only file system (cannot mount a tmpfs here)")
  if mount_tmpfs(f"{w}/full_fs", "size=64k"):

    def no_corrupt_shard():
      for manifest in glob.glob(f"{w}/full_fs/clips/*.manifest.json"):
        from colortrack.data import tfrecord_builder  # pylint: disable=g-import-not-at-top
        with open(manifest) as f:
          if tfrecord_builder.count_records(manifest.replace(".manifest.json", ".tfrecord")) \
              != json.load(f)["clips"]:
            return False
      return True

    probes.append(Probe("full disk", "build_tfrecords on a 64 KiB tmpfs",
                        ["data_prep.build_tfrecords", f"--input={w}/syn/videos",
                         f"--codebook={w}/codebook.npz", f"--output_dir={w}/full_fs/clips"],
                        "clear error", "the shard was not written", no_corrupt_shard))
  else:
    skipped.append("full disk (cannot mount a tmpfs here)")

  # kill -9, then the same command again.
  def shards_written():
    return len(glob.glob(f"{w}/k_clips/*.manifest.json")) >= 1

  def build_whole():
    with open(f"{w}/k_clips/manifest.json") as f:
      return json.load(f)["clips"] > 0

  def checkpoint_written():
    return os.path.exists(f"{w}/k_run/checkpoints/ckpt-40.index")

  def trained_to_end():
    return os.path.exists(f"{w}/k_run/checkpoints/ckpt-120.index")

  def one_sequence_done():
    try:
      with open(f"{w}/k_davis/colortrack_results.json") as f:
        return len(json.load(f)["complete"]) >= 1
    except (OSError, ValueError):
      return False

  def scored():
    return os.path.exists(f"{w}/k_davis/global_results-val.csv")

  def track_started():
    return len(glob.glob(f"{w}/k_track/masks/*.png")) >= 5

  def track_complete():
    with open(f"{w}/k_track/colortrack_track.json") as f:
      record = json.load(f)
    return record["status"] == "complete" and len(os.listdir(f"{w}/k_track/masks")) == 48

  probes += [
      Probe("kill -9, then the same command", "build_tfrecords --workers=2",
            ["data_prep.build_tfrecords", f"--input={w}/syn/videos",
             f"--codebook={w}/codebook.npz", f"--output_dir={w}/k_clips", "--workers=2"],
            "resumed", check=build_whole, kill_after=shards_written),
      Probe("kill -9, then the same command", "train.train",
            ["train.train", "--config=colortrack/configs/tiny.py", f"--workdir={w}/k_run",
             f"--config.data.train_pattern={w}/clips/*.tfrecord",
             "--config.train.num_steps=120", "--config.train.checkpoint_every=40"],
            "resumed", check=trained_to_end, kill_after=checkpoint_written),
      Probe("kill -9, then the same command", "eval.davis",
            ["eval.davis", f"--davis_root={davis}", f"--results_dir={w}/k_davis"] + model_flags,
            "resumed", check=scored, kill_after=one_sequence_done),
      Probe("kill -9, then the same command", "colortrack.track",
            ["colortrack.track", f"--video={video}", f"--mask={mask}",
             f"--output_dir={w}/k_track"] + model_flags, "resumed", check=track_complete,
            kill_after=track_started),
  ]
  from benchmarks import reliability_round2  # pylint: disable=g-import-not-at-top
  round2, user_paths, dataset_paths = reliability_round2.make_probes(
      w, davis, video, mask, model_flags)
  user_paths += [f"{w}/mine", f"{w}/notes.txt"]
  rows = collections.OrderedDict()
  problems = collections.OrderedDict()
  for probe in probes + round2:
    before = snapshot(user_paths), snapshot(dataset_paths)
    outcome = run_probe(probe)
    after = snapshot(user_paths), snapshot(dataset_paths)
    found = [p for p in PROBLEMS if p in outcome]
    if user_files_changed(before[0], after[0]):
      found.append(PROBLEMS[0])
    if before[1] != after[1]:  # a dataset gains no file either
      found.append(PROBLEMS[1])
    if found and not outcome.startswith("FAILED"):
      outcome = "FAILED: " + ", ".join(found)
    print(f"{probe.kind} / {probe.name}: {outcome}", flush=True)
    rows.setdefault(probe.kind, []).append(outcome)
    problems.setdefault(probe.kind, collections.Counter()).update(found)
  print("\n| probe class | cases | outcome |\n|---|---|---|")
  for kind, outcomes in rows.items():
    counts = collections.Counter(o if not o.startswith("FAILED") else "FAILED" for o in outcomes)
    print(f"| {kind} | {len(outcomes)} | " + ", ".join(f"{n} {o}" for o, n in counts.items())
          + " |")
  print("\n| probe class | probes | " + " | ".join(PROBLEMS) + " |\n" +
        "|---" * (2 + len(PROBLEMS)) + "|")
  for kind, outcomes in rows.items():
    print(f"| {kind} | {len(outcomes)} | " + " | ".join(str(problems[kind][p]) for p in PROBLEMS)
          + " |")
  total = collections.Counter()
  for counter in problems.values():
    total.update(counter)
  print(f"| **all** | {sum(len(o) for o in rows.values())} | "
        + " | ".join(str(total[p]) for p in PROBLEMS) + " |")
  for reason in skipped:
    print(f"skipped: {reason}")
  for mounted in glob.glob(os.path.join(w, "*_fs")):
    subprocess.run(["umount", mounted], capture_output=True, check=False)


if __name__ == "__main__":
  app.run(main)
