"""Libraries stay quiet in colortrack's binaries unless `--library_logs` is given.

Imported by `colortrack/cli/__init__.py`, so by any binary before the library:
TensorFlow's C++ code prints banners while it loads (oneDNN, cpu_feature_guard,
absl::InitializeLog) straight to file descriptor 2, ignoring
TF_CPP_MIN_LOG_LEVEL, and tensorflow-io warns about its plug-ins; both imports
run with descriptor 2 silenced (an import error still raises). Afterwards
TensorFlow's C++ and Python logs show errors only.
"""

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import sys
import warnings

from absl import flags

LIBRARY_LOGS = flags.DEFINE_bool("library_logs", False, "Show the libraries' own logs "
                                 "(TensorFlow's banners and info lines), hidden by default.")
_QUIET_MODULES = ("tensorflow", "tensorflow_io")
_QUIET_LOGGERS = ("tensorflow", "jax._src.xla_bridge", "absl.testing")
# Libraries that log info lines through absl's logger, the binaries' own.
_LIBRARY_PATHS = tuple(f"{os.sep}{name}{os.sep}" for name in (
    "tensorflow", "tensorflow_io", "keras", "jax", "jaxlib", "tensorboard", "ml_collections",
    "absl"))  # absl: records whose caller absl could not place


class _OwnInfoOnly(logging.Filter):
  """Info lines logged from the libraries above are dropped; warnings and errors pass."""

  def filter(self, record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or not any(
        part in record.pathname for part in _LIBRARY_PATHS)


@contextlib.contextmanager
def _stderr_silenced():
  """File descriptor 2 to /dev/null (C++ code writes there directly), then restored."""
  sys.stderr.flush()
  saved = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  os.close(devnull)
  try:
    yield
  finally:
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)


def _quiet_loggers() -> None:
  for name in _QUIET_LOGGERS:
    logging.getLogger(name).setLevel(logging.ERROR)


class _QuietImporter(importlib.abc.MetaPathFinder):
  """Imports TensorFlow and tensorflow-io with stderr silenced, then quiets their loggers."""

  def find_spec(self, fullname, path, target=None):
    if fullname not in _QUIET_MODULES:
      return None
    spec = importlib.machinery.PathFinder.find_spec(fullname, path)
    if spec is None or spec.loader is None:
      return None
    exec_module = spec.loader.exec_module

    def quiet_exec_module(module):
      with _stderr_silenced():
        exec_module(module)
      _quiet_loggers()  # TF sets up its logger while it loads

    spec.loader.exec_module = quiet_exec_module
    return spec


def _quiet_libraries() -> None:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  if not any(m in sys.modules for m in _QUIET_MODULES):
    sys.meta_path.insert(0, _QuietImporter())
  warnings.filterwarnings("ignore", module="tensorflow_io")
  warnings.filterwarnings("ignore", category=DeprecationWarning)
  _quiet_loggers()
  logging.getLogger("absl").addFilter(_OwnInfoOnly())


if "--library_logs" not in sys.argv and "--library_logs=true" not in sys.argv:
  _quiet_libraries()
