"""What the train binary settles from its command line before Keras is imported.

Keras fixes its backend at import time (`KERAS_BACKEND`), and the train binary
imports Keras with the library; so it calls `select_from_argv()` first, and
`--config.runtime.backend=jax` alone switches the run to JAX. `--config=NAME`
(a preset's name, e.g. `tiny` or `mast_pair:cpu`) is made the path of that
preset inside the installed package, so commands work from any folder.
"""

import os
import sys
from typing import List, Optional

FLAG = "--config.runtime.backend"
CONFIG_FLAG = "--config"
CONFIGS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "configs")


def resolve_config_names(argv: Optional[List[str]] = None) -> None:
  """Rewrites `--config=NAME[:ARG]` into the preset file's path (in place)."""
  argv = sys.argv if argv is None else argv
  for index, arg in enumerate(argv):
    if arg.startswith(CONFIG_FLAG + "="):
      name, sep, variant = arg.split("=", 1)[1].partition(":")
      if name and "/" not in name and not name.endswith(".py"):
        path = os.path.join(CONFIGS_DIR, f"{name}.py")
        if os.path.exists(path):
          argv[index] = f"{CONFIG_FLAG}={path}{sep}{variant}"
        elif not os.path.exists(name):  # neither a preset nor a file: one line, not a trace
          presets = sorted(n[:-3] for n in os.listdir(CONFIGS_DIR)
                           if n.endswith(".py") and not n.startswith("_") and n != "base.py")
          sys.stderr.write(f"error: {CONFIG_FLAG}={name}: no such preset or config file "
                           f"(presets: {', '.join(presets)})\n")
          sys.exit(1)


def select_from_argv(argv: Optional[List[str]] = None) -> Optional[str]:
  """Sets KERAS_BACKEND to the value of --config.runtime.backend, if given; returns it."""
  argv = sys.argv if argv is None else argv
  value = None
  for index, arg in enumerate(argv):
    if arg.startswith(FLAG + "="):
      value = arg.split("=", 1)[1]
    elif arg == FLAG and index + 1 < len(argv):
      value = argv[index + 1]
  if value:
    if "keras" in sys.modules and os.environ.get("KERAS_BACKEND", "tensorflow") != value:
      raise RuntimeError(f"{FLAG}={value}: Keras was imported before the backend was chosen")
    os.environ["KERAS_BACKEND"] = value
  return value
