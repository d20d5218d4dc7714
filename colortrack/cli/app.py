"""Running a colortrack binary: one line for a user's error, a traceback only for bugs.

    from colortrack.cli import app as cli_app
    ...
    if __name__ == "__main__":
      cli_app.run(main)

`run` parses the flags (a misspelt `--config.x` or a bad flag value is one line),
then calls `main`; an `errors.UserError` raised anywhere below (bad file, bad
setting, unwritable output) is logged as its one-line message with exit status 1.

Binaries print their own progress and results; libraries stay quiet
(`colortrack.cli.quiet`, in effect once any `colortrack.cli` module is
imported; `--library_logs` brings their output back).
"""

import os
import sys
from typing import Callable, List

from absl import app
from absl import flags
from absl import logging

from colortrack import errors


def require_positive(*names: str) -> None:
  """Registers for each float flag in `names` a check: a finite number > 0 (NaN fails;
  absl's lower_bound lets NaN through). A failure is one line naming the flag."""
  import math  # pylint: disable=g-import-not-at-top
  for name in names:
    flags.register_validator(
        name, lambda value: value is None or (math.isfinite(value) and value > 0),
        message="must be a finite number > 0")


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
      if getattr(e, "exit_at_once", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # pylint: disable=protected-access
      sys.exit(1)

  module = getattr(main, "__module__", "__main__")
  if module != "__main__":
    # A console script: absl's --helpshort lists the flags of sys.argv[0], here the
    # generated wrapper; make the binary's own (and adopted) flags that script's.
    for flag in flags.FLAGS.get_key_flags_for_module(module):
      flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
  app.run(guarded, flags_parser=parse_flags)
