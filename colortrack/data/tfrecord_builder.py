"""Beam-free, resumable, sharded TFRecord builder for Lab-quantized clips.

Scale-out: the sorted list of sources is split round-robin into `num_shards`
shards (source i goes to shard i mod num_shards). Any scheduler can run
`--shard_index=I` on many machines; within a machine `workers` processes take
shards from a queue. One shard is one TFRecord file written to a temp name and
renamed when complete, followed by a per-shard manifest; a shard whose manifest
exists is finished and is skipped on a re-run, so a killed job resumes where it
stopped and never leaves a half-written shard behind.
"""

import collections
import concurrent.futures
import contextlib
import dataclasses
import glob
import hashlib
import logging
import multiprocessing
import os
import time
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from colortrack import errors
from colortrack.data import clips as clips_lib
from colortrack.data import codebook as codebook_lib
from colortrack.data import color
from colortrack.data import schema
from colortrack.data import video_io
from colortrack.utils import files
from colortrack.utils import progress as progress_lib

MANIFEST_VERSION = 1


class BuildError(errors.UserError):
  """The whole build cannot go on (bad output dir, codebook, or no input)."""


class OutputWriteError(BuildError):
  """Writing a shard failed (disk full, I/O error): fatal for that shard, never a bad video."""


@dataclasses.dataclass(frozen=True)
class BuildConfig:
  input_spec: str
  codebook_path: str
  output_dir: str
  fps: float = 6.0
  size: int = 256
  clip_len: int = 4
  clip_stride: int = 0  # 0: clip_len (non-overlapping clips)
  num_shards: int = 0  # 0: min(number of sources, 16)
  # None: every shard; an index, or a job array's share: "0-3,7" (ranges and lists).
  shard_index: Optional[Union[int, str]] = None
  workers: int = 1
  frame_folder_fps: float = 24.0  # DAVIS frames are 24 fps
  max_gray_frames: int = 300  # frames without chroma before a video counts as gray
  listing: Optional[str] = None  # a file keeping the source list (video_io.find_sources)

  @property
  def stride(self) -> int:
    return self.clip_stride or self.clip_len

  def clip_params(self) -> Dict[str, Any]:
    """What must match for a shard written earlier to be reused."""
    return {"fps": self.fps, "size": self.size, "clip_len": self.clip_len,
            "clip_stride": self.stride, "frame_folder_fps": self.frame_folder_fps}


@dataclasses.dataclass
class BuildSummary:
  num_shards: int
  shards_written: int
  shards_reused: int
  clips_written: int  # by this run
  clips_total: int  # in the finished shards this run was responsible for
  source_frames: int  # decoded by this run
  seconds: float
  skipped: Dict[str, str]  # source path -> reason, for this run's shards
  manifest_path: Optional[str]  # the merged manifest once every shard is done


def _sources_digest(sources: Sequence[video_io.VideoSource]) -> str:
  return hashlib.sha256("\n".join(s.path for s in sources).encode()).hexdigest()[:16]


def assign_shards(sources: Sequence[video_io.VideoSource],
                  num_shards: int) -> List[List[video_io.VideoSource]]:
  return [list(sources[i::num_shards]) for i in range(num_shards)]


def _warn(path: str, reason: str) -> None:
  logging.warning("%s: %s; skipped", path, reason)


