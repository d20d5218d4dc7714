r"""The speed / quality frontier: each shipped profile and model, flow and identity, in one table.

Example (about an hour here, idle; run again, it resumes):
  python -m benchmarks.frontier --results_dir=/tmp/frontier
  python -m benchmarks.frontier --results_dir=/tmp/frontier --points=default,fast

For each point (`POINTS`: the binaries' flags) it runs, each in its own process,
as a user would: `eval.davis` on the DAVIS-2016 dev sequences, `eval.jhmdb` on the
JHMDB clip and on BADJA, and `benchmarks.hd_tracking` (a synthetic video at
854x480 and 1920x1080, tracked end to end by `colortrack.track`'s function,
masks and overlay written, after a warm-up run), whose peak RSS is read from the
kernel (`wait4`). A part whose output exists is not run again (delete
RESULTS_DIR/<point> to measure again; a point whose flags changed is refused). Speeds are only comparable on an idle
machine. Writes RESULTS_DIR/frontier.json, frontier.md (the table, as the README
shows it) and frontier.png (DAVIS J&F against 854x480 frames/s, log x).
"""

import csv
import json
import os
import subprocess
import sys

from absl import app
from absl import flags

from colortrack.utils import files

_RESULTS_DIR = flags.DEFINE_string("results_dir", None, "Where each point's results go.")
_DATA = flags.DEFINE_string("data", os.path.join("..", "shared", "data"),
                            "Folder holding davis2016/, jhmdb/ and badja/.")
_POINTS = flags.DEFINE_list("points", [], "Points to run (default: all of POINTS).")
# 60: a video's fixed costs (opening writers, the first frame, closing the overlay) are
# spread over about as many frames as in a DAVIS sequence (50-100), not over 20.
_SPEED_FRAMES = flags.DEFINE_integer("speed_frames", 60, "Frames of the speed videos.")
flags.mark_flags_as_required(["results_dir"])

# name -> (what it is, the tracking flags of colortrack.track / eval.* that make it)
POINTS = {
    "default": ("no flags (`--profile=default`: `ensemble_cpu`, 4 networks, frames at most "
                "400 pixels, radius 13 cells)", []),
    "best": ("`--profile=best` (`ensemble_cpu` on 480p frames as they are, radius 16 cells)",
             ["--profile=best"]),
    "fast": ("`--profile=fast` (`mast_crop256`, one network)", ["--profile=fast"]),
    "vondrick_cpu": ("`--model=colortrack/pretrained/vondrick_cpu` (one network, stride 4)",
                     ["--model=colortrack/pretrained/vondrick_cpu"]),
    "flow": ("`--method=flow` (OpenCV Farneback)", ["--method=flow"]),
    "identity": ("`--method=identity` (frame 0's mask everywhere)", ["--method=identity"]),
}
SPEED_NAME = "speed.json"
POINT_NAME = "point.json"  # the flags a point's folder was measured with


def run(command, log_path: str) -> int:
  """Runs `command` (its output to `log_path`); its peak RSS in MiB. Stops on failure."""
  with open(log_path, "w") as log:
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(process.pid, 0)
  code = os.waitstatus_to_exitcode(status)  # wait4 reaped it: Popen never sees the status
  if code:
    raise SystemExit(f"{' '.join(command)}: exit {code}; see {log_path}")
  return round(usage.ru_maxrss / 1024)  # Linux reports KiB


