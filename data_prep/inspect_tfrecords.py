r"""Writes a few stored clips as PNG strips: gray input, colours from codes, RGB.

Example:
  python -m data_prep.inspect_tfrecords --input='/tmp/clips/*.tfrecord' \
      --output_dir=/tmp/inspect
"""

from absl import flags
from absl import logging

from colortrack.cli import app as cli_app
from colortrack.data import inspect

_INPUT = flags.DEFINE_string("input", None, "Glob of TFRecord shards (comma-separated ok).")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for the PNG strips.")
_NUM_CLIPS = flags.DEFINE_integer("num_clips", 4, "How many clips to draw.", lower_bound=1)
flags.mark_flags_as_required(["input", "output_dir"])


def main(argv):
  del argv
  paths = inspect.write_strips(_INPUT.value, _OUTPUT_DIR.value, _NUM_CLIPS.value)
  logging.info("wrote %d strips: %s", len(paths),
               ", ".join(paths) if len(paths) <= 2 else f"{paths[0]} ... {paths[-1]}")


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
