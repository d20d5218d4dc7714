"""Who wrote a results folder, and which of its sequences are complete.

`eval.davis` and `eval.jhmdb` predict into a results folder and score what is
there. So that a score is never labelled with the wrong method and a folder
never mixes runs, the folder holds `RECORD_NAME`:

  {"producer": {"method": "model", "model": "/abs/path", "model_fingerprint": "...",
                "settings": {...test-time settings...}, "colortrack_version": "0.1.0"},
   "complete": ["blackswan", ...]}

A run resumes only a folder whose producer equals its own, and keeps only the
items marked complete (an item is marked after its last prediction is
written); any other item is predicted again. A folder of another producer is
refused unless `overwrite`; predictions without a record (another tool, an
older colortrack) are refused even with `overwrite` (colortrack replaces only
what it wrote), and can still be scored as they are.
"""

import json
import os
from typing import Callable, Dict, List, Optional, Sequence

import colortrack
from colortrack import errors
from colortrack.utils import files

RECORD_NAME = "colortrack_results.json"


class ResultsError(errors.UserError):
  """A results folder belongs to another run, or is incomplete."""


def _normalized(value):
  """JSON round trip: tuples become lists, so records compare equal after reading."""
  return json.loads(json.dumps(value, sort_keys=True))


def producer(tracker) -> Dict[str, object]:
  """What made a tracker's predictions: method, model and its fingerprint, settings."""
  out = {"method": tracker.name, "colortrack_version": colortrack.__version__}
  embedder = getattr(tracker, "embedder", None)
  if embedder is not None:
    out.update(model=os.path.abspath(embedder.path), model_fingerprint=embedder.fingerprint,
               settings=dict(getattr(tracker, "settings", {}) or {}))
  return _normalized(out)


def describe(who: Dict[str, object]) -> str:
  """One line: "flow", or "model /path (fingerprint 1a2b3c4d)"."""
  if "model" not in who:
    return str(who.get("method"))
  return f"{who.get('method')} {who['model']} (fingerprint {str(who.get('model_fingerprint'))[:8]})"


def differences(old: Dict[str, object], new: Dict[str, object]) -> str:
  """What differs between two producers, e.g. "method flow -> identity"."""
  changes = []
  for key in sorted(set(old) | set(new)):
    if key == "settings":
      a, b = old.get(key) or {}, new.get(key) or {}
      changes += [f"{k} {a.get(k)} -> {b.get(k)}" for k in sorted(set(a) | set(b))
                  if a.get(k) != b.get(k)]
    elif old.get(key) != new.get(key):
      changes.append(f"{key} {old.get(key)} -> {new.get(key)}")
  return ", ".join(changes)


def read(results_dir: str) -> Optional[Dict[str, object]]:
  path = os.path.join(results_dir, RECORD_NAME)
  if not os.path.exists(path):
    return None
  try:
    record = files.read_json(path)
    if not isinstance(record.get("producer"), dict) or not isinstance(record.get("complete"),
                                                                        list):
      raise ValueError("no producer / complete entries")
  except (OSError, ValueError, AttributeError) as e:
    raise ResultsError(f"{path}: unreadable results record ({errors.first_line(e)})") from e
  return record


class ResultsFolder:
  """A results folder opened by one producer; marks items complete as they finish."""

  def __init__(self, results_dir: str, record: Dict[str, object]):
    self.results_dir = results_dir
    self.record = record
    self._path = os.path.join(results_dir, RECORD_NAME)
    self._save()

  def _save(self) -> None:
    # `read` accepted the record as colortrack's (or the folder had none).
    files.write_json_atomic(self._path, self.record, known_ours=True)

  def is_complete(self, item: str) -> bool:
    return item in self.record["complete"]

  def mark_complete(self, item: str) -> None:
    if item not in self.record["complete"]:
      self.record["complete"].append(item)
      self._save()

  def mark_incomplete(self, item: str) -> None:
    """Before an item is (re)written: a kill from now on leaves it marked incomplete."""
    if item in self.record["complete"]:
      self.record["complete"].remove(item)
      self._save()


def open_for_writing(results_dir: str, who: Dict[str, object], items: Sequence[str],
                     overwrite: bool, has_output: Callable[[str], bool]) -> ResultsFolder:
  """The folder to predict `items` into as `who`; ResultsError when it is someone else's.

  `has_output(item)` tells whether predictions of `item` are already on disk
  (used when the folder has no record). With `overwrite`, every item is
  predicted again and a folder of another colortrack run becomes `who`'s.
  """
  files.ensure_output_dir(results_dir, "results folder", claim=True)
  who = _normalized(who)
  record = read(results_dir)
  if record is not None and _normalized(record["producer"]) != who:
    if not overwrite:
      raise ResultsError(
          f"{results_dir}: holds results of {describe(record['producer'])}, not of this run "
          f"({differences(_normalized(record['producer']), who)}); use another --results_dir, "
          "or --overwrite to replace them")
    record = None
  elif record is None:
    existing = [item for item in items if has_output(item)]
    if existing:  # --overwrite too: colortrack never replaces what it did not write
      raise ResultsError(
          f"{os.path.join(results_dir, existing[0])}: predictions that colortrack did not "
          "record (another tool or an older colortrack); they are never replaced: use "
          "another --results_dir, or --score_only to score them as they are")
  elif overwrite:
    record["complete"] = []
  if record is None:
    record = {"producer": who, "complete": []}
  return ResultsFolder(results_dir, record)


def check_complete(results_dir: str, items: Sequence[str]) -> Optional[Dict[str, object]]:
  """The producer of a folder about to be scored; ResultsError if an item is incomplete.

  None for a folder without a record (predictions of another tool: scored as
  they are, their completeness is the evaluator's usual "prediction missing").
  """
  record = read(results_dir)
  if record is None:
    return None
  incomplete: List[str] = [item for item in items if item not in record["complete"]]
  if incomplete:
    raise ResultsError(
        f"{os.path.join(results_dir, incomplete[0])}: predictions incomplete ({len(incomplete)} "
        f"of {len(items)} not finished, e.g. by a killed run); run the same command again to "
        "finish them")
  return record["producer"]