def encode_source(source: video_io.VideoSource, config: BuildConfig,
                  codebook: codebook_lib.Codebook, write) -> Dict[str, Any]:
  """Writes the clips of one source through `write(bytes)`; returns its manifest entry.

  Never raises for a bad source: the reason goes into the entry and a warning.
  """
  entry = {"path": source.path, "clips": 0, "source_frames": 0, "frames_used": 0}
  reader = video_io.FrameReader(source, config.fps, config.frame_folder_fps)
  pending = []  # clips seen before the first frame with chroma
  seen_chroma = False
  try:
    prepared = clips_lib.prepared_frames(reader, config.size, codebook)
    for clip in clips_lib.group_clips(prepared, config.clip_len, config.stride):
      pending.append(clip)
      if not seen_chroma:
        if any(f.has_chroma for f in clip):
          seen_chroma = True
        elif reader.frames_kept > config.max_gray_frames:
          break
        else:
          continue
      for ready in pending:
        write(clips_lib.encode_clip(ready, source.path, entry["clips"], config.fps,
                                    config.size, codebook))
        entry["clips"] += 1
      pending = []
  except OutputWriteError:
    raise  # the output's fault, not the video's
  except video_io.VideoReadError as e:
    entry["reason"] = str(e)
  except Exception as e:  # pylint: disable=broad-except
    # One bad video must not stop a run over thousands: report and go on.
    entry["reason"] = f"{type(e).__name__}: {e}"
  entry["source_frames"] = reader.frames_decoded
  entry["frames_used"] = reader.frames_kept
  entry["source_fps"] = reader.source_fps
  if "reason" not in entry:
    if reader.frames_kept < config.clip_len:
      entry["reason"] = (f"video shorter than a clip: {reader.frames_kept} frame(s) at "
                         f"{config.fps:g} fps, a clip needs {config.clip_len}")
    elif not seen_chroma:
      entry["reason"] = "grayscale video (no chroma to learn from)"
  if "reason" in entry:
    if entry["clips"]:
      logging.warning("%s: stopped early after %d clips: %s", source.path,
                      entry["clips"], entry["reason"])
      entry["warning"] = entry.pop("reason")
    else:
      _warn(source.path, entry["reason"])
  entry["status"] = "ok" if entry["clips"] else "skipped"
  return entry


def build_shard(config: BuildConfig, shard_index: int, num_shards: int,
                sources: Sequence[video_io.VideoSource]) -> Dict[str, Any]:
  """Writes one shard (temp file + rename) and its manifest; returns the manifest."""
  codebook = codebook_lib.load(config.codebook_path)
  shard_path = os.path.join(config.output_dir, schema.shard_name(shard_index, num_shards))
  # Temp files of this shard left by a killed run (SIGKILL skips cleanup).
  for stale in glob.glob(os.path.join(config.output_dir,
                                      f".{schema.shard_name(shard_index, num_shards)}.*.tmp")):
    os.remove(stale)
  start = time.monotonic()
  entries = []

  def fail(what: str, error: BaseException) -> OutputWriteError:
    return OutputWriteError(f"{shard_path}: {what} failed ({errors.first_line(error)}); "
                            "the shard was not written")

  try:  # every write error of a shard (a full disk: also at the rename) is fatal for it
    with files.atomic_output(shard_path) as tmp_path:
      try:
        with open_record_writer(tmp_path) as writer:

          def write(record: bytes) -> None:
            try:
              writer.write(record)
            except Exception as e:  # pylint: disable=broad-except
              raise fail("writing", e) from e

          for source in sources:
            t0 = time.monotonic()
            entry = encode_source(source, config, codebook, write)
            entry["seconds"] = round(time.monotonic() - t0, 3)
            entries.append(entry)
            if entry["status"] == "ok":
              # Per source (the manifest keeps it too); shown with --verbosity=1.
              logging.debug("shard %d/%d: %s: %d clips from %d source frames (%.0f frames/s)",
                            shard_index, num_shards, source.path, entry["clips"],
                            entry["source_frames"],
                            entry["source_frames"] / max(entry["seconds"], 1e-6))
      except OutputWriteError:
        raise
      except Exception as e:  # pylint: disable=broad-except
        raise fail("closing", e) from e  # a full disk often shows only when buffers flush
      expected = sum(e["clips"] for e in entries)
      readable = count_records(tmp_path)
      if readable != expected:
        raise OutputWriteError(f"{shard_path}: {readable} of {expected} clips readable after "
                               "writing (disk full?); the shard was not written")
      size = os.path.getsize(tmp_path)
  except OutputWriteError:
    raise
  except (OSError, errors.OutputError) as e:
    raise fail("finishing", e) from e
  manifest = {
      "version": MANIFEST_VERSION,
      "shard": schema.shard_name(shard_index, num_shards),
      "shard_index": shard_index,
      "num_shards": num_shards,
      "codebook_sha": codebook.sha,
      "clip_params": config.clip_params(),
      "sources_digest": _sources_digest(sources),
      "clips": expected,
      "bytes": size,
      "seconds": round(time.monotonic() - start, 3),
      "sources": entries,
  }
  try:
    files.write_json_atomic(
        os.path.join(config.output_dir, schema.shard_manifest_name(shard_index, num_shards)),
        manifest)
  except (OSError, errors.OutputError) as e:
    raise fail("writing its manifest", e) from e
  return manifest


