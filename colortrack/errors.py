"""The one base class of errors caused by what a user gave (files, folders, settings).

Every library error that a user can fix subclasses `UserError`, and its message
names the file or setting and the problem in one line. Binaries print such an
error as that one line and exit with status 1; anything else is a bug and keeps
its traceback.
"""


class UserError(ValueError):
  """Bad input or setting; `str(error)` is the one line to show."""


class OutputError(UserError):
  """An output path cannot be written (a file where a folder is needed, read-only, ...)."""


class TrainingError(UserError):
  """A training run cannot start or go on (missing data, incompatible workdir, unreadable shard)."""


class WorkerStoppedError(TrainingError):
  """Another worker of a multi-worker run stopped. A binary exits at once after saying so:
  the backends' exit hooks would wait for the stopped worker (JAX's then aborts)."""

  exit_at_once = True


def out_of_memory(batch_size: int, error: BaseException) -> TrainingError:
  """A training step's allocation failure as one line naming the setting to lower."""
  return TrainingError(f"config.train.batch_size={batch_size}: the training step ran out of "
                       f"memory ({first_line(error)[:120]}); lower the batch or "
                       "config.data.image_size")


def first_line(error: BaseException) -> str:
  """A library exception's message reduced to one line (for wrapping foreign errors)."""
  text = str(error).strip() or type(error).__name__
  return text.splitlines()[0]
