"""The README works top to bottom: its quick commands run, in order, in an empty folder.

Code blocks tagged ```sh are run in order (each line, with `\\` continuations
joined) in a temp folder, with this environment's `python`; ```python blocks
are run as scripts there too. Blocks tagged ```sh long (hours, or an
accelerator) and ```sh shared (they read ../shared) are skipped, as are the
set-up commands (```sh setup: `make demo`, `make test`).
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


@pytest.mark.slow
def test_quick_commands_run_in_order_in_an_empty_folder(tmp_path):
  with open(README) as f:
    blocks = code_blocks(f.read())
  env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
  ran = 0
  for info, body in blocks:
    info = info.strip()
    if info == "sh":
      for command in commands(body):
        result = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True,
                                text=True, timeout=900, check=False)
        assert result.returncode == 0, f"{command}\n{result.stderr[-3000:]}"
        ran += 1
    elif info == "python":
      script = tmp_path / f"readme_{ran}.py"
      script.write_text(body)
      result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900, check=False)
      assert result.returncode == 0, f"{body}\n{result.stderr[-3000:]}"
      ran += 1
  assert ran >= 15
