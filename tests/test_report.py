"""HTML results pages in a real headless browser (Debian's chromium), and their videos."""

import os
import re
import shutil
import subprocess

import av
import pytest

from colortrack.data import synthetic
from colortrack.evaluation import davis
from colortrack.evaluation import report
from colortrack.inference import trackers

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium; .ci/run does)")


def browser(tmp_path, page, *flags):
  """Runs the page's scripts for up to 15 s of virtual time; (final DOM, browser log)."""
  result = subprocess.run(
      [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
       "--no-first-run", "--disable-background-networking", "--disable-component-update",
       "--disable-sync", f"--user-data-dir={tmp_path}/profile", "--enable-logging=stderr",
       "--v=0", "--virtual-time-budget=15000", *flags, f"file://{page}"],
      capture_output=True, text=True, timeout=120, check=False)
  return result.stdout, result.stderr


@pytest.fixture(scope="module")
def results(tmp_path_factory):
  root = tmp_path_factory.mktemp("report")
  synthetic.write_dataset(str(root / "syn"), num_videos=2, num_frames=8, height=48, width=64)
  davis_root = str(root / "syn" / "davis")
  sequences = davis.list_sequences(davis_root)
  folders = {}
  for name, tracker in (("flow", trackers.FlowTracker()),
                        ("identity", trackers.IdentityTracker())):
    folder = str(root / name)
    davis.predict(davis_root, folder, tracker, sequences)
    scores = davis.evaluate(davis_root, folder, sequences)
    report.write_davis_page(davis_root, folder, scores, sequences, f"DAVIS: {name}")
    folders[name] = (folder, scores)
  return root, davis_root, sequences, folders


def test_sequence_videos_are_h264_with_every_frame(results):
  _, _, sequences, folders = results
  for sequence in sequences:
    with av.open(os.path.join(folders["flow"][0], "videos", f"{sequence}.mp4")) as container:
      stream = container.streams.video[0]
      assert stream.codec_context.name == "h264"
      assert (stream.width, stream.height) == (2 * 64, 48)  # prediction | ground truth
      assert sum(1 for _ in container.decode(video=0)) == 8


@needs_chromium
def test_davis_page_loads_and_every_video_plays(results, tmp_path):
  _, _, sequences, folders = results
  page = os.path.join(folders["flow"][0], report.PAGE_NAME)
  dom, log = browser(tmp_path, page, "--dump-dom")
  assert f">{len(sequences)} of {len(sequences)} videos ready<" in dom, dom[-2000:]
  assert "global_results" not in dom and "J&amp;F-Mean" in dom
  assert not re.search(r"Uncaught|Failed to load|ERR_FILE_NOT_FOUND", log), log[-2000:]
  screenshot = tmp_path / "page.png"
  browser(tmp_path, page, "--hide-scrollbars", "--window-size=1000,1400",
          f"--screenshot={screenshot}")
  assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank one


@needs_chromium
def test_comparison_page_plays_every_method_in_sync_groups(results, tmp_path):
  _, _, sequences, folders = results
  names = ["flow", "identity"]
  page = report.write_comparison_page(str(tmp_path / "cmp"), names,
                                      [folders[n][0] for n in names],
                                      {n: folders[n][1] for n in names}, sequences)
  dom, log = browser(tmp_path, page, "--dump-dom")
  count = len(names) * len(sequences)
  assert f">{count} of {count} videos ready<" in dom, dom[-2000:]
  assert dom.count("data-sync=\"\"") == len(sequences)  # one group per sequence
  assert not re.search(r"Uncaught|Failed to load|ERR_FILE_NOT_FOUND", log), log[-2000:]
