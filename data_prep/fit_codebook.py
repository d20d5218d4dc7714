r"""Fits the k-means colour codebook (Lab ab, 16 clusters) over a whole dataset.

Example:
  python -m data_prep.fit_codebook --input=../shared/data/unlabeled/videos \
      --output=/tmp/codebook.npz

Samples ab values from every source at 1 frame/s into a bounded, mergeable sample,
so memory does not grow with the dataset. Bad videos are reported and skipped.

A job array of N tasks (each samples every N-th source), then one merge:
  python -m data_prep.fit_codebook --input=VIDEOS --samples_dir=/shared/samples \
      --num_tasks=4 --task_index=$TASK --listing=/shared/listing.json
  python -m data_prep.fit_codebook --merge --samples_dir=/shared/samples --output=codebook.npz
gives the codebook of one process over all of VIDEOS (same seed and --max_samples).
"""

from absl import flags
from absl import logging

from colortrack.cli import app as cli_app
from colortrack.data import tfrecord_builder

_INPUT = flags.DEFINE_string(
    "input", None, "Folder(s), files or glob patterns of videos / frame folders (comma-separated).")
_OUTPUT = flags.DEFINE_string("output", None, "Codebook file to write (.npz).")
_NUM_CLUSTERS = flags.DEFINE_integer("num_clusters", 16, "Number of colour clusters.",
                                     lower_bound=2)
_MAX_SAMPLES = flags.DEFINE_integer("max_samples", 200_000,
                                    "Reservoir size: ab values kept for k-means.",
                                    lower_bound=16)
_SEED = flags.DEFINE_integer("seed", 0, "Sampling and k-means seed.")
_FRAME_FOLDER_FPS = flags.DEFINE_float("frame_folder_fps", 24.0,
                                       "Frame rate of frame folders (DAVIS: 24).")
_NUM_TASKS = flags.DEFINE_integer("num_tasks", 1, "Tasks of a job array sampling the input "
                                  "(each writes its part to --samples_dir).", lower_bound=1)
_TASK_INDEX = flags.DEFINE_integer("task_index", 0, "This task's index in [0, --num_tasks).",
                                   lower_bound=0)
_SAMPLES_DIR = flags.DEFINE_string("samples_dir", None, "Folder of the tasks' sample parts.")
_MERGE = flags.DEFINE_bool("merge", False, "Fit --output from the parts in --samples_dir.")
_LISTING = flags.DEFINE_string("listing", None, "A file keeping the list of sources: written by "
                               "the first task that lists --input, read by every later one.")
cli_app.require_positive("frame_folder_fps")


def main(argv):
  del argv
  if _MERGE.value:
    if not _SAMPLES_DIR.value or not _OUTPUT.value:
      raise tfrecord_builder.BuildError("--merge needs --samples_dir and --output")
    codebook = tfrecord_builder.merge_codebook(_SAMPLES_DIR.value, _OUTPUT.value,
                                               num_clusters=_NUM_CLUSTERS.value)
  elif _NUM_TASKS.value > 1:
    if not _INPUT.value or not _SAMPLES_DIR.value:
      raise tfrecord_builder.BuildError("--num_tasks > 1 needs --input and --samples_dir "
                                        "(then --merge fits the codebook)")
    tfrecord_builder.sample_codebook_part(
        _INPUT.value, _SAMPLES_DIR.value, _TASK_INDEX.value, _NUM_TASKS.value,
        capacity=_MAX_SAMPLES.value, seed=_SEED.value,
        frame_folder_fps=_FRAME_FOLDER_FPS.value, listing=_LISTING.value)
    return
  else:
    if not _INPUT.value or not _OUTPUT.value:
      raise tfrecord_builder.BuildError("--input and --output are required")
    codebook = tfrecord_builder.fit_codebook(
        _INPUT.value, _OUTPUT.value, num_clusters=_NUM_CLUSTERS.value,
        capacity=_MAX_SAMPLES.value, seed=_SEED.value,
        frame_folder_fps=_FRAME_FOLDER_FPS.value, listing=_LISTING.value)
  logging.info("wrote %s: %d clusters, sha %s", _OUTPUT.value, codebook.num_clusters,
               codebook.sha)


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
