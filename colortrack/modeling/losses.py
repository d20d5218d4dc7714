"""Losses and metrics of the colorization objective: pure functions returning dicts."""

from typing import Dict

from keras import ops

# Copied distributions are exact zeros where no reference has the code; the
# epsilon keeps the log finite (cost of a "miss" is capped at -log(1e-6) = 13.8).
_EPSILON = 1e-6


def colorization_loss(probabilities, target_codes, weights=None) -> Dict[str, object]:
  """16-way cross-entropy of the copied colour distribution against the true codes.

  probabilities `[B, h, w, K]` (each row sums to 1), target_codes `[B, h, w]`
  int. Returns per-example "loss" `[B]` (mean over locations), and "accuracy"
  `[B]` (argmax code == true code). Reduce over the batch outside, so that
  distributed training can divide by the global batch size.
  """
  num_clusters = probabilities.shape[-1]
  true_prob = ops.sum(probabilities * ops.one_hot(target_codes, num_clusters), axis=-1)
  nll = -ops.log(true_prob + _EPSILON)
  correct = ops.cast(ops.equal(ops.cast(ops.argmax(probabilities, axis=-1), "int32"),
                               ops.cast(target_codes, "int32")), "float32")
  if weights is not None:
    nll, correct = nll * weights, correct * weights
  return {"loss": ops.mean(nll, axis=(1, 2)), "accuracy": ops.mean(correct, axis=(1, 2))}
