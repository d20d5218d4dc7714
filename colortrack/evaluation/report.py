"""Static HTML pages of DAVIS results: tables, plots, and videos that play in a browser.

`write_davis_page` (eval.davis): `index.html` in the results folder with the
global and per-object tables, the plots, and per sequence an H.264 video of
the prediction next to the ground truth (`videos/<sequence>.mp4`).
`write_comparison_page` (eval.summarize): one page with, per sequence, every
method's video side by side, played and sought together.
No server: open the file. Each page's status line says how many of its videos
the browser could load ("3 of 3 videos ready"), or which failed.
"""

import html
import os
from typing import Dict, List, Sequence

import numpy as np

from colortrack.data import masks as masks_lib
from colortrack.data import video_io
from colortrack.evaluation import davis
from colortrack.inference import track_video
from colortrack.utils import files
from colortrack.utils import progress as progress_lib
from colortrack.utils import video_writer

PAGE_NAME = "index.html"
VIDEO_DIR = "videos"
# The plots eval.davis / eval.summarize write next to a page; the page shows those present.
PLOT_NAMES = ("jf_over_time.png", "per_sequence.png")

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
.videos { display: flex; flex-wrap: wrap; gap: 8px; }
figure { margin: 0 0 1em; } figcaption { font-size: 90%; color: #555; }
video { max-width: 100%; } img { max-width: 48%; }
#video-status { color: #555; }
"""

# Counts the page's videos that load (duration known), and plays groups in sync.
_SCRIPT = """
const videos = Array.from(document.querySelectorAll('video'));
const status = document.getElementById('video-status');
let ready = 0, failed = [];
function show() {
  status.textContent = ready + ' of ' + videos.length + ' videos ready' +
      (failed.length ? '; cannot play: ' + failed.join(', ') : '');
}
videos.forEach(v => {
  const done = () => { if (v.readyState >= 1 && v.duration > 0) { ready++; show(); } };
  if (v.readyState >= 1) done(); else v.addEventListener('loadedmetadata', done, {once: true});
  v.addEventListener('error', () => { failed.push(v.dataset.name); show(); }, {once: true});
});
document.querySelectorAll('[data-sync]').forEach(group => {
  const members = Array.from(group.querySelectorAll('video'));
  members.forEach(v => {
    v.addEventListener('play', () => members.forEach(o => { if (o !== v && o.paused) o.play(); }));
    v.addEventListener('pause', () => members.forEach(o => { if (o !== v && !o.paused) o.pause(); }));
    v.addEventListener('seeked', () => members.forEach(o => {
      if (o !== v && Math.abs(o.currentTime - v.currentTime) > 0.05) o.currentTime = v.currentTime;
    }));
  });
});
show();
"""


def _page(title: str, body: List[str]) -> str:
  return "\n".join([
      "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
      f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
      f"<h1>{html.escape(title)}</h1>", "<p id='video-status'>loading videos...</p>",
      *body, f"<script>{_SCRIPT}</script>", "</body></html>"])


def _table(columns: Sequence[str], rows: List[Dict[str, object]]) -> str:
  head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
  body = []
  for row in rows:
    cells = "".join(f"<td>{row[c]:.3f}</td>" if isinstance(row[c], float)
                    else f"<td>{html.escape(str(row[c]))}</td>" for c in columns)
    body.append(f"<tr>{cells}</tr>")
  return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _video_tag(src: str, name: str) -> str:
  return (f"<video controls muted loop playsinline preload='metadata' data-name="
          f"'{html.escape(name)}' src='{html.escape(src)}'></video>")


def write_sequence_video(davis_root: str, results_dir: str, sequence: str, path: str,
                         fps: float = 24.0) -> None:
  """H.264 of one sequence: the prediction drawn on the frames | the ground truth."""
  frame_paths, _ = video_io.list_frame_files(davis.frame_dir(davis_root, sequence))
  gt_paths = masks_lib.mask_paths(davis.annotation_dir(davis_root, sequence))
  gt_by_name = {os.path.splitext(os.path.basename(p))[0]: p for p in gt_paths}
  first_gt = masks_lib.read_mask(gt_paths[0])
  object_ids = masks_lib.object_ids(first_gt)
  writer = None
  try:
    for index, frame in enumerate(video_io.rgb_images(frame_paths)):
      name = os.path.splitext(os.path.basename(frame_paths[index]))[0]
      pred_path = os.path.join(results_dir, sequence, f"{name}.png")
      pred = masks_lib.read_mask(pred_path) if os.path.exists(pred_path) else None
      gt = masks_lib.read_mask(gt_by_name[name]) if name in gt_by_name else None
      halves = [track_video.draw_overlay(frame, ids=ids, frame_index=index,
                                         object_ids=object_ids)
                if ids is not None and ids.shape == frame.shape[:2] else frame
                for ids in (pred, gt)]
      panel = np.concatenate(halves, axis=1)
      if writer is None:
        writer = video_writer.VideoWriter(path, fps, panel.shape[1], panel.shape[0])
      writer.write(panel)
    if writer is not None:
      writer.close()
      writer = None
  finally:
    if writer is not None:
      writer.abort()


def write_davis_page(davis_root: str, results_dir: str, results: davis.DavisResults,
                     sequences: Sequence[str], title: str) -> str:
  """`index.html` (+ `videos/`) in `results_dir`; returns the page's path."""
  video_dir = os.path.join(results_dir, VIDEO_DIR)
  files.ensure_output_dir(video_dir, "videos folder")
  progress = progress_lib.Progress("videos", len(sequences), unit="sequences")
  for sequence in sequences:
    write_sequence_video(davis_root, results_dir, sequence,
                         os.path.join(video_dir, f"{sequence}.mp4"))
    progress.update(1, extra=sequence)
  body = ["<h2>Global</h2>", _table(davis.GLOBAL_COLUMNS, [results.global_scores()]),
          "<h2>Per object</h2>",
          _table(["object"] + list(davis.GLOBAL_COLUMNS[1:]), results.per_object()),
          "<h2>Plots</h2>"]
  for name in PLOT_NAMES:
    if os.path.exists(os.path.join(results_dir, name)):
      body.append(f"<img src='{name}' alt='{name}'>")
  body.append("<h2>Sequences: prediction | ground truth</h2><div class='videos'>")
  for sequence in sequences:
    body.append(f"<figure>{_video_tag(f'{VIDEO_DIR}/{sequence}.mp4', sequence)}"
                f"<figcaption>{html.escape(sequence)}: prediction (left), ground truth "
                "(right)</figcaption></figure>")
  body.append("</div>")
  path = os.path.join(results_dir, PAGE_NAME)
  with files.atomic_output(path) as tmp_path:
    with open(tmp_path, "w") as f:
      f.write(_page(title, body))
  return path


def write_comparison_page(output_dir: str, names: Sequence[str], results_dirs: Sequence[str],
                          results: Dict[str, davis.DavisResults], sequences: Sequence[str]) -> str:
  """One page: per sequence, each method's prediction | ground truth video, in sync.

  The videos come from each results folder's `videos/` (eval.davis writes
  them) and are copied next to the page, so the page stands alone.
  """
  files.ensure_output_dir(os.path.join(output_dir, VIDEO_DIR), "page folder")
  rows = [{"method": name, **results[name].global_scores()} for name in names]
  plots = [f"<img src='{html.escape(n)}' alt='{html.escape(n)}' style='max-width:48%'>"
           for n in PLOT_NAMES if os.path.exists(os.path.join(output_dir, n))]
  body = ["<h2>Global</h2>", _table(["method"] + list(davis.GLOBAL_COLUMNS), rows),
          *(["<h2>Plots</h2><div>" + "".join(plots) + "</div>"] if plots else []),
          "<h2>Sequences (each: prediction | ground truth; they play together)</h2>"]
  for sequence in sequences:
    body.append(f"<h3>{html.escape(sequence)}</h3><div class='videos' data-sync>")
    for name, folder in zip(names, results_dirs):
      source = os.path.join(folder, VIDEO_DIR, f"{sequence}.mp4")
      if not os.path.exists(source):
        continue
      target = f"{VIDEO_DIR}/{files.check_plain_name(f'{name}_{sequence}', '--names')}.mp4"
      files.copy_file(source, os.path.join(output_dir, target))
      body.append(f"<figure>{_video_tag(target, f'{name} {sequence}')}"
                  f"<figcaption>{html.escape(name)}</figcaption></figure>")
    body.append("</div>")
  path = os.path.join(output_dir, PAGE_NAME)
  with files.atomic_output(path) as tmp_path:
    with open(tmp_path, "w") as f:
      f.write(_page("colortrack: methods side by side", body))
  return path
