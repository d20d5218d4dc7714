"""The second round of reliability probes (issue #23): inputs they need and the probes.

`make_probes(w, ...)` writes small adversarial datasets and user files under `w`
(each a copy of the synthetic dataset, changed in one way) and returns the probes
of the seven classes, plus the folders that must not change (user files and
datasets). Expected numbers are computed here with colortrack's numpy metrics
on the same frames, so a probe that prints another number is a wrong number.
"""

import csv
import glob
import json
import os
import shutil
from typing import Callable, List

import cv2
import numpy as np
import scipy.io
from PIL import Image

from benchmarks import probe_lib as rp
from colortrack.data import masks as masks_lib
from colortrack.evaluation import davis as davis_lib
from colortrack.evaluation import pck

CLASSES = ("1. outputs never replace a user's file", "2. a dataset is read-only",
           "3. no wrong number with exit 0", "4. settings that cannot track",
           "5. no traceback", "6. no hang", "7. untrusted models")


def _global_jf(results_dir: str) -> float:
  with open(os.path.join(results_dir, "global_results-val.csv")) as f:
    return float(next(csv.DictReader(f))["J&F-Mean"])


def _pck(results_dir: str) -> float:
  with open(os.path.join(results_dir, "pck.csv")) as f:
    return float(list(csv.DictReader(f))[-1]["PCK@0.1"])


def _copy_davis(davis: str, target: str, rename: Callable[[int], str] = "{:05d}".format,
                keep: Callable[[int], bool] = lambda t: True) -> str:
  """A copy of the one-sequence synthetic DAVIS, frames named by `rename(t)`, annotations
  of the frames `keep(t)` only."""
  sequence = "synthetic_000"
  for t, path in enumerate(sorted(glob.glob(f"{davis}/JPEGImages/480p/{sequence}/*.jpg"))):
    for kind, ext, source in (("JPEGImages", ".jpg", path),
                              ("Annotations", ".png", path.replace("JPEGImages", "Annotations")
                               .replace(".jpg", ".png"))):
      if kind == "Annotations" and not keep(t):
        continue
      out = os.path.join(target, kind, "480p", sequence, rename(t) + ext)
      os.makedirs(os.path.dirname(out), exist_ok=True)
      shutil.copy(source, out)
  return target


def _identity_jf(davis: str, sequence: str, frames: List[int]) -> float:
  """J&F of repeating frame `frames[0]`'s annotation, scored on `frames` (colortrack's numpy
  metrics; equal to the official toolkit's, see tests/test_davis_eval.py)."""
  paths = sorted(glob.glob(f"{davis}/Annotations/480p/{sequence}/*.png"))
  gt = np.stack([masks_lib.read_mask(paths[t]) for t in frames])
  pred = np.repeat(gt[:1], len(frames), axis=0)
  rows = [o.row() for o in davis_lib.score_sequence(sequence, gt, pred)]
  return float(np.mean([(r["J-Mean"] + r["F-Mean"]) / 2 for r in rows]))


