"""Shared pytest setup: quiet TensorFlow, and the path to ../shared if present."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags  # pylint: disable=g-import-not-at-top,wrong-import-position

# absltest helpers (create_tempdir, ...) read flags; under pytest nobody parses them.
flags.FLAGS.mark_as_parsed()


@pytest.hookimpl(trylast=True)  # after pytest's tmpdir plugin has set up its factory
def pytest_configure(config):
  # Class fixtures (testing_utils.make_temp_dir) and absltest's create_tempdir write
  # under pytest's own temp dir, which pytest prunes, instead of leaving folders in /tmp.
  base = config._tmp_path_factory.getbasetemp()  # pylint: disable=protected-access
  # (with a trailing separator: TensorFlow's GetTempDir uses it as a mkdtemp prefix.)
  os.environ["TEST_TMPDIR"] = os.path.join(str(base), "")


def pytest_collection_modifyitems(items):
  # tf.test.TestCase defines a deprecated `test_session` context manager that
  # pytest collects and reports as skipped; it is not a test.
  items[:] = [item for item in items if item.name != "test_session"]
  # The long end-to-end tests first, so that parallel workers (make test: -n auto)
  # do not end with one of them running alone.
  items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def synthetic_clips(tmp_path_factory):
  """TFRecord glob of ~24 clips of 32x32 synthetic video (built once per test session)."""
  from tests import test_training  # pylint: disable=g-import-not-at-top
  return test_training.build_synthetic_clips(str(tmp_path_factory.mktemp("clips")))


@pytest.fixture(scope="session")
def tiny_workdir(synthetic_clips, tmp_path_factory):
  """A `tiny` training workdir after 2 steps on `synthetic_clips` (tests only read it)."""
  from colortrack.training import trainer  # pylint: disable=g-import-not-at-top
  from tests import test_training  # pylint: disable=g-import-not-at-top
  workdir = str(tmp_path_factory.mktemp("tiny") / "run")
  trainer.train(test_training.tiny_config(synthetic_clips, num_steps=2, checkpoint_every=2),
                workdir)
  return workdir
