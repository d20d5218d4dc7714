"""Chooses the Keras backend from the command line, before Keras is imported.

Keras fixes its backend at import time (`KERAS_BACKEND`), and the train binary
imports Keras with the library; so it calls `select_from_argv()` first, and
`--config.runtime.backend=jax` alone switches the run to JAX.
"""

import os
import sys
from typing import List, Optional

FLAG = "--config.runtime.backend"


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