def open_record_writer(path: str):
  """The TFRecord writer of a shard (one place, so tests can inject write failures)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return tf.io.TFRecordWriter(path)


def count_records(path: str) -> int:
  """Records that read back whole (lengths and CRCs checked); -1 when the file is damaged."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  count = 0
  try:
    for _ in tf.data.TFRecordDataset(path, buffer_size=1 << 20):
      count += 1
  except (tf.errors.DataLossError, tf.errors.OutOfRangeError, tf.errors.InvalidArgumentError):
    return -1
  return count


def _read_json(path: str) -> Dict[str, Any]:
  import json  # pylint: disable=g-import-not-at-top
  with open(path) as f:
    return json.load(f)


def _check_reusable(manifest_path: str, manifest: Dict[str, Any], config: BuildConfig,
                    codebook: codebook_lib.Codebook,
                    sources: Sequence[video_io.VideoSource]) -> None:
  if manifest.get("codebook_sha") != codebook.sha:
    raise BuildError(
        f"{manifest_path}: shard was built with codebook {manifest.get('codebook_sha')}, "
        f"but {config.codebook_path} is {codebook.sha}; use a new --output_dir")
  if manifest.get("clip_params") != config.clip_params():
    raise BuildError(f"{manifest_path}: shard was built with {manifest.get('clip_params')}, "
                     f"this run asks for {config.clip_params()}; use a new --output_dir")
  if manifest.get("sources_digest") != _sources_digest(sources):
    raise BuildError(f"{manifest_path}: the inputs of this shard changed since it was "
                     "written; use a new --output_dir or the same --input")


# One thread per library in each worker process: with one process per core,
# OpenCV/FFmpeg/BLAS thread pools only fight each other (measured: 2 workers
# with default threading were slower than 1 worker alone).
_SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                      "MKL_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
                      "TF_NUM_INTEROP_THREADS": "1"}


def _die_with_parent() -> None:
  """A worker ends when its parent does (kill -9 included): no orphan keeps writing."""
  import signal  # pylint: disable=g-import-not-at-top
  import threading  # pylint: disable=g-import-not-at-top
  parent = os.getppid()
  try:
    import ctypes  # pylint: disable=g-import-not-at-top
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
  except (OSError, AttributeError):
    pass  # not Linux: the watchdog below still ends the worker within a second

  def watchdog():
    while os.getppid() == parent:
      time.sleep(1.0)
    os._exit(1)  # pylint: disable=protected-access

  threading.Thread(target=watchdog, daemon=True).start()


def _init_worker() -> None:
  _die_with_parent()
  import cv2  # pylint: disable=g-import-not-at-top
  cv2.setNumThreads(1)
  logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
  logging.getLogger().setLevel(logging.INFO)


@contextlib.contextmanager
def _environment(overrides: Dict[str, str]):
  """Sets environment variables (inherited by spawned workers), then restores them."""
  saved = {k: os.environ.get(k) for k in overrides}
  os.environ.update(overrides)
  try:
    yield
  finally:
    for key, value in saved.items():
      if value is None:
        os.environ.pop(key, None)
      else:
        os.environ[key] = value


def merge_manifests(output_dir: str, num_shards: int) -> Optional[str]:
  """Writes `manifest.json` over all shards once every shard is finished."""
  shard_manifests = []
  for index in range(num_shards):
    path = os.path.join(output_dir, schema.shard_manifest_name(index, num_shards))
    if not os.path.exists(path):
      return None
    shard_manifests.append(_read_json(path))
  sources = [e for m in shard_manifests for e in m["sources"]]
  merged = {
      "version": MANIFEST_VERSION,
      "num_shards": num_shards,
      "shards": [m["shard"] for m in shard_manifests],
      "codebook_sha": shard_manifests[0]["codebook_sha"],
      "clip_params": shard_manifests[0]["clip_params"],
      "clips": sum(m["clips"] for m in shard_manifests),
      "sources_ok": sum(e["status"] == "ok" for e in sources),
      "sources_skipped": sum(e["status"] != "ok" for e in sources),
      "sources": sorted(sources, key=lambda e: e["path"]),
  }
  path = os.path.join(output_dir, schema.MANIFEST_NAME)
  files.write_json_atomic(path, merged)
  return path


