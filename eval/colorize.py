r"""Colorizes the gray frames of a video from its first (colour) frame: the paper's Fig. 4.

Example:
  python -m eval.colorize --video=../shared/data/davis2016/JPEGImages/480p/blackswan \
      --output_dir=/tmp/colorize

Writes colorize.mp4 (every frame: gray | colorized | truth), the panels of
frames 0, 10, 20, ... (--image_every) as PNG, and colorize.json; prints the
mean ab error (Lab units) over frames 1..T-1 (frame 0 is the colour reference).
"""

from absl import flags
from absl import logging

from colortrack.cli import app as cli_app
from colortrack.cli import tracking_flags
from colortrack.evaluation import colorize
from colortrack.inference import embedder

# The shared tracking flags (--model, --radius, ...) are this binary's own: --helpshort lists them.
flags.adopt_module_key_flags(tracking_flags)

_VIDEO = flags.DEFINE_string("video", None, "Video file or folder of frames.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for images, video and scores.")
_IMAGE_EVERY = flags.DEFINE_integer("image_every", 10, "Write every n-th panel as PNG.",
                                    lower_bound=1)
flags.mark_flags_as_required(["video", "output_dir"])


def main(argv):
  del argv
  model = embedder.load(tracking_flags.model_path(), tracking_flags.NETWORK_PRECISION.value)
  tracker = colorize.make_colorizer(model, tracking_flags.overrides())
  result = colorize.colorize_video(_VIDEO.value, _OUTPUT_DIR.value, tracker, _IMAGE_EVERY.value)
  logging.info("mean ab error %.2f (Lab units) over frames 1-%d (%d frames scored; frame 0 is "
               "the reference); %d PNG panels; %s", result["mean_ab_error"],
               result["frames"] - 1, result["scored_frames"], len(result["images"]),
               result["video_out"])


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
