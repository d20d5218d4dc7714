"""Shared pytest setup: quiet TensorFlow, and the path to ../shared if present."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position

# absltest helpers (create_tempdir, ...) read flags; under pytest nobody parses them.
flags.FLAGS.mark_as_parsed()


def pytest_collection_modifyitems(items):
  # tf.test.TestCase defines a deprecated `test_session` context manager that
  # pytest collects and reports as skipped; it is not a test.
  items[:] = [item for item in items if item.name != "test_session"]