def parse_shard_indices(spec: Union[int, str], num_shards: int) -> List[int]:
  """Shard indices of `spec`: 5, "5", "0-3" (inclusive) or "0-3,7,9-10"; sorted, unique.

  BuildError (one line) for a malformed spec or an index outside [0, num_shards).
  """
  indices = set()
  for part in str(spec).split(","):
    first, dash, last = part.strip().partition("-")
    try:
      low, high = int(first), int(last if dash else first)
    except ValueError:
      raise BuildError(f"--shard_index={spec}: expected indices and ranges, e.g. 0-3,7") from None
    if low > high or low < 0 or high >= num_shards:
      raise BuildError(f"--shard_index={spec}: {part.strip()} is outside [0, {num_shards})")
    indices.update(range(low, high + 1))
  return sorted(indices)


def build(config: BuildConfig) -> BuildSummary:
  """Builds (or resumes) the shards that `config` asks for; see module docstring."""
  try:
    files.check_not_inside(config.output_dir,
                           video_io.input_paths(config.input_spec) + [config.codebook_path],
                           "--output_dir")
    files.ensure_output_dir(config.output_dir, "--output_dir")
  except errors.OutputError as e:
    raise BuildError(str(e)) from e
  codebook = codebook_lib.load(config.codebook_path)
  sources = video_io.find_sources(config.input_spec, config.listing)
  if not sources:
    raise BuildError(f"{config.input_spec}: no video files or frame folders found")
  num_shards = config.num_shards or min(len(sources), 16)
  shards = assign_shards(sources, num_shards)
  wanted = (range(num_shards) if config.shard_index is None
            else parse_shard_indices(config.shard_index, num_shards))
  # Every name this run may write: a user's file there is refused before any work.
  files.check_replaceable_in(config.output_dir, [schema.MANIFEST_NAME] + [
      name(i, num_shards) for i in wanted
      for name in (schema.shard_name, schema.shard_manifest_name)], "--output_dir")
  files.claim_output_dir(config.output_dir)
  todo, reused = [], []
  for index in wanted:
    manifest_path = os.path.join(config.output_dir,
                                 schema.shard_manifest_name(index, num_shards))
    shard_path = os.path.join(config.output_dir, schema.shard_name(index, num_shards))
    if os.path.exists(manifest_path):
      manifest = _read_json(manifest_path)
      _check_reusable(manifest_path, manifest, config, codebook, shards[index])
      if manifest.get("bytes") is not None and (
          not os.path.exists(shard_path) or os.path.getsize(shard_path) != manifest["bytes"]):
        logging.warning("%s: missing or not the size its manifest says; written again",
                        shard_path)
        os.remove(manifest_path)
        todo.append(index)
        continue
      reused.append(manifest)
    else:
      todo.append(index)
  logging.info("%d sources in %d shards; this run: %d shard(s) to write, %d already done",
               len(sources), num_shards, len(todo), len(reused))

  start = time.monotonic()
  progress = progress_lib.Progress("videos", sum(len(shards[i]) for i in todo),
                                   unit="videos")
  written = []
  frames_done = 0

  def on_done(manifest):
    nonlocal frames_done
    written.append(manifest)
    frames_done += sum(e["source_frames"] for e in manifest["sources"])
    progress.update(len(manifest["sources"]), extra=(
        f"{manifest['shard']} done, {frames_done / max(progress.elapsed_s, 1e-6):.0f} "
        "source frames/s"), force=len(written) == 1)  # the first, then every 10 s

  if config.workers <= 1 or len(todo) <= 1:
    for index in todo:
      on_done(build_shard(config, index, num_shards, shards[index]))
  else:
    # spawn, not fork: workers import TensorFlow themselves, and forking a
    # process with TF's threads can deadlock.
    context = multiprocessing.get_context("spawn")
    with _environment(_SINGLE_THREAD_ENV), concurrent.futures.ProcessPoolExecutor(
        max_workers=config.workers, mp_context=context, initializer=_init_worker) as pool:
      futures = [pool.submit(build_shard, config, i, num_shards, shards[i]) for i in todo]
      for future in concurrent.futures.as_completed(futures):
        on_done(future.result())

  skipped = {e["path"]: e["reason"] for m in written for e in m["sources"]
             if e["status"] != "ok"}
  if skipped:
    reasons = collections.Counter(r.split(":")[0] for r in skipped.values())
    logging.warning("skipped %d source(s): %s", len(skipped),
                    "; ".join(f"{n} x {r}" for r, n in reasons.most_common()))
  summary = BuildSummary(
      num_shards=num_shards,
      shards_written=len(written),
      shards_reused=len(reused),
      clips_written=sum(m["clips"] for m in written),
      clips_total=sum(m["clips"] for m in written + reused),
      source_frames=frames_done,
      seconds=time.monotonic() - start,
      skipped=skipped,
      manifest_path=merge_manifests(config.output_dir, num_shards))
  logging.info("wrote %d clips in %d shard(s), reused %d shard(s); %d source frames in "
               "%.1f s (%.0f frames/s)", summary.clips_written, summary.shards_written,
               summary.shards_reused, summary.source_frames, summary.seconds,
               summary.source_frames / max(summary.seconds, 1e-6))
  return summary


