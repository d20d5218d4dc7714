"""The method contract: a third method, written here alone, trains, exports and tracks."""

import numpy as np
from keras import ops

from colortrack import serving
from colortrack.data import color
from colortrack.data import pipeline
from colortrack.data import synthetic
from colortrack.inference import trackers
from colortrack.methods import base
from colortrack.methods import colorization
from colortrack.methods import mast
from colortrack.methods import registry
from colortrack.modeling import colorizer
from colortrack.training import summaries
from colortrack.training import trainer
from tests import test_training


class MeanColour(base.Method):
  """A toy method: gray input; the pointer copies the references' RGB at cell centres; L1."""

  name = "toy_mean_rgb"
  color_space = "gray"
  input_keys = (pipeline.LIGHTNESS, pipeline.RGB)
  input_channels = 1

  def model_inputs(self, batch, training):
    return colorizer.gray_input(batch[pipeline.LIGHTNESS])

  def losses(self, model, batch, embeddings):
    s = self.stride
    rgb = batch[pipeline.RGB][:, :, s // 2::s, s // 2::s]
    predicted = colorizer.copy_to_target(model, embeddings, rgb)
    l1 = ops.mean(ops.abs(predicted - rgb[:, -1]), axis=(1, 2, 3))
    return {"loss": l1, "l1": l1, "prediction": predicted}

  def prediction_rgb(self, prediction, lightness):
    return (summaries.upsample_nearest(np.asarray(prediction), self.stride) * 255).astype(
        np.uint8)

  def serving_input(self, rgb):
    return colorizer.gray_input(color.rgb_to_lab_ops(rgb)[..., :1])


def test_registry_knows_the_builtins():
  from colortrack.configs import mast_pair, tiny  # pylint: disable=g-import-not-at-top
  assert isinstance(registry.get(tiny.get_config()), colorization.Colorization)
  assert isinstance(registry.get(mast_pair.get_config("tiny")), mast.Mast)


def test_a_third_method_trains_exports_and_tracks(synthetic_clips, tmp_path):
  registry.register(MeanColour)
  config = test_training.tiny_config(synthetic_clips, num_steps=2, image_summary_every=1)
  config.method = MeanColour.name
  workdir = str(tmp_path / "toy")
  metrics = trainer.train(config, workdir)
  assert np.isfinite(metrics["loss"]) and "l1" in metrics
  export_dir = str(tmp_path / "saved")
  module, _ = serving.export(trainer.restore_model(workdir), export_dir,
                             trainer.load_config(workdir))
  assert isinstance(module.method, MeanColour)
  video = synthetic.generate_video(0, num_frames=4, height=32, width=48)
  tracker = trackers.make_tracker("model", export_dir)
  masks = list(tracker.track_masks(iter(video.frames), video.masks[0]))
  assert len(masks) == 4 and masks[-1].shape == (32, 48)
