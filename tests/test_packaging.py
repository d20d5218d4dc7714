"""`pip install .` ships the binaries: their console scripts run outside the checkout."""

import glob
import os
import subprocess
import sys
import sysconfig

import pytest

from tests import testing_utils


@pytest.mark.slow
def test_wheel_console_scripts_track_outside_the_checkout(tmp_path):
  wheel_dir = tmp_path / "dist"
  build = subprocess.run(
      [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
       "-w", str(wheel_dir), testing_utils.REPO_ROOT],
      capture_output=True, text=True, timeout=600, check=False)
  assert build.returncode == 0, build.stderr[-2000:]
  wheel = glob.glob(str(wheel_dir / "colortrack-*.whl"))[0]
  venv = tmp_path / "venv"
  subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=600)
  # The dependencies come from this environment (no download); colortrack itself only
  # from the wheel: a .pth line adds a folder without running its own .pth files, so
  # this environment's editable install of the checkout is not seen.
  site = subprocess.run([str(venv / "bin" / "python"), "-c",
                         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        capture_output=True, text=True, check=True).stdout.strip()
  with open(os.path.join(site, "dependencies.pth"), "w") as f:
    f.write(sysconfig.get_paths()["purelib"] + "\n")
  install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                            "--no-deps", "--no-index", wheel],
                           capture_output=True, text=True, timeout=600, check=False)
  assert install.returncode == 0, install.stderr[-2000:]
  outside = tmp_path / "elsewhere"
  outside.mkdir()

  def script(name, *args):
    return subprocess.run([str(venv / "bin" / name), *args], cwd=outside, capture_output=True,
                          text=True, timeout=600, check=False)

  help_text = script("colortrack-track", "--helpshort")  # absl exits 1 after help
  assert "--mask" in help_text.stdout and "--radius" in help_text.stdout, help_text.stderr
  assert "Traceback" not in help_text.stderr
  made = script("colortrack-make-synthetic", "--output_dir=syn", "--num_videos=1",
                "--num_frames=6")
  assert made.returncode == 0, made.stderr[-2000:]
  tracked = script("colortrack-track", "--video=syn/videos/synthetic_000.mp4",
                   "--mask=syn/davis/Annotations/480p/synthetic_000/00000.png",
                   "--output_dir=tracked")
  assert tracked.returncode == 0, tracked.stderr[-2000:]
  assert "site-packages/colortrack/pretrained/ensemble_cpu" in tracked.stderr  # from the wheel
  assert len(os.listdir(outside / "tracked" / "masks")) == 6
  assert (outside / "tracked" / "overlay.mp4").stat().st_size > 0