def measure_point(name: str, tracking_args, root: str, data: str, num_frames: int) -> dict:
  """Runs what is missing of one point's parts; returns its row."""
  folder = os.path.join(root, name)
  os.makedirs(folder, exist_ok=True)
  # A point's folder holds one set of flags' results: never a mix of two definitions.
  point_path = os.path.join(folder, POINT_NAME)
  if os.path.exists(point_path):
    with open(point_path) as f:
      recorded = json.load(f)
    if recorded != list(tracking_args):
      raise SystemExit(f"{folder}: measured with {recorded}, not {list(tracking_args)}; "
                       "delete the folder to measure this point again")
  else:
    files.write_json_atomic(point_path, list(tracking_args))
  python = [sys.executable, "-m"]
  davis_dir = os.path.join(folder, "davis")
  davis_csv = os.path.join(davis_dir, "global_results-val.csv")
  if not os.path.exists(davis_csv):
    print(f"{name}: DAVIS-2016 dev", flush=True)
    run(python + ["eval.davis", f"--davis_root={os.path.join(data, 'davis2016')}",
                  f"--results_dir={davis_dir}", "--nohtml"] + tracking_args,
        os.path.join(folder, "davis.log"))
  row = {"point": name}
  with open(davis_csv) as f:
    row["davis_jf"] = float(next(csv.DictReader(f))["J&F-Mean"])
  for dataset in ("jhmdb", "badja"):
    out_dir = os.path.join(folder, dataset)
    pck_csv = os.path.join(out_dir, "pck.csv")
    if not os.path.exists(pck_csv):
      print(f"{name}: {dataset}", flush=True)
      run(python + ["eval.jhmdb", f"--jhmdb_root={os.path.join(data, dataset)}",
                    f"--results_dir={out_dir}"] + tracking_args,
          os.path.join(folder, f"{dataset}.log"))
    with open(pck_csv) as f:
      overall = [r for r in csv.DictReader(f) if r["video"] == "all"]  # keypoint_eval's
    row[f"{dataset}_pck"] = [float(overall[0]["PCK@0.1"]), float(overall[0]["PCK@0.2"])]
  speed_path = os.path.join(folder, SPEED_NAME)
  if not os.path.exists(speed_path):
    print(f"{name}: speed", flush=True)
    log_path = os.path.join(folder, "speed.log")
    peak_mib = run(python + ["benchmarks.hd_tracking", f"--num_frames={num_frames}"] +
                   tracking_args, log_path)
    with open(log_path) as f:
      text = f.read()
    speed = json.loads(text[text.rindex("\n{") + 1:])  # the JSON the benchmark prints last
    speed["peak_rss_mib"] = peak_mib
    files.write_json_atomic(speed_path, speed)
  with open(speed_path) as f:
    speed = json.load(f)
  row["fps_480p"] = speed["854x480"]["frames_per_s"]
  row["fps_1080p"] = speed["1920x1080"]["frames_per_s"]
  row["peak_rss_mib"] = speed["peak_rss_mib"]
  return row


def table(rows) -> str:
  """The Markdown table of `rows` (README "Results")."""
  lines = ["| tracker | DAVIS-2016 dev J&F | JHMDB PCK@0.1 / @0.2 | BADJA PCK@0.1 / @0.2 | "
           "854x480 frames/s | 1920x1080 frames/s | peak RSS |",
           "|---|---|---|---|---|---|---|"]
  for row in rows:
    lines.append(
        f"| {POINTS[row['point']][0]} | {row['davis_jf']:.3f} | "
        f"{row['jhmdb_pck'][0]:.2f} / {row['jhmdb_pck'][1]:.2f} | "
        f"{row['badja_pck'][0]:.2f} / {row['badja_pck'][1]:.2f} | {row['fps_480p']:.2f} | "
        f"{row['fps_1080p']:.2f} | {row['peak_rss_mib']:,} MiB |")
  return "\n".join(lines) + "\n"


def plot(rows, path: str) -> None:
  """DAVIS J&F against 854x480 frames/s (log x), one labelled point per row."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, axis = plt.subplots(figsize=(6, 4))
  for index, row in enumerate(sorted(rows, key=lambda r: r["fps_480p"])):
    axis.scatter(row["fps_480p"], row["davis_jf"], color="tab:blue")
    # Neighbours in speed take turns above and below their points: close points stay legible.
    axis.annotate(f"{row['point']} ({row['davis_jf']:.3f})", (row["fps_480p"], row["davis_jf"]),
                  textcoords="offset points", xytext=(5, 5 if index % 2 else -13), fontsize=9)
  axis.set_xscale("log")
  axis.set_xlabel("frames/s at 854x480, end to end (2-core CPU)")
  axis.set_ylabel("DAVIS-2016 dev J&F")
  axis.grid(True, which="both", alpha=0.3)
  figure.tight_layout()
  with files.atomic_output(path) as tmp_path:
    figure.savefig(tmp_path, dpi=110, format="png")
  plt.close(figure)


def main(argv):
  del argv
  names = _POINTS.value or list(POINTS)
  unknown = [n for n in names if n not in POINTS]
  if unknown:
    raise SystemExit(f"--points: unknown {unknown}; use some of {list(POINTS)}")
  for dataset in ("davis2016", "jhmdb", "badja"):
    if not os.path.isdir(os.path.join(_DATA.value, dataset)):
      raise SystemExit(f"{os.path.join(_DATA.value, dataset)}: not found (--data)")
  root = _RESULTS_DIR.value
  os.makedirs(root, exist_ok=True)
  rows = [measure_point(name, POINTS[name][1], root, _DATA.value, _SPEED_FRAMES.value)
          for name in names]
  files.write_json_atomic(os.path.join(root, "frontier.json"), rows)
  markdown = table(rows)
  with files.atomic_output(os.path.join(root, "frontier.md")) as tmp_path:
    with open(tmp_path, "w") as f:
      f.write(markdown)
  plot(rows, os.path.join(root, "frontier.png"))
  print(markdown)
  print(f"written: {os.path.join(root, 'frontier.md')}, frontier.png, frontier.json")


if __name__ == "__main__":
  app.run(main)