def _write_jhmdb(root: str, frames: np.ndarray, pos_img: np.ndarray, skip=(),
                 split_line: str = "clip.avi 2") -> str:
  os.makedirs(f"{root}/splits", exist_ok=True)
  with open(f"{root}/splits/catch_test_split1.txt", "w") as f:
    f.write(split_line + "\n")
  folder = f"{root}/Rename_Images/catch/clip"
  os.makedirs(folder, exist_ok=True)
  for t, frame in enumerate(frames):
    if t + 1 not in skip:
      cv2.imwrite(f"{folder}/{t + 1:05d}.png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  os.makedirs(f"{root}/joint_positions/catch/clip", exist_ok=True)
  scipy.io.savemat(f"{root}/joint_positions/catch/clip/joint_positions.mat", {"pos_img": pos_img})
  return root


def _identity_pck(gt: np.ndarray, visible: np.ndarray) -> float:
  """PCK@0.1 of repeating frame 0's joints: gt `[T, K, 2]` x, y."""
  pred = np.repeat(gt[:1], len(gt), axis=0)
  return pck.pck([pck.correct_joints(pred, gt, visible & visible[:1])])[0.1]


def _write_badja(root: str, frames: np.ndarray, joints: np.ndarray, visibility: np.ndarray,
                 drop_key: str = "") -> str:
  """joints `[T, K, 2]` (row, col) at 480p written at BADJA's 1080p scale."""
  folder = f"{root}/DAVIS/JPEGImages/480p/dog"
  os.makedirs(folder, exist_ok=True)
  entries = []
  for t, frame in enumerate(frames):
    cv2.imwrite(f"{folder}/{t:05d}.jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    entry = {"image_path": f"DAVIS/JPEGImages/1080p/dog/{t:05d}.jpg",
             "joints": (joints[t] * 1080 / 480).tolist(), "visibility": visibility[t].tolist()}
    entry.pop(drop_key, None)
    entries.append(entry)
  os.makedirs(f"{root}/joint_annotations", exist_ok=True)
  with open(f"{root}/joint_annotations/dog.json", "w") as f:
    json.dump(entries, f)
  return root


def make_probes(w: str, davis: str, video: str, mask: str, model_flags: List[str]):
  """(probes, user_paths, dataset_paths) of the seven classes."""
  c1, c2, c3, c4, c5, c6, c7 = CLASSES
  probes = []
  user = f"{w}/user"  # a user's own folder: files colortrack must never replace
  os.makedirs(user)
  for name in ("notes.txt", "codebook.npz", "clip_000.png", "manifest.json", "index.html",
               "colorize.json", "overlay.mp4", "pca.png", "pck.csv", "failures.json"):
    with open(f"{user}/{name}", "w") as f:
      f.write("precious " + name)
  shutil.copy(f"{davis}/JPEGImages/480p/synthetic_000/00000.jpg", f"{w}/image.jpg")
  frames_dir = f"{davis}/JPEGImages/480p/synthetic_000"
  flow_results = f"{w}/flow"  # eval.davis --method=flow, made by the first round
  datasets = [davis]

  def user_dir(name):
    """A copy of the user folder for one probe (its files stay the user's)."""
    target = f"{w}/u_{name}"
    shutil.copytree(user, target)
    return target

  # --- 1. outputs never replace a user's file -------------------------------------------
  probes += [
      rp.Probe(c1, "fit_codebook --output=<a user's file>",
               ["data_prep.fit_codebook", f"--input={w}/syn/videos",
                f"--output={user}/codebook.npz"], "refused", "colortrack did not write"),
      rp.Probe(c1, "fit_codebook --output=<its own input video>",
               ["data_prep.fit_codebook", f"--input={video}", f"--output={video}"],
               "refused", "is an input"),
      rp.Probe(c1, "fit_codebook --output inside its input folder",
               ["data_prep.fit_codebook", f"--input={w}/syn/videos",
                f"--output={w}/syn/videos/codebook.npz"], "refused", "lies inside an input"),
      rp.Probe(c1, "embedding_pca --output=<its --image>",
               ["eval.embedding_pca", f"--image={w}/image.jpg", f"--output={w}/image.jpg"]
               + model_flags, "refused", "is an input"),
      rp.Probe(c1, "embedding_pca --output=<a user's file>",
               ["eval.embedding_pca", f"--image={w}/image.jpg", f"--output={user}/pca.png"]
               + model_flags, "refused", "colortrack did not write"),
      rp.Probe(c1, "colorize --output_dir=<its input frame folder>",
               ["eval.colorize", f"--video={frames_dir}", f"--output_dir={frames_dir}"]
               + model_flags, "refused", "is an input"),
      rp.Probe(c1, "colorize into a folder with a user's colorize.json",
               ["eval.colorize", f"--video={frames_dir}", f"--output_dir={user_dir('col')}"]
               + model_flags, "refused", "colortrack did not write"),
      rp.Probe(c1, "inspect_tfrecords into a folder with a user's clip_000.png",
               ["data_prep.inspect_tfrecords", f"--input={w}/clips/*.tfrecord",
                f"--output_dir={user_dir('insp')}"], "refused", "colortrack did not write"),
      rp.Probe(c1, "build_tfrecords into a folder with a user's manifest.json",
               ["data_prep.build_tfrecords", f"--input={w}/syn/videos",
                f"--codebook={w}/codebook.npz", f"--output_dir={user_dir('build')}"],
               "refused", "colortrack did not write"),
      rp.Probe(c1, "build_tfrecords --output_dir inside its input",
               ["data_prep.build_tfrecords", f"--input={w}/syn/videos",
                f"--codebook={w}/codebook.npz", f"--output_dir={w}/syn/videos/clips"],
               "refused", "lies inside an input"),
      rp.Probe(c1, "summarize --plot_dir with a user's index.html",
               ["eval.summarize", f"--results_dirs={flow_results}", f"--davis_root={davis}",
                f"--plot_dir={user_dir('sum')}"], "refused", "colortrack did not write"),
      rp.Probe(c1, "summarize --plot_dir=<a results folder it reads>",
               ["eval.summarize", f"--results_dirs={flow_results}", f"--davis_root={davis}",
                f"--plot_dir={flow_results}"], "refused", "is an input"),
      rp.Probe(c1, "track --output_dir=<a folder with a user's overlay.mp4>",
               ["colortrack.track", f"--video={video}", f"--mask={mask}",
                f"--output_dir={user_dir('track')}", "--method=flow"], "refused",
               "not written by colortrack.track"),
      rp.Probe(c1, "track --output_dir=<its own frame folder>",
               ["colortrack.track", f"--video={frames_dir}", f"--mask={mask}",
                f"--output_dir={frames_dir}", "--method=flow"], "refused", "is an input"),
      rp.Probe(c1, "eval.davis into a folder with a user's index.html",
               ["eval.davis", f"--davis_root={davis}", f"--results_dir={user_dir('davis')}",
                "--method=identity"], "refused", "colortrack did not write"),
      rp.Probe(c1, "make_synthetic into a folder with a user's file in its way",
               ["data_prep.make_synthetic", f"--output_dir={user_dir('syn')}",
                "--num_videos=1"], "refused", "colortrack did not write"),
  ]
  os.makedirs(f"{w}/u_syn/videos")
  shutil.copy(video, f"{w}/u_syn/videos/synthetic_000.mp4")  # the user's, same name

  # --- 2. a dataset is read-only --------------------------------------------------------
  for target in ("Annotations/480p", "JPEGImages/480p", ""):
    for overwrite in ([], ["--overwrite"]):
      probes.append(rp.Probe(
          c2, f"eval.davis --results_dir=<dataset>/{target} {' '.join(overwrite)}".strip(),
          ["eval.davis", f"--davis_root={davis}", f"--results_dir={davis}/{target}",
           "--method=identity"] + overwrite, "refused", "lies inside an input"
          if target else "is an input"))
  for name, line in (("dotdot", "../../escape_davis"), ("absolute", f"{w}/escape_abs")):
    root = _copy_davis(davis, f"{w}/davis_{name}")
    os.makedirs(f"{root}/ImageSets/2017")
    with open(f"{root}/ImageSets/2017/val.txt", "w") as f:
      f.write(line + "\n")
    datasets.append(root)
    probes.append(rp.Probe(c2, f"ImageSets sequence name {line!r}",
                           ["eval.davis", f"--davis_root={root}", f"--results_dir={w}/r_{name}",
                            "--method=identity"], "clear error", "not a plain relative name",
                           lambda: not glob.glob(f"{w}/escape*")))
  video_obj = np.stack([cv2.cvtColor(cv2.imread(p), cv2.COLOR_BGR2RGB)
                        for p in sorted(glob.glob(f"{frames_dir}/*.jpg"))[:12]])
  t_frames, height, width = video_obj.shape[:3]
  rng = np.random.default_rng(0)
  pos_img = np.stack([rng.uniform(5, width - 5, (15, t_frames)),
                      rng.uniform(5, height - 5, (15, t_frames))]) + 1.0  # 1-based
  jhmdb = _write_jhmdb(f"{w}/jhmdb", video_obj, pos_img)
  evil = _write_jhmdb(f"{w}/jhmdb_evil", video_obj, pos_img, split_line="../../../escape.avi 2")
  datasets += [jhmdb, evil]
  probes += [
      rp.Probe(c2, "JHMDB split file with a '../' video name",
               ["eval.jhmdb", f"--jhmdb_root={evil}", f"--results_dir={w}/r_jevil",
                "--method=identity"], "clear error", "not a plain relative name",
               lambda: not glob.glob(f"{w}/escape*")),
      rp.Probe(c2, "eval.jhmdb --results_dir inside the dataset",
               ["eval.jhmdb", f"--jhmdb_root={jhmdb}", f"--results_dir={jhmdb}/splits/r",
                "--method=identity"], "refused", "lies inside an input"),
      rp.Probe(c2, "eval.jhmdb --results_dir inside the dataset --overwrite",
               ["eval.jhmdb", f"--jhmdb_root={jhmdb}", f"--results_dir={jhmdb}",
                "--method=identity", "--overwrite"], "refused", "is an input"),
      rp.Probe(c2, "summarize --plot_dir inside the dataset",
               ["eval.summarize", f"--results_dirs={flow_results}", f"--davis_root={davis}",
                f"--plot_dir={davis}/plots"], "refused", "lies inside an input"),
  ]

  # --- 3. no wrong number with exit 0 ---------------------------------------------------
  num_frames = len(glob.glob(f"{frames_dir}/*.jpg"))
  one_based = _copy_davis(davis, f"{w}/davis_1based", rename=lambda t: f"{t + 1:05d}")
  sparse = _copy_davis(davis, f"{w}/davis_sparse", keep=lambda t: t % 5 == 0)
  datasets += [one_based, sparse]
  full_jf = _identity_jf(davis, "synthetic_000", list(range(num_frames)))
  sparse_jf = _identity_jf(davis, "synthetic_000", list(range(0, num_frames, 5)))
  probes += [
      rp.Probe(c3, "DAVIS frames named 00001.jpg... (1-based)",
               ["eval.davis", f"--davis_root={one_based}", f"--results_dir={w}/r_1based",
                "--method=identity"], "correct",
               check=lambda: abs(_global_jf(f"{w}/r_1based") - full_jf) < 1e-4),
      rp.Probe(c3, "DAVIS annotations of every 5th frame (sparse)",
               ["eval.davis", f"--davis_root={sparse}", f"--results_dir={w}/r_sparse",
                "--method=identity"], "correct",
               check=lambda: abs(_global_jf(f"{w}/r_sparse") - sparse_jf) < 1e-4),
  ]
  missing = _write_jhmdb(f"{w}/jhmdb_missing", video_obj, pos_img, skip=(4,))
  datasets.append(missing)
  gt = np.transpose(pos_img, (2, 1, 0)) - 1.0
  kept = [t for t in range(t_frames) if t != 3]
  missing_pck = _identity_pck(gt[kept], np.ones(gt[kept].shape[:2], bool))
  probes.append(rp.Probe(c3, "JHMDB clip with frame 00004 missing",
                         ["eval.jhmdb", f"--jhmdb_root={missing}", f"--results_dir={w}/r_jmiss",
                          "--method=identity"], "correct",
                         check=lambda: abs(_pck(f"{w}/r_jmiss") - missing_pck) < 1e-3))
  joints = gt[:, :5, ::-1].copy()  # (row, col) of 5 joints
  visibility = np.ones(joints.shape[:2], int)
  nan_later = joints.copy()
  nan_later[3, 2] = np.nan
  badja_nan = _write_badja(f"{w}/badja_nan", video_obj, nan_later, visibility)
  seen = np.ones(joints.shape[:2], bool)
  seen[3, 2] = False
  nan_pck = _identity_pck(joints[..., ::-1], seen)
  probes.append(rp.Probe(c3, "BADJA joint that is NaN in a later frame",
                         ["eval.jhmdb", f"--jhmdb_root={badja_nan}", f"--results_dir={w}/r_bnan",
                          "--method=identity"], "correct",
                         check=lambda: abs(_pck(f"{w}/r_bnan") - nan_pck) < 1e-3))
  hidden = visibility.copy()
  hidden[1:] = 0
  badja_hidden = _write_badja(f"{w}/badja_hidden", video_obj, joints, hidden)
  datasets += [badja_nan, badja_hidden]
  probes.append(rp.Probe(c3, "no visible joint after the first frame",
                         ["eval.jhmdb", f"--jhmdb_root={badja_hidden}",
                          f"--results_dir={w}/r_bhid", "--method=identity"], "clear error",
                         "no visible joint"))
  empty = _copy_davis(davis, f"{w}/davis_empty")
  for path in glob.glob(f"{empty}/Annotations/480p/synthetic_000/*.png"):
    Image.fromarray(np.zeros_like(masks_lib.read_mask(path)), mode="L").save(path)
  short = _copy_davis(davis, f"{w}/davis_short", keep=lambda t: t < 2)
  for path in sorted(glob.glob(f"{short}/JPEGImages/480p/synthetic_000/*.jpg"))[2:]:
    os.remove(path)
  void = _copy_davis(davis, f"{w}/davis_void")
  for path in glob.glob(f"{void}/Annotations/480p/synthetic_000/*.png"):
    ids = masks_lib.read_mask(path)
    ids[:2] = 255  # a void border, as DAVIS-2017 label maps carry
    Image.fromarray(ids, mode="L").save(path)
  num_objects = len(masks_lib.object_ids(masks_lib.read_mask(
      f"{davis}/Annotations/480p/synthetic_000/00000.png")))
  datasets += [empty, short, void]

  def void_objects():
    with open(f"{w}/r_void/per-object_results-val.csv") as f:
      return len(list(csv.DictReader(f))) == num_objects

  truncated = f"{w}/truncated.avi"
  writer = cv2.VideoWriter(truncated, cv2.VideoWriter_fourcc(*"MJPG"), 24, (width, height))
  for frame in video_obj:
    writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
  writer.release()
  with open(truncated, "rb") as f:
    data = f.read()
  with open(truncated, "wb") as f:
    f.write(data[:len(data) // 2])

  def truncation_recorded():
    with open(f"{w}/t_trunc/colortrack_track.json") as f:
      record = json.load(f)
    return record.get("truncated") and record["frames_decoded"] < record["frames_declared"]

  probes += [
      rp.Probe(c3, "empty first mask, the only sequence (was J&F nan)",
               ["eval.davis", f"--davis_root={empty}", f"--results_dir={w}/r_empty",
                "--method=identity"], "clear error", "no object to score"),
      rp.Probe(c3, "a 2-frame sequence (was J&F nan)",
               ["eval.davis", f"--davis_root={short}", f"--results_dir={w}/r_short",
                "--method=identity"], "clear error", "2 annotated frame"),
      rp.Probe(c3, "8-bit label map with ids 1..K and 255 void",
               ["eval.davis", f"--davis_root={void}", f"--results_dir={w}/r_void",
                "--method=identity"], "correct", check=void_objects),
      rp.Probe(c3, "truncated video (container declares more frames)",
               ["colortrack.track", f"--video={truncated}", f"--mask={mask}",
                f"--output_dir={w}/t_trunc", "--method=flow"], "said",
               "declares 12 frames but only", truncation_recorded),
  ]

  # --- 4. settings that cannot track or train are refused -------------------------------
  track = ["colortrack.track", f"--video={video}", f"--mask={mask}"]
  for flag, message in (("--temperature=0", "temperature=0.0: must be > 0"),
                        ("--temperature=nan", "temperature=nan"),
                        ("--temperature=-1", "temperature=-1.0"),
                        ("--top_k=-2", "top_k=-2"), ("--radius=-1", "radius=-1"),
                        ("--window=-1", "window=-1"), ("--max_short_side=-1", "max_short_side"),
                        ("--scale=0", "scale=0.0"), ("--keypoint_sigma=0", "keypoint_sigma")):
    probes.append(rp.Probe(c4, f"track {flag}", track + [f"--output_dir={w}/s_{flag[2:6]}",
                                                          flag] + model_flags,
                           "clear error", message))
  probes.append(rp.Probe(c4, "eval.davis --temperature=0 (printed 0.2536)",
                         ["eval.davis", f"--davis_root={davis}", f"--results_dir={w}/r_t0",
                          "--temperature=0"] + model_flags, "clear error", "temperature=0.0"))
  shutil.copytree(f"{w}/saved", f"{w}/retune")
  for value in ("temperature=nan", "scale=0", "top_k=-1"):
    probes.append(rp.Probe(c4, f"export --retune --inference={value}",
                           ["train.export", f"--export_dir={w}/retune", "--retune",
                            f"--inference={value}"], "clear error", value.split("=")[0]))
  train = ["train.train", "--config=colortrack/configs/tiny.py",
           f"--config.data.train_pattern={w}/clips/*.tfrecord"]
  for field in ("model.output_stride=0", "data.clip_len=1", "model.embed_dim=0"):
    probes.append(rp.Probe(c4, f"train --config.{field}",
                           train + [f"--workdir={w}/s_{field[:10]}", f"--config.{field}"],
                           "clear error", field.split("=")[0].split(".")[1]))
  build = ["data_prep.build_tfrecords", f"--input={w}/syn/videos", f"--codebook={w}/codebook.npz",
           f"--output_dir={w}/s_build"]
  for flag in ("--size=0", "--clip_len=0", "--fps=0", "--fps=nan", "--workers=0"):
    probes.append(rp.Probe(c4, f"build_tfrecords {flag}", build + [flag], "clear error",
                           flag.split("=")[0]))
  probes += [
      rp.Probe(c4, "make_synthetic --num_frames=0",
               ["data_prep.make_synthetic", f"--output_dir={w}/s_syn", "--num_frames=0"],
               "clear error", "--num_frames"),
      rp.Probe(c4, "make_synthetic --num_objects=255",
               ["data_prep.make_synthetic", f"--output_dir={w}/s_syn", "--num_objects=255"],
               "clear error", "--num_objects"),
      rp.Probe(c4, "fit_codebook --num_clusters=0",
               ["data_prep.fit_codebook", f"--input={w}/syn/videos", f"--output={w}/s_cb.npz",
                "--num_clusters=0"], "clear error", "--num_clusters"),
  ]

  # --- 5. no traceback ------------------------------------------------------------------
  with open(f"{w}/clips/manifest.json") as f:
    shard = sorted(glob.glob(f"{w}/clips/*.tfrecord"))[0]
  os.makedirs(f"{w}/bad_clips")
  for path in glob.glob(f"{w}/clips/*.tfrecord"):
    shutil.copy(path, f"{w}/bad_clips/")
  bad_shard = os.path.join(f"{w}/bad_clips", os.path.basename(shard))
  with open(bad_shard, "r+b") as f:
    f.seek(os.path.getsize(bad_shard) // 2)
    f.write(b"\xff" * 64)
  badsize = _copy_davis(davis, f"{w}/davis_badsize")
  for path in glob.glob(f"{badsize}/Annotations/480p/synthetic_000/*.png"):
    Image.open(path).resize((width // 2, height // 2)).save(path)
  nofr = _copy_davis(davis, f"{w}/davis_noframe")
  os.remove(f"{nofr}/JPEGImages/480p/synthetic_000/00003.jpg")
  nan_first = joints.copy()
  nan_first[0, 1] = np.nan
  badja_variants = {
      "NaN joint in the first frame": (_write_badja(f"{w}/badja_nan0", video_obj, nan_first,
                                                    visibility), "joint 1 of the first"),
      "no visibility key": (_write_badja(f"{w}/badja_novis", video_obj, joints, visibility,
                                         drop_key="visibility"), "has no visibility key"),
  }
  fewer = _write_badja(f"{w}/badja_fewer", video_obj, joints, visibility)
  with open(f"{fewer}/joint_annotations/dog.json") as f:
    entries = json.load(f)
  entries[2]["joints"] = entries[2]["joints"][:3]
  with open(f"{fewer}/joint_annotations/dog.json", "w") as f:
    json.dump(entries, f)
  badja_variants["fewer joints than the first frame"] = (fewer, "has 3 joints")
  noframes = _write_badja(f"{w}/badja_noframes", video_obj, joints, visibility)
  with open(f"{noframes}/joint_annotations/dog.json", "w") as f:
    f.write("[]")
  badja_variants["no annotated frames"] = (noframes, "no annotated frames")
  jnan = _write_jhmdb(f"{w}/jhmdb_nan", video_obj, np.where(np.arange(t_frames) == 0, np.nan,
                                                           pos_img))
  datasets += [badsize, nofr, jnan] + [root for root, _ in badja_variants.values()]
  probes += [
      rp.Probe(c5, "misspelt preset --config=tinyy",
               ["train.train", "--config=tinyy", f"--workdir={w}/x_typo"], "clear error",
               "no such preset"),
      rp.Probe(c5, "JAX over a shard corrupted mid-file",
               ["train.train", "--config=colortrack/configs/tiny.py", f"--workdir={w}/x_jax",
                "--config.runtime.backend=jax", f"--config.data.train_pattern={w}/bad_clips/*",
                "--config.train.num_steps=30"], "clear error", "unreadable record"),
      rp.Probe(c5, "resume with another data.image_size",
               train + [f"--workdir={w}/run", "--config.data.image_size=48",
                        "--config.train.num_steps=60"], "clear error",
               "image_size=48, but the checkpoints"),
      rp.Probe(c5, "annotations of another size than the frames",
               ["eval.davis", f"--davis_root={badsize}", f"--results_dir={w}/x_badsize",
                "--method=flow"], "clear error", "annotation is"),
      rp.Probe(c5, "an annotated frame missing (names the frame)",
               ["eval.davis", f"--davis_root={nofr}", f"--results_dir={w}/x_nofr",
                "--method=flow"], "clear error", "00003.jpg: frame missing"),
      rp.Probe(c5, "JHMDB joints NaN in the first frame",
               ["eval.jhmdb", f"--jhmdb_root={jnan}", f"--results_dir={w}/x_jnan",
                "--method=identity"], "clear error", "must be finite"),
      rp.Probe(c5, "a missing video named once",
               ["colortrack.track", f"--video={w}/nosuch.mp4", f"--mask={mask}",
                f"--output_dir={w}/x_nosuch", "--method=flow"], "clear error",
               "nosuch.mp4: no such video"),
  ]
  for name, (root, message) in badja_variants.items():
    probes.append(rp.Probe(c5, f"BADJA: {name}",
                           ["eval.jhmdb", f"--jhmdb_root={root}",
                            f"--results_dir={root}_results", "--method=identity"],
                           "clear error", message))

  # --- 6. no hang -----------------------------------------------------------------------
  probes.append(rp.Probe(c6, "the cpu preset with --config.train.batch_size=100000",
                         ["train.train", "--config=colortrack/configs/cpu.py",
                          f"--config.data.train_pattern={w}/clips/*.tfrecord",
                          f"--workdir={w}/h_batch", "--config.train.batch_size=100000"],
                         "clear error", "batch_size=100000: one training step needs"))

  # --- 7. untrusted models: checked before a user's video is read -----------------------
  from tests import test_reliability_round2 as foreign  # pylint: disable=g-import-not-at-top
  for name, kwargs, message in (("grid", {}, "`embed` returned shape"),
                                ("float", {"dtype": "float32"}, "does not take uint8 frames"),
                                ("stride", {"stride": 3}, "stride 3")):
    path = foreign._foreign_savedmodel(f"{w}/foreign_{name}", **kwargs)  # pylint: disable=protected-access
    probes.append(rp.Probe(c7, f"foreign SavedModel ({name})",
                           track + [f"--output_dir={w}/m_{name}", f"--model={path}"],
                           "clear error", message))
  return probes, [user] + glob.glob(f"{w}/u_*"), datasets
