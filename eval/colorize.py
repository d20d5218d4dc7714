r"""Colorizes the gray frames of a video from its first (colour) frame: the paper's Fig. 4.

Example:
  python -m eval.colorize --video=../shared/data/davis2016/JPEGImages/480p/blackswan \
      --output_dir=/tmp/colorize

Writes colorize.mp4 and every --image_every-th frame as PNG (gray | colorized |
truth), and prints the mean ab error (Lab units) over frames 1..T-1.
"""

import os
import sys

import cv2
import numpy as np
from absl import app
from absl import flags
from absl import logging

from colortrack import tracking_flags
from colortrack.data import video_io
from colortrack.evaluation import colorize
from colortrack.inference import embedder
from colortrack.utils import files
from colortrack.utils import progress as progress_lib

_VIDEO = flags.DEFINE_string("video", None, "Video file or folder of frames.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for images, video and scores.")
_IMAGE_EVERY = flags.DEFINE_integer("image_every", 10, "Write every n-th panel as PNG.")
flags.mark_flags_as_required(["video", "output_dir"])


def main(argv):
  del argv
  try:
    model = embedder.load(tracking_flags.MODEL.value, tracking_flags.BFLOAT16.value)
    tracker = colorize.make_colorizer(model, tracking_flags.overrides())
    source = video_io.source_from_path(_VIDEO.value)
    total, fps = video_io.frame_count_and_fps(source)
    frames = video_io.rgb_frames(source)
    errors = []
    writer = None
    os.makedirs(_OUTPUT_DIR.value, exist_ok=True)
    video_path = os.path.join(_OUTPUT_DIR.value, "colorize.mp4")
    tmp_video = os.path.join(_OUTPUT_DIR.value, ".colorize.tmp.mp4")
    progress = progress_lib.Progress("colorize", total, unit="frames")
    for index, (panel, error) in enumerate(colorize.colorize(tracker, frames)):
      if writer is None:
        writer = cv2.VideoWriter(tmp_video, cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                 (panel.shape[1], panel.shape[0]))
      writer.write(cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
      if index % _IMAGE_EVERY.value == 0:
        with files.atomic_output(os.path.join(_OUTPUT_DIR.value, f"{index:05d}.png")) as tmp:
          cv2.imwrite(tmp + ".png", cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
          os.replace(tmp + ".png", tmp)
      if index:
        errors.append(float(error.mean()))
      progress.update(1)
  except (video_io.VideoReadError, embedder.ModelLoadError) as e:
    logging.error("%s", e)
    sys.exit(1)
  if writer is not None:
    writer.release()
    os.replace(tmp_video, video_path)
  result = {"video": _VIDEO.value, "frames": len(errors) + 1,
            "mean_ab_error": float(np.mean(errors)) if errors else 0.0}
  files.write_json_atomic(os.path.join(_OUTPUT_DIR.value, "colorize.json"), result)
  logging.info("mean ab error %.2f (Lab units) over %d frames; %s", result["mean_ab_error"],
               len(errors), video_path)


if __name__ == "__main__":
  app.run(main)
