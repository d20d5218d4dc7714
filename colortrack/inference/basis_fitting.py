"""Fits an export's feature basis (`feature_basis`) on unlabeled frames, as the tracker sees them."""

import math
from typing import Iterator

import numpy as np

from colortrack import errors
from colortrack.data import video_io
from colortrack.inference import feature_basis
from colortrack.inference import trackers


def sample_frames(input_spec: str, num_frames: int) -> Iterator[np.ndarray]:
  """About `num_frames` uint8 RGB frames, evenly spaced in time, spread over the sources."""
  sources = video_io.find_sources(input_spec)
  if not sources:
    raise errors.UserError(f"{input_spec}: no video files or frame folders found")
  per_source = max(1, math.ceil(num_frames / len(sources)))
  for source in sources:
    total, _ = video_io.frame_count_and_fps(source)
    keep = sorted(set(np.linspace(0, max(total - 1, 0), per_source).round().astype(int)))
    if source.is_frame_folder:  # decode only the frames kept
      paths = video_io.list_frame_files(source.path)[0]
      yield from video_io.rgb_images([paths[i] for i in keep if i < len(paths)])
      continue
    for index, frame in enumerate(video_io.rgb_frames(source)):  # videos decode in order
      if index in keep:
        yield frame
      elif index > keep[-1]:
        break


def fit_for_export(export_dir: str, input_spec: str, num_frames: int = 200,
                   directions: int = 0) -> np.ndarray:
  """Fits and stores the basis of `export_dir`'s features; returns the explained energy.

  Frames are resized as the export's tracker resizes them for masks (`scale`,
  `max_short_side`) and embedded with all of its networks. `directions` > 0 keeps
  that many leading directions of each basis (the rest hold little energy and most
  of the file).
  """
  tracker = trackers.make_tracker("model", export_dir, {"feature_dims": 0})

  def embed(frame):
    size = tracker.processing_size(*frame.shape[:2])
    return tracker.embedder(trackers.resize(frame, *size)[None])[0]

  bases = feature_basis.fit(tracker.embedder, sample_frames(input_spec, num_frames),
                            embed_fn=embed, network_dims=tracker.embedder.network_dims)
  if directions:
    bases = {n: (basis[:, :directions], energy[:directions])
             for n, (basis, energy) in bases.items()}
  feature_basis.save(export_dir, bases, f"fitted on {num_frames} frames of {input_spec}")
  return bases[0][1]