def sample_ab(sources: Sequence[video_io.VideoSource], capacity: int = 200_000,
              sample_fps: float = 1.0, sample_size: int = 64, seed: int = 0,
              frame_folder_fps: float = 24.0,
              indices: Optional[Sequence[int]] = None) -> codebook_lib.ReservoirSampler:
  """Uniform sample of ab values over all frames at `sample_fps` (`indices`: only those
  sources of the listing, a task's part; the sample of each is the same either way).

  Frames are shrunk to `sample_size` first: k-means needs many frames, not many
  pixels of one frame, and memory stays at ~2 x `capacity` x 2 floats.
  """
  sampler = codebook_lib.ReservoirSampler(capacity, 2, seed)
  indices = range(len(sources)) if indices is None else list(indices)
  progress = progress_lib.Progress("codebook sampling", len(indices), unit="videos")
  for index in indices:
    source = sources[index]
    video_ab = []
    try:
      for frame in video_io.FrameReader(source, sample_fps, frame_folder_fps):
        small = clips_lib.resize_frame(frame.rgb, sample_size)
        video_ab.append(color.rgb_to_lab(small)[..., 1:].reshape(-1, 2))
    except video_io.VideoReadError as e:
      _warn(source.path, str(e))
    except Exception as e:  # pylint: disable=broad-except
      _warn(source.path, f"{type(e).__name__}: {e}")
    if video_ab:
      ab = np.concatenate(video_ab)
      if np.mean(np.hypot(ab[:, 0], ab[:, 1]) > clips_lib.CHROMA_THRESHOLD) > 0.01:
        sampler.add(ab, index)
      else:
        _warn(source.path, "grayscale video (no chroma to learn from)")
    progress.update(1)
  return sampler


def samples_part_path(samples_dir: str, task_index: int, num_tasks: int) -> str:
  return os.path.join(samples_dir, f"samples-{task_index:05d}-of-{num_tasks:05d}.npz")


def fit_codebook(input_spec: str, output_path: str, num_clusters: int = 16,
                 capacity: int = 200_000, seed: int = 0,
                 frame_folder_fps: float = 24.0,
                 listing: Optional[str] = None) -> codebook_lib.Codebook:
  """Samples every source and fits the codebook (one process)."""
  files.check_output_file(output_path, "--output codebook",
                          inputs=video_io.input_paths(input_spec))
  sources = video_io.find_sources(input_spec, listing)
  if not sources:
    raise BuildError(f"{input_spec}: no video files or frame folders found")
  sampler = sample_ab(sources, capacity=capacity, seed=seed,
                      frame_folder_fps=frame_folder_fps)
  return _fit_and_save(sampler, output_path, num_clusters, seed, input_spec, len(sources))


