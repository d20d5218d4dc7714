r"""Writes the synthetic video dataset (the embedded default: no download needed).

Example:
  python -m data_prep.make_synthetic --output_dir=/tmp/synthetic --num_videos=8

Writes videos/*.mp4 (unlabeled training input), a DAVIS-2017 layout under davis/
(frames, palette masks) and keypoints/*.json; see colortrack/data/synthetic.py.
"""

from absl import flags
from absl import logging

from colortrack.cli import app as cli_app
from colortrack.data import synthetic

_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder to write the dataset into.")
_NUM_VIDEOS = flags.DEFINE_integer("num_videos", 8, "Number of videos.", lower_bound=1)
_NUM_FRAMES = flags.DEFINE_integer("num_frames", 48, "Frames per video.", lower_bound=1)
_HEIGHT = flags.DEFINE_integer("height", 128, "Frame height in pixels.", lower_bound=16)
_WIDTH = flags.DEFINE_integer("width", 160, "Frame width in pixels.", lower_bound=16)
_NUM_OBJECTS = flags.DEFINE_integer("num_objects", 3, "Objects per video (ids 1..254).",
                                    lower_bound=1, upper_bound=254)
_SEED = flags.DEFINE_integer("seed", 0, "Dataset seed; same seed, same videos.")
flags.mark_flags_as_required(["output_dir"])


def main(argv):
  del argv
  names = synthetic.write_dataset(
      _OUTPUT_DIR.value, num_videos=_NUM_VIDEOS.value, seed=_SEED.value,
      num_frames=_NUM_FRAMES.value, height=_HEIGHT.value, width=_WIDTH.value,
      num_objects=_NUM_OBJECTS.value)
  logging.info("wrote %d synthetic videos to %s", len(names), _OUTPUT_DIR.value)


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
