r"""Do tracking failures coincide with colorization failures? (the paper's sec. 5 analysis)

Example (after eval.davis --method=model wrote RESULTS_DIR):
  python -m eval.failures --davis_root=../shared/data/davis2016 --results_dir=/tmp/davis_model

Per evaluated frame and object: tracking failed when J < --j_threshold;
colorization failed when the ab error (copying colours from frame 0 with the
same model) inside the object's true mask is above the median of all such
errors. Prints the 2x2 table and the odds ratio, and writes them to failures.json.
RESULTS_DIR must hold complete eval.davis predictions of the same --model.
"""

import os

import numpy as np
from absl import flags
from absl import logging

from colortrack.cli import app as cli_app
from colortrack.cli import tracking_flags
from colortrack.data import video_io
from colortrack.evaluation import analysis
from colortrack.evaluation import colorize
from colortrack.evaluation import davis
from colortrack.evaluation import results_record
from colortrack.inference import embedder
from colortrack.utils import files
from colortrack.utils import progress as progress_lib

# The shared tracking flags (--model, --radius, ...) are this binary's own: --helpshort lists them.
flags.adopt_module_key_flags(tracking_flags)

_DAVIS_ROOT = flags.DEFINE_string("davis_root", None, "DAVIS folder.")
_RESULTS_DIR = flags.DEFINE_string("results_dir", None, "eval.davis predictions of the model.")
_SEQUENCES = flags.DEFINE_list("sequences", [], "Sequences (default: all).")
_J_THRESHOLD = flags.DEFINE_float("j_threshold", 0.5, "J below this is a tracking failure.")
flags.mark_flags_as_required(["davis_root", "results_dir"])


FAILURES_NAME = "failures.json"

def main(argv):
  del argv
  files.check_replaceable_in(_RESULTS_DIR.value, [FAILURES_NAME], "--results_dir")
  model = embedder.load(tracking_flags.model_path(), tracking_flags.NETWORK_PRECISION.value)
  colorizer = colorize.make_colorizer(model, tracking_flags.overrides())
  sequences = _SEQUENCES.value or davis.list_sequences(_DAVIS_ROOT.value)
  davis.check_sequences(_DAVIS_ROOT.value, sequences)
  producer = results_record.check_complete(_RESULTS_DIR.value, sequences)
  if producer and producer.get("model_fingerprint") != model.fingerprint:
    raise results_record.ResultsError(
        f"{_RESULTS_DIR.value}: predictions of {results_record.describe(producer)}, but "
        f"--model is {model.path} (fingerprint {model.fingerprint[:8]}); use the same model")
  total = sum(len(video_io.list_frame_files(davis.frame_dir(_DAVIS_ROOT.value, s))[0])
              for s in sequences)
  progress = progress_lib.Progress("colorize", total, unit="frames")
  j_values, colour_errors = [], []
  for sequence in sequences:
    gt, pred = davis.load_sequence(_DAVIS_ROOT.value, _RESULTS_DIR.value, sequence)
    source = video_io.source_from_path(davis.frame_dir(_DAVIS_ROOT.value, sequence))
    errors = []
    for _, error in colorize.colorize(colorizer, video_io.rgb_frames(source)):
      errors.append(error)
      progress.update(1, extra=sequence)
    for scores in davis.score_sequence(sequence, gt, pred):
      object_id = int(scores.name.rsplit("_", 1)[1])
      for t, j in enumerate(scores.j, start=1):  # J skips the first frame
        region = gt[t] == object_id
        if region.any():
          j_values.append(j)
          colour_errors.append(float(errors[t][region].mean()))
  colour_errors = np.array(colour_errors)
  threshold = float(np.median(colour_errors))
  result = analysis.odds_ratio(np.array(j_values) < _J_THRESHOLD.value, colour_errors > threshold)
  result.update(frames=len(j_values), j_threshold=_J_THRESHOLD.value,
                ab_error_threshold=threshold)
  files.write_json_atomic(os.path.join(_RESULTS_DIR.value, FAILURES_NAME), result)
  print(analysis.format_table(result))
  logging.info("odds ratio %.2f (95%% CI %.2f-%.2f) over %d frame-objects", result["odds_ratio"],
               result["ci95_low"], result["ci95_high"], len(j_values))


def run():
  """Console entry point (pyproject.toml [project.scripts])."""
  cli_app.run(main)


if __name__ == "__main__":
  run()
