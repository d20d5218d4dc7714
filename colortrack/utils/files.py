"""Atomic file writes and output-path checks.

A crash never leaves a half-written output behind (temp file + rename), files
get the user's usual permissions, and an output path that cannot be written is
one `errors.OutputError` naming it, raised before any work is done.
"""

import contextlib
import errno
import json
import os
import tempfile
from typing import Any, Iterator

from colortrack import errors


def umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


def _explain(error: OSError) -> str:
  if error.errno in (errno.EACCES, errno.EPERM):
    return "permission denied"
  if error.errno == errno.EROFS:
    return "read-only file system"
  if error.errno == errno.ENOTDIR:
    return "a part of the path is a file, not a folder"
  if error.errno == errno.ENOSPC:
    return "no space left on the device"
  return error.strerror or str(error)


def check_output_dir(path: str, what: str = "output folder") -> str:
  """Checks, without creating anything, that `path` could be made a writable folder.

  The nearest existing ancestor must be a writable folder (a read-only file
  system or a file in the path is one OutputError naming `path`).
  """
  if not path:
    raise errors.OutputError(f"no {what} given")
  if os.path.exists(path) and not os.path.isdir(path):
    raise errors.OutputError(f"{path}: {what} is a file, not a folder")
  ancestor = os.path.abspath(path)
  while not os.path.exists(ancestor):
    ancestor = os.path.dirname(ancestor)
  if not os.path.isdir(ancestor):
    raise errors.OutputError(f"{path}: cannot write the {what} ({ancestor} is a file, "
                             "not a folder)")
  if not os.access(ancestor, os.W_OK | os.X_OK):
    reason = "read-only file system" if os.access(ancestor, os.R_OK) and _read_only(
        ancestor) else "permission denied"
    raise errors.OutputError(f"{path}: cannot write the {what} ({reason})")
  return path


def _read_only(path: str) -> bool:
  return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def ensure_output_dir(path: str, what: str = "output folder") -> str:
  """Creates `path` if needed and checks a file can be created in it.

  Raises OutputError (one line naming `path`) when it is a file, lies under a
  file, or is not writable.
  """
  if not path:
    raise errors.OutputError(f"no {what} given")
  if os.path.exists(path) and not os.path.isdir(path):
    raise errors.OutputError(f"{path}: {what} is a file, not a folder")
  try:
    os.makedirs(path, exist_ok=True)
    fd, probe = tempfile.mkstemp(prefix=".colortrack-write-check.", dir=path)
    os.close(fd)
    os.remove(probe)
  except OSError as e:
    raise errors.OutputError(f"{path}: cannot write the {what} ({_explain(e)})") from e
  return path


def check_output_file(path: str, what: str = "output file") -> str:
  """Checks that `path` can be written as a file (its folder is created)."""
  if not path:
    raise errors.OutputError(f"no {what} given")
  if os.path.isdir(path):
    raise errors.OutputError(f"{path}: {what} is a folder, not a file")
  ensure_output_dir(os.path.dirname(os.path.abspath(path)), f"folder of the {what}")
  return path


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
  """Yields a temporary path in the same folder; renames it to `path` on success.

  On an exception the temporary file is removed and `path` is left untouched,
  so a reader never sees a partial file and a re-run simply writes it again.
  The file gets the permissions of any new file (0666 less the umask), not
  mkstemp's private 0600.
  """
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  base = os.path.basename(path)
  fd, tmp_path = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
  os.close(fd)
  try:
    os.chmod(tmp_path, 0o666 & ~umask())
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


def read_json(path: str) -> Any:
  with open(path) as f:
    return json.load(f)


def sha256_of_files(paths, digest_size: int = 16) -> str:
  """Hex digest of the named files' bytes (in the given order)."""
  import hashlib  # pylint: disable=g-import-not-at-top
  digest = hashlib.sha256()
  for path in paths:
    digest.update(os.path.basename(path).encode())
    with open(path, "rb") as f:
      for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
  return digest.hexdigest()[:digest_size]
