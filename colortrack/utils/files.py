"""Atomic file writes: a crash never leaves a half-written output behind."""

import contextlib
import json
import os
import tempfile
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
  """Yields a temporary path in the same folder; renames it to `path` on success.

  On an exception the temporary file is removed and `path` is left untouched,
  so a reader never sees a partial file and a re-run simply writes it again.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  base = os.path.basename(path)
  fd, tmp_path = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
  os.close(fd)
  try:
    yield tmp_path
    os.replace(tmp_path, path)
  except BaseException:
    if os.path.exists(tmp_path):
      os.remove(tmp_path)
    raise


def write_json_atomic(path: str, payload: Any) -> None:
  with atomic_output(path) as tmp_path:
    with open(tmp_path, "w") as f:
      json.dump(payload, f, indent=2, sort_keys=True)
      f.write("\n")
