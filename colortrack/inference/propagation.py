"""Label propagation with the pointer, in TensorFlow, for any number of locations.

`propagate` is what tracking and the exported SavedModel run: the pointer of
`colortrack.modeling.layers.Pointer`, with dynamic shapes, memory bounded by
chunking over target locations, and optional top-k sparsification.
"""

import tensorflow as tf


def propagate(target, references, reference_labels, temperature, chunk_size: int = 4096,
              top_k: int = 0):
  """Copies labels from reference locations to target locations.

  target `[N, D]`, references `[M, D]`, reference_labels `[M, C]`, temperature
  scalar. Returns `[N, C]` = softmax(target . references^T / temperature)
  @ labels, with the softmax restricted to each row's `top_k` largest
  affinities when `top_k > 0`. Affinity memory is `chunk_size x M` at a time.
  """
  target = tf.convert_to_tensor(target, tf.float32)
  references = tf.convert_to_tensor(references, tf.float32)
  reference_labels = tf.convert_to_tensor(reference_labels, tf.float32)
  temperature = tf.cast(temperature, tf.float32)
  num_targets = tf.shape(target)[0]
  num_chunks = (num_targets + chunk_size - 1) // chunk_size
  padded = tf.pad(target, [[0, num_chunks * chunk_size - num_targets], [0, 0]])
  chunks = tf.reshape(padded, [num_chunks, chunk_size, tf.shape(target)[1]])

  def one_chunk(chunk):
    logits = tf.matmul(chunk, references, transpose_b=True) / temperature
    if top_k > 0:
      k = tf.minimum(top_k, tf.shape(references)[0])
      values, indices = tf.math.top_k(logits, k=k)
      weights = tf.nn.softmax(values, axis=-1)
      return tf.einsum("nk,nkc->nc", weights, tf.gather(reference_labels, indices))
    return tf.matmul(tf.nn.softmax(logits, axis=-1), reference_labels)

  labels = tf.map_fn(one_chunk, chunks,
                     fn_output_signature=tf.TensorSpec([chunk_size, None], tf.float32))
  return tf.reshape(labels, [-1, tf.shape(reference_labels)[1]])[:num_targets]
