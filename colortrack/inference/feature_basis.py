"""The principal directions of a model's features, so the pointer can compare fewer dimensions.

The pointer's cost is cells x candidates x reference frames x feature dimensions;
the default model's features have 1,024. Projected on the first k principal
directions (uncentered: the right singular vectors of the feature matrix, fitted
on unlabeled frames), dot products between cells are their best rank-k
approximation, so the same temperature and top-k apply. The basis is stored in
the export folder (`BASIS_NAME`); the test-time setting `feature_dims=k` uses its
first k directions (0: the full features).

  bases = fit(embedder, frames)   # {networks: ([D, K] float32, [K] explained fraction)}
  save(export_dir, bases, info)
  load(export_dir)                # {networks: [D, K]} or None (networks 0: all of them)
"""

import os
from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np

from colortrack import errors
from colortrack.utils import files

BASIS_NAME = "colortrack_basis.npz"
# Directions stored (~1 MiB for the default's 1,024 features): enough for any useful k
# (fewer than 256 lose too much J&F, BENCHMARKS.md "Fast tracking: levers").
MAX_STORED = 256


def fit(embedder, frames: Iterable[np.ndarray], embed_fn=None,
        network_dims: Sequence[int] = ()) -> Dict[int, Tuple[np.ndarray, np.ndarray]]:
  """{networks: (basis `[D_n, K]`, explained energy `[K]`)} of the features of `frames`.

  Accumulates the Gram matrix of every cell's feature vector (no sampling), then
  its eigenvectors by decreasing eigenvalue. `embed_fn(frame) -> [h, w, D]`
  (default: `embedder(frame[None])[0]`) embeds a frame as the tracker does. For
  an ensemble (`network_dims`, its networks' widths) the features of its first n
  networks are the leading block of its features (rescaled), so one Gram matrix
  gives the basis for every n; key 0 is all the networks.
  """
  embed_fn = embed_fn or (lambda frame: embedder(frame[None])[0])
  gram, cells = None, 0
  for frame in frames:
    features = np.asarray(embed_fn(frame), np.float64)
    flat = features.reshape(-1, features.shape[-1])
    gram = flat.T @ flat if gram is None else gram + flat.T @ flat
    cells += len(flat)
  if gram is None:
    raise errors.UserError("no frames to fit the feature basis on")
  gram /= cells
  bases = {0: _principal(gram)}
  for networks in range(1, len(network_dims)):
    width = int(sum(network_dims[:networks]))
    bases[networks] = _principal(gram[:width, :width])
  return bases


def _principal(gram: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
  """(eigenvectors `[D, K]` by decreasing eigenvalue, cumulative energy `[K]`)."""
  values, vectors = np.linalg.eigh(gram)
  values = np.maximum(values, 0.0)
  order = np.argsort(values)[::-1][:MAX_STORED]
  energy = np.cumsum(values[order]) / max(values.sum(), 1e-12)
  return vectors[:, order].astype(np.float32), energy.astype(np.float32)


def save(export_dir: str, bases: Dict[int, Tuple[np.ndarray, np.ndarray]], info: str) -> str:
  path = os.path.join(export_dir, BASIS_NAME)
  arrays = {"info": np.array(info)}
  for networks, (basis, energy) in bases.items():
    arrays[f"basis_{networks}"] = basis.astype(np.float32)
    arrays[f"energy_{networks}"] = energy
  with files.atomic_output(path, known_ours=True) as tmp_path:  # a colortrack export
    with open(tmp_path, "wb") as f:
      np.savez(f, **arrays)
  return path


def load(export_dir: str) -> Optional[Dict[int, np.ndarray]]:
  """{networks: basis `[D_n, K]`} stored with an export (0: all networks), None if none."""
  path = os.path.join(export_dir, BASIS_NAME)
  if not os.path.exists(path):
    return None
  try:
    with np.load(path, allow_pickle=False) as data:
      bases = {int(k.split("_")[1]): data[k].astype(np.float32) for k in data.files
               if k.startswith("basis_")}
  except (OSError, ValueError, KeyError, IndexError) as e:
    raise errors.UserError(f"{path}: unreadable feature basis ({errors.first_line(e)})") from e
  if 0 not in bases or any(b.ndim != 2 or not np.all(np.isfinite(b)) for b in bases.values()):
    raise errors.UserError(f"{path}: the feature basis must hold finite [D, K] matrices")
  return bases
