r"""A picture of the learned embedding: its first 3 principal components as RGB.

Example:
  python -m eval.embedding_pca --image=../shared/data/davis2016/JPEGImages/480p/blackswan/00000.jpg \
      --output=/tmp/pca.png

Writes the frame and its embedding's PCA colours side by side (PNG).
"""

import cv2
import numpy as np
from absl import flags
from absl import logging

from colortrack import errors
from colortrack.cli import app as cli_app
from colortrack.cli import tracking_flags
from colortrack.evaluation import analysis
from colortrack.inference import embedder
from colortrack.utils import annotate
from colortrack.utils import files

# The shared tracking flags (--model, --radius, ...) are this binary's own: --helpshort lists them.
flags.adopt_module_key_flags(tracking_flags)

_IMAGE = flags.DEFINE_string("image", None, "A frame (jpg/png).")
_OUTPUT = flags.DEFINE_string("output", None, "PNG to write.")
flags.mark_flags_as_required(["image", "output"])


def main(argv):
  del argv
  files.check_output_file(_OUTPUT.value, "--output image", inputs=[_IMAGE.value])
  bgr = cv2.imread(_IMAGE.value, cv2.IMREAD_COLOR)
  if bgr is None:
    raise errors.UserError(f"{_IMAGE.value}: unreadable image")
  model = embedder.load(tracking_flags.model_path(), tracking_flags.NETWORK_PRECISION.value)
  rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
  picture = analysis.pca_image(model(rgb[None])[0])
  height, width = rgb.shape[:2]
  up = np.repeat(np.repeat(picture, model.stride, 0), model.stride, 1)[:height, :width]
  panel = annotate.with_caption(
      np.concatenate([rgb, up], axis=1),
      f"left: the frame; right: the first 3 principal components of its {picture.shape[1]}x"
      f"{picture.shape[0]} embedding grid as RGB (similar colour = similar features)")
  with files.atomic_output(_OUTPUT.value) as tmp_path:
    ok, buffer = cv2.imencode(".png", cv2.cvtColor(panel, cv2.COLOR_RGB2BGR))
    with open(tmp_path, "wb") as f:
      f.write(buffer.tobytes())
  logging.info("wrote %s (%dx%d frame, %dx%d embedding grid)", _OUTPUT.value, width, height,
               picture.shape[1], picture.shape[0])


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
