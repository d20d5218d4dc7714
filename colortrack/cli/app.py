"""Running a colortrack binary: one line for a user's error, a traceback only for bugs.

    from colortrack.cli import app as cli_app
    ...
    if __name__ == "__main__":
      cli_app.run(main)

`run` parses the flags (a misspelt `--config.x` or a bad flag value is one line),
then calls `main`; an `errors.UserError` raised anywhere below (bad file, bad
setting, unwritable output) is logged as its one-line message with exit status 1.

Binaries print their own progress and results; libraries stay quiet. Importing
this module (binaries import it before the library) silences what TensorFlow
prints while it loads (oneDNN and absl::InitializeLog banners, tensorflow-io's
plug-in warnings) and its C++ and Python logs below errors.
`--library_logs` brings all of it back.
"""

import contextlib
import importlib.abc
import importlib.machinery
import logging as python_logging
import os
import sys
import warnings
from typing import Callable, List

from absl import app
from absl import flags
from absl import logging

from colortrack import errors

LIBRARY_LOGS = flags.DEFINE_bool("library_logs", False, "Show the libraries' own logs "
                                 "(TensorFlow's banners and info lines), hidden by default.")
_QUIET_MODULES = ("tensorflow", "tensorflow_io")


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


class _QuietImporter(importlib.abc.MetaPathFinder):
  """Imports TensorFlow and tensorflow-io with stderr silenced (an exception still shows)."""

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

    spec.loader.exec_module = quiet_exec_module
    return spec


def _quiet_libraries() -> None:
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
  if not any(m in sys.modules for m in _QUIET_MODULES):
    sys.meta_path.insert(0, _QuietImporter())
  warnings.filterwarnings("ignore", module="tensorflow_io")
  warnings.filterwarnings("ignore", category=DeprecationWarning)
  for name in ("tensorflow", "jax._src.xla_bridge", "absl.testing"):
    python_logging.getLogger(name).setLevel(python_logging.ERROR)


if "--library_logs" not in sys.argv and "--library_logs=true" not in sys.argv:
  _quiet_libraries()


def _flag_error(message: str) -> None:
  sys.stderr.write(f"error: {message}\n"
                   f"Pass --helpshort or --helpfull to see help on flags.\n")
  sys.exit(1)


def parse_flags(argv: List[str]) -> List[str]:
  """absl's flag parsing with config-override errors reduced to one line."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    _flag_error(errors.first_line(e))
  except (KeyError, AttributeError, TypeError, ValueError) as e:
    # ml_collections' config overrides: "'trian'\nDid you mean "train" instead of "trian"?"
    text = " ".join(str(e.args[0] if e.args else e).strip("'\"").split())
    text = text.replace("\\'", "'").replace("\\n", " ").strip("'\" ")
    flag = next((a.split("=")[0] for a in argv[1:] if a.startswith("--config.")
                 and text.split()[0].strip("'") in a), "a --config override")
    _flag_error(f"{flag}: no such config field or bad value ({text})")
  return argv


def run(main: Callable[[List[str]], None]) -> None:
  """`absl.app.run(main)`, printing a UserError as one line with exit status 1."""

  def guarded(argv):
    try:
      return main(argv)
    except errors.UserError as e:
      logging.error("%s", errors.first_line(e))
      sys.exit(1)

  app.run(guarded, flags_parser=parse_flags)
