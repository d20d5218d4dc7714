"""TensorBoard event files of scalars and images, without TensorFlow (any Keras backend).

Uses the `tensorboard` package's event-file writer and protos, so a JAX run on a
machine without TensorFlow writes the same curves and pictures as a TF run.
Images are PNG-encoded uint8 RGB; `images(step, "copy/x", batch)` shows up in
TensorBoard as "copy/x/image/0", "copy/x/image/1", ...
"""

import time
from typing import Dict

import cv2
import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto import summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter


class SummaryWriter:
  """Appends events to `logdir` (created if needed)."""

  def __init__(self, logdir: str):
    self._writer = EventFileWriter(logdir)

  def _write(self, step: int, values) -> None:
    event = event_pb2.Event(wall_time=time.time(), step=int(step),
                            summary=summary_pb2.Summary(value=values))
    self._writer.add_event(event)

  def scalars(self, step: int, values: Dict[str, float]) -> None:
    self._write(step, [summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
                       for tag, value in values.items()])

  def images(self, step: int, tag: str, images: np.ndarray) -> None:
    """uint8 RGB `[N, H, W, 3]`."""
    values = []
    for index, image in enumerate(np.asarray(images, np.uint8)):
      ok, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
      if not ok:
        raise ValueError(f"{tag}: image {index} could not be PNG-encoded")
      values.append(summary_pb2.Summary.Value(
          tag=f"{tag}/image/{index}",
          image=summary_pb2.Summary.Image(height=image.shape[0], width=image.shape[1],
                                          colorspace=3, encoded_image_string=png.tobytes())))
    self._write(step, values)

  def flush(self) -> None:
    self._writer.flush()

  def close(self) -> None:
    self._writer.close()