def _fit_and_save(sampler: codebook_lib.ReservoirSampler, output_path: str, num_clusters: int,
                  seed: int, input_spec: str, num_sources: int) -> codebook_lib.Codebook:
  samples = sampler.result()
  if not len(samples):
    raise BuildError(f"{input_spec}: no colour values sampled (every source unreadable or gray)")
  logging.info("fitting %d clusters on %d ab values sampled from %d values in %d sources",
               num_clusters, len(samples), sampler.seen, num_sources)
  codebook = codebook_lib.fit(samples, num_clusters, seed, info={
      "input": input_spec, "num_sources": num_sources, "values_seen": int(sampler.seen),
      "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
  codebook_lib.save(codebook, output_path)
  return codebook


def sample_codebook_part(input_spec: str, samples_dir: str, task_index: int, num_tasks: int,
                         capacity: int = 200_000, seed: int = 0, frame_folder_fps: float = 24.0,
                         listing: Optional[str] = None) -> str:
  """One task of a job array: samples sources task_index, task_index + num_tasks, ... and
  writes its part of the sample to `samples_dir` (`merge_codebook` fits from the parts)."""
  if not 0 <= task_index < num_tasks:
    raise BuildError(f"--task_index={task_index}: must be in [0, --num_tasks={num_tasks})")
  files.ensure_output_dir(samples_dir, "--samples_dir", claim=True)
  files.check_not_inside(samples_dir, video_io.input_paths(input_spec), "--samples_dir")
  sources = video_io.find_sources(input_spec, listing)
  if not sources:
    raise BuildError(f"{input_spec}: no video files or frame folders found")
  indices = range(task_index, len(sources), num_tasks)
  sampler = sample_ab(sources, capacity=capacity, seed=seed, frame_folder_fps=frame_folder_fps,
                      indices=indices)
  path = samples_part_path(samples_dir, task_index, num_tasks)
  with files.atomic_output(path) as tmp_path:
    with open(tmp_path, "wb") as f:
      np.savez(f, **sampler.state(), capacity=capacity, seed=seed, input=input_spec,
               num_sources=len(sources))
  logging.info("wrote %s: %d of %d values sampled from %d of %d sources", path,
               len(sampler.result()), sampler.seen, len(indices), len(sources))
  return path


def merge_codebook(samples_dir: str, output_path: str,
                   num_clusters: int = 16) -> codebook_lib.Codebook:
  """Merges every task's part in `samples_dir` and fits the codebook: the same codebook as
  `fit_codebook` in one process with the same input, seed and capacity."""
  parts = sorted(glob.glob(os.path.join(samples_dir, "samples-*-of-*.npz")))
  if not parts:
    raise BuildError(f"{samples_dir}: no samples-*-of-*.npz parts (run the tasks first)")
  counts = {int(os.path.basename(p).split("-of-")[1].split(".")[0]) for p in parts}
  if len(counts) != 1:
    raise BuildError(f"{samples_dir}: parts of job arrays of different sizes {sorted(counts)}")
  num_tasks = counts.pop()
  missing = [samples_part_path(samples_dir, i, num_tasks) for i in range(num_tasks)
             if samples_part_path(samples_dir, i, num_tasks) not in parts]
  if missing:
    raise BuildError(f"{missing[0]}: missing ({len(missing)} of {num_tasks} tasks' parts); "
                     "run those tasks first")
  files.check_output_file(output_path, "--output codebook", inputs=[samples_dir])
  merged, settings = None, None
  for path in parts:
    try:
      with np.load(path) as data:
        state = {k: data[k] for k in ("rows", "keys", "seen")}
        these = (int(data["capacity"]), int(data["seed"]), str(data["input"]),
                 int(data["num_sources"]))
    except (OSError, ValueError, KeyError) as e:
      raise BuildError(f"{path}: not a readable samples part ({errors.first_line(e)})") from e
    if settings is None:
      settings = these
      merged = codebook_lib.ReservoirSampler(these[0], 2, these[1])
    elif these != settings:
      raise BuildError(f"{path}: sampled with capacity/seed/input/sources {these}, the first "
                       f"part with {settings}; rerun every task with the same flags")
    merged.merge(state)
  _, seed, input_spec, num_sources = settings
  return _fit_and_save(merged, output_path, num_clusters, seed, input_spec, num_sources)
