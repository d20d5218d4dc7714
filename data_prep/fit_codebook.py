r"""Fits the k-means colour codebook (Lab ab, 16 clusters) over a whole dataset.

Example:
  python -m data_prep.fit_codebook --input=../shared/data/unlabeled/videos \
      --output=/tmp/codebook.npz

Samples ab values from every source at 1 frame/s into a bounded reservoir, so
memory does not grow with the dataset. Bad videos are reported and skipped.
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
cli_app.require_positive("frame_folder_fps")
flags.mark_flags_as_required(["input", "output"])


def main(argv):
  del argv
  codebook = tfrecord_builder.fit_codebook(
      _INPUT.value, _OUTPUT.value, num_clusters=_NUM_CLUSTERS.value,
      capacity=_MAX_SAMPLES.value, seed=_SEED.value,
      frame_folder_fps=_FRAME_FOLDER_FPS.value)
  logging.info("wrote %s: %d clusters, sha %s", _OUTPUT.value, codebook.num_clusters,
               codebook.sha)


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
