"""What the reliability probes share: a probe, running one, and the digest of what must stay."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from typing import Callable, List, Optional

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass
class Probe:
  kind: str  # the table's row
  name: str
  args: List[str]  # module and flags
  expect: str  # clear error | refused | resumed
  message: str = ""  # text the error line must hold
  check: Optional[Callable[[], bool]] = None  # after the run: nothing lost, result whole
  kill_after: Optional[Callable[[], bool]] = None  # resumed probes: kill -9 once true


HANG_S = 300
PROBLEMS = ("user files changed", "dataset files changed", "wrong numbers with exit 0",
            "tracebacks", "hangs")


def snapshot(paths) -> dict:
  """{file: sha256 of its bytes} for every file under `paths`."""
  import hashlib  # pylint: disable=g-import-not-at-top
  out = {}
  for root in sorted(paths):
    found = [root] if os.path.isfile(root) else sorted(
        os.path.join(d, n) for d, _, names in os.walk(root) for n in names)
    for path in found:
      with open(path, "rb") as f:
        out[path] = hashlib.sha256(f.read()).hexdigest()
  return out


def user_files_changed(before: dict, after: dict) -> bool:
  """A file that was there before is gone or different (new files are colortrack's)."""
  return any(after.get(path) != sha for path, sha in before.items())


def python(*args, timeout=HANG_S):
  return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True,
                        text=True, timeout=timeout, check=False)


def error_lines(stderr: str) -> List[str]:
  return [l for l in stderr.splitlines() if l.startswith(("E", "error:", "Traceback"))]


def run_probe(probe: Probe) -> str:
  if probe.expect == "resumed":
    process = subprocess.Popen([sys.executable, "-m", *probe.args], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 300
    while process.poll() is None and not probe.kill_after() and time.monotonic() < deadline:
      time.sleep(0.2)
    if process.poll() is not None:
      return "FAILED (finished before the kill)"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    result = python(*probe.args)
    ok = result.returncode == 0 and (probe.check is None or probe.check())
    return "resumed" if ok else f"FAILED: {result.stderr.strip().splitlines()[-1:]}"
  try:
    result = python(*probe.args)
  except subprocess.TimeoutExpired:
    return "FAILED: hangs"
  lines = error_lines(result.stderr)
  if "Traceback (most recent call last)" in result.stderr:
    return f"FAILED: tracebacks: {result.stderr.strip().splitlines()[-1:]}"
  try:
    intact = probe.check is None or bool(probe.check())
  except (OSError, ValueError, KeyError, StopIteration) as e:
    intact = False
    lines = lines + [f"check: {e}"]
  if probe.expect in ("correct", "said"):
    warned = probe.expect == "correct" or any(
        l.startswith("W") and probe.message in l for l in result.stderr.splitlines())
    if result.returncode == 0 and intact and warned:
      return probe.expect
    if result.returncode == 0:
      return f"FAILED: wrong numbers with exit 0 ({'unsaid' if not warned else 'check'})"
    return f"FAILED: rc {result.returncode}, {lines[-2:] or result.stderr.splitlines()[-2:]}"
  clear = (result.returncode == 1 and len(lines) == 1 and probe.message in lines[0])
  if clear and intact:
    return probe.expect
  if result.returncode == 0:
    return f"FAILED: wrong numbers with exit 0 (expected {probe.message!r})"
  return f"FAILED: rc {result.returncode}, {lines[-2:] or result.stderr.splitlines()[-2:]}"


