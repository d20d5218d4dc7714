"""The frontier and profiling benchmarks' own logic (their numbers are measured, not tested)."""

import csv
import json
import os

import numpy as np
import pytest

from benchmarks import frontier
from benchmarks import tracking_profile
from benchmarks import train_throughput
from colortrack.configs import tiny
from colortrack.data import masks as masks_lib
from colortrack.data import synthetic
from colortrack.inference import trackers
from colortrack.training import trainer


def _write_point(folder, jf, pck, fps):
  """A point's parts as eval.davis, eval.jhmdb and frontier itself write them."""
  os.makedirs(os.path.join(folder, "davis"))
  with open(os.path.join(folder, "davis", "global_results-val.csv"), "w") as f:
    f.write(f"J&F-Mean,J-Mean\n{jf},0.5\n")
  for dataset in ("jhmdb", "badja"):
    os.makedirs(os.path.join(folder, dataset))
    with open(os.path.join(folder, dataset, "pck.csv"), "w") as f:
      writer = csv.writer(f)
      writer.writerow(["video", "PCK@0.1", "PCK@0.2"])
      writer.writerow(["clip", 1.0, 2.0])
      writer.writerow(["all", pck[0], pck[1]])
  with open(os.path.join(folder, frontier.SPEED_NAME), "w") as f:
    json.dump({"854x480": {"frames_per_s": fps}, "1920x1080": {"frames_per_s": fps / 2},
               "peak_rss_mib": 1234}, f)


def test_frontier_reads_finished_parts_without_running_them(tmp_path):
  # Every part exists: nothing is run (no data folder is even needed), the row is read back.
  _write_point(str(tmp_path / "fast"), 0.5, (30.0, 45.5), 6.0)
  row = frontier.measure_point("fast", ["--profile=fast"], str(tmp_path), "/nonexistent", 20)
  assert row == {"point": "fast", "davis_jf": 0.5, "jhmdb_pck": [30.0, 45.5],
                 "badja_pck": [30.0, 45.5], "fps_480p": 6.0, "fps_1080p": 3.0,
                 "peak_rss_mib": 1234}
  text = frontier.table([row])
  assert "| `--profile=fast` (`mast_crop256`, one network) | 0.500 | 30.00 / 45.50 |" in text
  assert text.rstrip().endswith("| 6.00 | 3.00 | 1,234 MiB |")
  frontier.plot([row], str(tmp_path / "frontier.png"))
  assert (tmp_path / "frontier.png").read_bytes()[:4] == b"\x89PNG"
  # The folder now belongs to these flags: another definition of the point is refused.
  with pytest.raises(SystemExit, match="measured with"):
    frontier.measure_point("fast", ["--profile=fast", "--radius=4"], str(tmp_path),
                           "/nonexistent", 20)


def test_profile_stages_add_up_to_the_run(tmp_path):
  video = synthetic.generate_video(0, num_frames=6, height=64, width=80)
  path = str(tmp_path / "video.mp4")
  synthetic.write_video_file(path, video.frames, video.fps)
  mask = str(tmp_path / "mask.png")
  masks_lib.write_mask(mask, video.masks[0])
  result = tracking_profile.profile(trackers.FlowTracker(), path, mask, str(tmp_path / "out"))
  assert result["frames"] == 6
  stages = result["stages"]
  # A baseline has no networks or pointer; what it does is decoded, written and drawn.
  assert "networks (embed)" not in stages
  for stage in ("decode", "mask PNGs", "overlay drawing", "overlay encoding"):
    assert stages[stage] > 0, stage
  total = sum(stages.values())
  assert np.isclose(total, result["seconds_per_frame"], atol=1e-3)
  assert stages["other"] >= -1e-3


def test_train_throughput_times_the_trainers_own_step(synthetic_clips):
  config = tiny.get_config()
  config.data.train_pattern = synthetic_clips
  result = train_throughput.measure(config, steps=2, warmup=1)
  assert result["seconds_per_step"] > 0
  assert result["clips_per_s"] > 0
  assert result["image_size"] == config.data.image_size and result["steps"] == 2
  assert result["parameters"] == trainer.build_model_from_config(config).count_params()


def test_mask_decisions_reproduce_eval_davis(tmp_path):
  """Each row is eval.davis's J&F with that row's three flags (the shipped default's networks)."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  from tests import testing_utils  # pylint: disable=g-import-not-at-top

  def run(module, *args):
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=testing_utils.REPO_ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout

  synthetic.write_dataset(str(tmp_path), num_videos=2, num_frames=6, height=48, width=64)
  davis_root = str(tmp_path / "davis")
  table = run("benchmarks.mask_decisions", f"--davis_root={davis_root}", "--tune_sequences=1",
              "--guided_filter_radii=0,4", "--mask_thresholds=0.5,0.3",
              "--min_component_fractions=0,1")
  rows = {tuple(cells[:3]): cells[3:] for cells in
          ([c.strip() for c in line.strip(" |").split("|")] for line in table.splitlines()
           if line.startswith("| 0 |") or line.startswith("| 4 |"))}
  assert set(rows) == {(r, t, k) for r in ("0", "4") for t in ("0.5", "0.3") for k in ("0.0", "1.0")}
  for row in (("0", "0.5", "0.0"), ("4", "0.3", "1.0")):
    folder = tmp_path / "r{}_{}_{}".format(*row)
    run("eval.davis", f"--davis_root={davis_root}", f"--results_dir={folder}", "--nohtml",
        f"--guided_filter_radius={row[0]}", f"--mask_threshold={row[1]}",
        f"--min_component_fraction={row[2]}")
    with open(folder / "global_results-val.csv") as f:
      expected = float(next(csv.DictReader(f))["J&F-Mean"])
    assert float(rows[row][0]) == pytest.approx(expected, abs=1e-4)
  assert rows[("0", "0.5", "0.0")][0] != rows[("4", "0.3", "1.0")][0]  # they decide differently
  # J&F over both sequences is the mean of its two parts' (one object each).
  for jf, _, _, first, rest in rows.values():
    assert float(jf) == pytest.approx((float(first) + float(rest)) / 2, abs=2e-4)
