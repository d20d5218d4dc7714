"""The README works top to bottom: its quick commands run, in order, in an empty folder.

Code blocks tagged ```sh are run in order (each line, with `\\` continuations
joined) in a temp folder, with this environment's `python`; ```python blocks
are run as scripts there too. Blocks tagged ```sh long (hours, or an
accelerator) and ```sh shared (they read ../shared) are skipped, as are the
set-up commands (```sh setup: `make demo`, `make test`). A ```text block right
after a run block is what that block prints: each of its lines must appear in the
output (timings and training's loss aside), its numbers within `TOLERANCE`.
"""

import os
import re
import subprocess
import sys

import pytest

from tests import testing_utils

README = os.path.join(testing_utils.REPO_ROOT, "README.md")


def code_blocks(text: str):
  """(info string, body) of every fenced code block."""
  return re.findall(r"^```([^\n]*)\n(.*?)^```", text, flags=re.M | re.S)


def commands(body: str):
  joined = re.sub(r"\\\n\s*", " ", body)
  return [line.strip() for line in joined.splitlines()
          if line.strip() and not line.strip().startswith("#")]


def test_blocks_are_tagged():
  with open(README) as f:
    blocks = code_blocks(f.read())
  tags = {info.strip() for info, _ in blocks}
  assert tags <= {"sh", "sh setup", "sh long", "sh shared", "python", "text"}, tags
  assert sum(info.strip() == "sh" for info, _ in blocks) >= 8


# What differs from run to run in an output line: timings, rates, training's loss, log
# prefixes. Replaced by a placeholder before lines are matched; never compared.
LOG_PREFIX = re.compile(r"^[IWE]\d{4} [\d:.]+ +\d+ \S+\] ")  # absl's, on stderr
VOLATILE = re.compile(
    r"(?:loss|accuracy) [\d.]+|\d+m\d+s|weights [0-9a-f]{16}|"
    r"ETA \S+|[\d.]+ ?(?:s|frames/s|steps/s|clips/s|s/frame)\b|\d+%|"
    r"(?<![\w.])(?:\.\.\.)?/[\w./-]+|"  # absolute paths (the README writes .../)
    r"max \|diff\| [\d.e+-]+|"
    r"\d+/\d+ \(")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
SHA = re.compile(r"\b[0-9a-f]{16}\b")
# Relative tolerance for numbers in the README's output blocks (J&F, ab error, counts, sizes):
# the runs are deterministic on one machine; 2% absorbs CPU-kernel differences elsewhere.
TOLERANCE = 0.02


def shape(line: str) -> str:
  """A line with its volatile parts and numbers replaced: lines of one shape correspond."""
  line = VOLATILE.sub("~", LOG_PREFIX.sub("", line.strip()))
  return NUMBER.sub("#", SHA.sub("<sha>", line))


def compared_values(line: str):
  """(shas, numbers) of a line, volatile parts left out."""
  line = VOLATILE.sub("~", LOG_PREFIX.sub("", line.strip()))
  return SHA.findall(line), [float(n) for n in NUMBER.findall(SHA.sub("", line))]


def mismatches(expected_block: str, output: str) -> list:
  """README output lines that the run's output does not reproduce (shape or numbers)."""
  produced = {}
  for line in output.splitlines():
    produced.setdefault(shape(line), []).append(line)
  problems = []
  for line in expected_block.splitlines():
    if not line.strip() or line.strip() == "..." or shape(line).strip("~ ") == "":
      continue
    candidates = produced.get(shape(line))
    if not candidates:
      problems.append(f"not in the output: {line!r}")
      continue
    shas, numbers = compared_values(line)

    def same(candidate):
      got_shas, got_numbers = compared_values(candidate)
      return got_shas == shas and all(
          abs(a - b) <= TOLERANCE * max(abs(a), abs(b), 1e-9) or abs(a - b) < 1e-9
          for a, b in zip(numbers, got_numbers))

    if not any(same(c) for c in candidates):
      problems.append(f"README says {line!r}, the run printed {candidates[-1]!r}")
  return problems


def test_output_lines_are_compared_by_shape_and_number():
  run = "I1204 16:06:54.908773 140414382115712 davis.py:69] J&F-Mean 0.5726 (flow); in x"
  assert mismatches("J&F-Mean 0.5726 (flow); in x", run) == []
  assert mismatches("J&F-Mean 0.5900 (flow); in x", run)  # 3% off: a stale README
  assert mismatches("sha 3459fc84f4fd282b", "sha 8803a46b8fa42357")  # a changed hash
  assert mismatches("40x32 embedding grid", "20x16 embedding grid")
  assert mismatches("train: 2/2, 6.7 steps/s, loss 2.3", "train: 2/2, 9.9 steps/s, loss 2.1") == []
  assert mismatches("model (SavedModel .../pretrained/x)", "model (SavedModel /a/b/pretrained/x)") == []


@pytest.mark.slow
def test_quick_commands_run_in_order_and_print_what_the_readme_says(tmp_path):
  """Each sh block runs; a text block right after it must match what it printed."""
  with open(README) as f:
    blocks = code_blocks(f.read())
  env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
  ran, compared, last_output, problems = 0, 0, None, []
  for info, body in blocks:
    info = info.strip()
    if info == "sh":
      last_output = ""
      for command in commands(body):
        result = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=900, check=False)
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
        last_output += result.stdout + result.stderr
        ran += 1
    elif info == "python":
      script = tmp_path / f"readme_{ran}.py"
      script.write_text(body)
      result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
      assert result.returncode == 0, f"{body}\n{result.stderr[-3000:]}"
      last_output = result.stdout + result.stderr
      ran += 1
    elif info == "text" and last_output is not None:
      problems += mismatches(body, last_output)
      compared += 1
      last_output = None
    else:
      last_output = None
  assert ran >= 15 and compared >= 8, (ran, compared)
  assert problems == [], "\n".join(problems)
