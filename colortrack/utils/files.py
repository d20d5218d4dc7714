"""Atomic file writes, output-path checks, and the record of what colortrack wrote.

A crash never leaves a half-written output behind (temp file + rename), files
get the user's usual permissions, and an output path that cannot be written is
one `errors.OutputError` naming it, raised before any work is done.

One rule for every binary: colortrack replaces only files that it wrote. Each
file written through `atomic_output` is listed (before its rename) in the
nearest `WRITTEN_RECORD` at or above its folder (one per output folder, none in
its subfolders); an existing file that no record lists is the user's and is
never replaced (`check_replaceable`). An output that is, or lies inside, one of
a binary's inputs is refused (`check_not_inside`).
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


def ensure_output_dir(path: str, what: str = "output folder", claim: bool = False) -> str:
  """Creates `path` if needed and checks a file can be created in it.

  Raises OutputError (one line naming `path`) when it is a file, lies under a
  file, or is not writable. `claim` (a binary's own output folder): the record of
  what colortrack writes under it is kept there (`claim_output_dir`).
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
    if claim:
      claim_output_dir(path)
  except OSError as e:
    raise errors.OutputError(f"{path}: cannot write the {what} ({_explain(e)})") from e
  return path


def check_output_file(path: str, what: str = "output file", inputs=()) -> str:
  """Checks that `path` can be written as a file (its folder is created): not a folder,
  not a file colortrack did not write, not one of `inputs` nor inside one."""
  if not path:
    raise errors.OutputError(f"no {what} given")
  if os.path.isdir(path):
    raise errors.OutputError(f"{path}: {what} is a folder, not a file")
  check_not_inside(path, inputs, what)
  check_replaceable(path, what)
  ensure_output_dir(os.path.dirname(os.path.abspath(path)), f"folder of the {what}")
  return path


# The record of what colortrack wrote: one file per output tree, listing the paths (relative
# to its folder) of the files colortrack wrote under that folder, one a line.
WRITTEN_RECORD = ".colortrack_written"
_RECORD_HEADER = "# files colortrack wrote under this folder; it replaces only these\n"
_record_cache = {}  # record path -> ((mtime_ns, size), names)


def _record_names(record: str) -> frozenset:
  try:
    stat = os.stat(record)
  except OSError:
    return frozenset()
  key = (stat.st_mtime_ns, stat.st_size)
  cached = _record_cache.get(record)
  if cached and cached[0] == key:
    return cached[1]
  try:
    with open(record) as f:
      names = frozenset(line.rstrip("\n") for line in f if not line.startswith("#"))
  except OSError:
    names = frozenset()
  _record_cache[record] = (key, names)
  return names


def _nearest_record(directory: str):
  """The record in `directory` or its nearest ancestor that has one; None if none does.

  Subfolders (masks/, one folder per sequence) carry no record of their own: a
  binary's output folder holds the one record for everything it wrote below it.
  """
  folder = os.path.abspath(directory)
  while True:
    record = os.path.join(folder, WRITTEN_RECORD)
    if os.path.isfile(record):
      return record
    parent = os.path.dirname(folder)
    if parent == folder:
      return None
    folder = parent


def was_written_by_colortrack(path: str) -> bool:
  """True when the record nearest to `path` lists it (colortrack wrote it, may replace it)."""
  path = os.path.abspath(path)
  record = _nearest_record(os.path.dirname(path))
  if record is None:
    return False
  return os.path.relpath(path, os.path.dirname(record)) in _record_names(record)


def record_written(path: str) -> None:
  """Adds `path` to the nearest record (a new one in its folder where none is, or where
  the nearest cannot be written). An append, listed before the file it names is renamed
  into place, so a crash never leaves a colortrack file off the record."""
  path = os.path.abspath(path)
  directory = os.path.dirname(path)
  record = _nearest_record(directory)
  if record is not None and not os.access(record, os.W_OK):
    record = None
  if record is None:
    record = os.path.join(directory, WRITTEN_RECORD)
  name = os.path.relpath(path, os.path.dirname(record))
  if name in _record_names(record):
    return
  new = not os.path.exists(record)
  with open(record, "a") as f:
    f.write((_RECORD_HEADER if new else "") + name + "\n")
  names = _record_names(record) if new else _record_cache.get(record, (None, frozenset()))[1]
  stat = os.stat(record)  # our own append: extend the cache instead of reading it again
  _record_cache[record] = ((stat.st_mtime_ns, stat.st_size), names | {name})


def claim_output_dir(directory: str) -> str:
  """Makes `directory` (a binary's output folder) hold the record of what colortrack writes
  under it, so that the record sits with the outputs and not in some folder above.

  Entries for files under `directory` that an enclosing folder's record lists are
  carried over: what colortrack wrote there before stays replaceable.
  """
  directory = os.path.abspath(directory)
  record = os.path.join(directory, WRITTEN_RECORD)
  if os.path.exists(record):
    return directory
  os.makedirs(directory, exist_ok=True)
  enclosing = _nearest_record(os.path.dirname(directory))
  entries = []
  if enclosing is not None:
    prefix = os.path.relpath(directory, os.path.dirname(enclosing)) + os.sep
    entries = sorted(n[len(prefix):] for n in _record_names(enclosing) if n.startswith(prefix))
  fd, tmp_path = tempfile.mkstemp(prefix=f".{WRITTEN_RECORD}.", dir=directory)
  with os.fdopen(fd, "w") as f:
    f.write(_RECORD_HEADER + "".join(e + "\n" for e in entries))
  os.chmod(tmp_path, 0o666 & ~umask())
  os.replace(tmp_path, record)
  return directory


def check_replaceable(path: str, what: str = "output") -> str:
  """OutputError unless `path` is new, or an earlier colortrack run wrote it.

  A folder in the way of a file, or a file of the user's, is never replaced.
  """
  if os.path.isdir(path):
    raise errors.OutputError(f"{path}: the {what} is a folder, not a file")
  if os.path.lexists(path) and not was_written_by_colortrack(path):
    raise errors.OutputError(f"{path}: exists and colortrack did not write it (not in "
                             f"{WRITTEN_RECORD}); it is never replaced: choose another "
                             f"{what} or move the file")
  return path


def check_replaceable_in(directory: str, names, what: str = "output folder") -> str:
  """`check_replaceable` for each of `names` (files a binary will write) in `directory`."""
  for name in names:
    path = os.path.join(directory, name)
    if os.path.lexists(path):
      check_replaceable(path, f"file in the {what}")
  return directory


def check_plain_name(name: str, source: str) -> str:
  """OutputError unless `name` (read from a dataset's list, e.g. a sequence name) is a
  plain relative name: a dataset's own text never steers writes outside an output folder."""
  parts = name.replace("\\", "/").split("/")
  if (not name or os.path.isabs(name) or any(p in ("", ".", "..") for p in parts)
      or "\0" in name):
    raise errors.OutputError(f"{source}: name {name!r} is not a plain relative name (absolute, "
                             "empty, or with '.' / '..'); refused, nothing written")
  return name


def _real(path: str) -> str:
  return os.path.realpath(os.path.abspath(path))


def is_inside(path: str, folder: str) -> bool:
  """True when `path` is `folder` or lies under it (links resolved)."""
  path, folder = _real(path), _real(folder)
  return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_not_inside(output: str, inputs, what: str = "output") -> str:
  """OutputError when `output` is, or lies inside, one of `inputs` (files or folders):
  a binary never writes into what it reads."""
  for source in inputs:
    if source and os.path.exists(source) and is_inside(output, source):
      same = _real(output) == _real(source)
      raise errors.OutputError(
          f"{output}: the {what} " + ("is" if same else "lies inside") +
          f" an input ({source}); colortrack never writes into its inputs: choose another "
          f"{what}")
  return output


@contextlib.contextmanager
def atomic_output(path: str, known_ours: bool = False) -> Iterator[str]:
  """Yields a temporary path in the same folder; renames it to `path` on success.

  On an exception the temporary file is removed and `path` is left untouched,
  so a reader never sees a partial file and a re-run simply writes it again.
  The file gets the permissions of any new file (0666 less the umask), not
  mkstemp's private 0600. An existing `path` that colortrack did not write is
  an OutputError (`check_replaceable`), unless the caller established otherwise
  that it is colortrack's (`known_ours`: e.g. a colortrack export's config); the
  written file is recorded as colortrack's.
  """
  if not known_ours:
    check_replaceable(path)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  base = os.path.basename(path)
  fd, tmp_path = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
  os.close(fd)
  try:
    os.chmod(tmp_path, 0o666 & ~umask())
    yield tmp_path
    try:
      record_written(path)
      os.replace(tmp_path, path)
    except OSError as e:  # a full disk may show only here
      raise errors.OutputError(f"{path}: cannot write it ({_explain(e)})") from e
  except BaseException:
    if os.path.exists(tmp_path):
      os.remove(tmp_path)
    raise


def copy_file(source: str, path: str) -> None:
  """Copies `source` to `path` atomically, under the same rule as any other output."""
  import shutil  # pylint: disable=g-import-not-at-top
  with atomic_output(path) as tmp_path:
    shutil.copyfile(source, tmp_path)


def write_json_atomic(path: str, payload: Any, known_ours: bool = False) -> None:
  with atomic_output(path, known_ours) as tmp_path:
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
