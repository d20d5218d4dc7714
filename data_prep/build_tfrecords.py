r"""Builds sharded TFRecords of Lab-quantized training clips, without Apache Beam.

Example (one machine, 2 processes):
  python -m data_prep.build_tfrecords --input=../shared/data/unlabeled/videos \
      --codebook=/tmp/codebook.npz --output_dir=/tmp/clips --workers=2

Scale-out: run the same command on N machines with --num_shards=S and
--shard_index=0..S-1 (each writes only its shard), or a job array of fewer tasks
each taking a range (--num_shards=64 --shard_index=0-15, 16-31, ...; lists like
0-3,9 too); whichever task finishes the last shard writes manifest.json. With
--listing=FILE (on the shared file system) the first task lists the input tree
and writes FILE, and every other task reads it instead of listing again. Re-running skips finished
shards; an interrupted shard is rewritten (temp file + rename). manifest.json
lists every source with its clips or the reason it was skipped.
Exits non-zero only when nothing could be written.
"""

from absl import flags
from absl import logging

from colortrack.cli import app as cli_app
from colortrack.data import tfrecord_builder

_INPUT = flags.DEFINE_string(
    "input", None, "Folder(s), files or glob patterns of videos / frame folders (comma-separated).")
_CODEBOOK = flags.DEFINE_string("codebook", None, "Codebook from data_prep.fit_codebook.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for shards and manifests.")
_FPS = flags.DEFINE_float("fps", 6.0, "Target frame rate of clips (paper: 6).")
_SIZE = flags.DEFINE_integer("size", 256, "Frames are resized to size x size.", lower_bound=16)
_CLIP_LEN = flags.DEFINE_integer("clip_len", 4, "Frames per clip (3 references + 1 target).",
                                  lower_bound=2)
_CLIP_STRIDE = flags.DEFINE_integer("clip_stride", 0, "Frames between clip starts; 0: clip_len.",
                                     lower_bound=0)
_NUM_SHARDS = flags.DEFINE_integer("num_shards", 0, "Total shards; 0: min(#sources, 16).",
                                    lower_bound=0)
_SHARD_INDEX = flags.DEFINE_string("shard_index", None, "Write only these shards: an index, or "
                                   "ranges and lists for a job array's task, e.g. 0-3,7 "
                                   "(default: all).")
_WORKERS = flags.DEFINE_integer("workers", 1, "Processes on this machine.", lower_bound=1)
_LISTING = flags.DEFINE_string("listing", None, "A file keeping the list of sources: written by "
                               "the first task that lists --input, read by every later one.")
_FRAME_FOLDER_FPS = flags.DEFINE_float("frame_folder_fps", 24.0,
                                       "Frame rate of frame folders (DAVIS: 24).")
cli_app.require_positive("fps", "frame_folder_fps")
flags.mark_flags_as_required(["input", "codebook", "output_dir"])


def main(argv):
  del argv
  config = tfrecord_builder.BuildConfig(
      input_spec=_INPUT.value, codebook_path=_CODEBOOK.value, output_dir=_OUTPUT_DIR.value,
      fps=_FPS.value, size=_SIZE.value, clip_len=_CLIP_LEN.value,
      clip_stride=_CLIP_STRIDE.value, num_shards=_NUM_SHARDS.value,
      shard_index=_SHARD_INDEX.value, workers=_WORKERS.value,
      frame_folder_fps=_FRAME_FOLDER_FPS.value, listing=_LISTING.value)
  summary = tfrecord_builder.build(config)
  if summary.clips_total == 0:
    raise tfrecord_builder.BuildError(f"{_INPUT.value}: no clips could be written")
  if summary.manifest_path:
    logging.info("all %d shards done; manifest: %s", summary.num_shards, summary.manifest_path)


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
