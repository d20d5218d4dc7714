"""The colour codebook: k-means over Lab `ab` values, quantize and de-quantize.

A codebook file (`.npz`) stores the centroids `[K, 2]` (a, b in Lab units) and
how it was made: number of sampled values, number of videos, seed, the colour
convention and a content hash. The hash is written into every TFRecord so that
clips quantized with one codebook are never decoded with another.
"""

import dataclasses
import hashlib
import json
import os
from typing import Any, Dict, Optional

import numpy as np

from colortrack import errors
from colortrack.utils import files

COLOR_CONVENTION = "sRGB->CIELab D65/2deg; ab in Lab units"
FORMAT_VERSION = 1


class CodebookError(errors.UserError):
  """A codebook file is missing, malformed or does not match the data."""


@dataclasses.dataclass(frozen=True)
class Codebook:
  """K cluster centres in the ab plane, float32 `[K, 2]`."""
  centroids: np.ndarray
  info: Dict[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def num_clusters(self) -> int:
    return int(self.centroids.shape[0])

  @property
  def sha(self) -> str:
    """Hash of the centroids alone: identifies the quantization."""
    return hashlib.sha256(
        np.ascontiguousarray(self.centroids, np.float32).tobytes()).hexdigest()[:16]

  def quantize(self, ab: np.ndarray) -> np.ndarray:
    """ab `[..., 2]` -> uint8 codes `[...]` of the nearest centroid."""
    ab = np.asarray(ab, np.float32)
    flat = ab.reshape(-1, 2)
    centroids = self.centroids.astype(np.float32)
    # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 does not change the argmin.
    scores = flat @ centroids.T * -2.0 + np.sum(centroids ** 2, axis=1)
    return np.argmin(scores, axis=1).astype(np.uint8).reshape(ab.shape[:-1])

  def dequantize(self, codes: np.ndarray) -> np.ndarray:
    """uint codes `[...]` -> ab `[..., 2]` (the centroid of each code)."""
    return self.centroids[np.asarray(codes, np.int64)]


def fit(ab_samples: np.ndarray, num_clusters: int = 16, seed: int = 0,
        info: Optional[Dict[str, Any]] = None) -> Codebook:
  """k-means (scikit-learn) on `[N, 2]` ab samples; centroids sorted by hue angle."""
  from sklearn.cluster import KMeans  # pylint: disable=g-import-not-at-top
  ab_samples = np.asarray(ab_samples, np.float32).reshape(-1, 2)
  if len(ab_samples) < num_clusters:
    raise CodebookError(
        f"need at least {num_clusters} ab samples to fit {num_clusters} clusters, "
        f"got {len(ab_samples)}")
  kmeans = KMeans(n_clusters=num_clusters, n_init=4, random_state=seed)
  kmeans.fit(ab_samples)
  centroids = kmeans.cluster_centers_.astype(np.float32)
  # A stable order (by angle, gray-ish first) makes codebooks comparable by eye.
  chroma = np.hypot(centroids[:, 0], centroids[:, 1])
  angle = np.arctan2(centroids[:, 1], centroids[:, 0])
  order = np.lexsort((angle, chroma > 10.0))
  counts = np.bincount(kmeans.labels_, minlength=num_clusters)[order]
  full_info = dict(info or {})
  full_info.update({
      "num_samples": int(len(ab_samples)),
      "seed": int(seed),
      "cluster_fractions": (counts / counts.sum()).round(6).tolist(),
      "inertia_per_sample": float(kmeans.inertia_ / len(ab_samples)),
  })
  return Codebook(centroids=centroids[order], info=full_info)


def save(codebook: Codebook, path: str) -> None:
  info = dict(codebook.info)
  info.update({"color_convention": COLOR_CONVENTION, "format_version": FORMAT_VERSION,
               "num_clusters": codebook.num_clusters, "sha": codebook.sha})
  with files.atomic_output(path) as tmp_path:
    with open(tmp_path, "wb") as f:
      np.savez(f, centroids=codebook.centroids.astype(np.float32),
               info=np.array(json.dumps(info, sort_keys=True)))


def load(path: str) -> Codebook:
  """Loads and validates a codebook; raises CodebookError naming the file."""
  if not os.path.exists(path):
    raise CodebookError(f"{path}: codebook file not found (make one with "
                        "`python -m data_prep.fit_codebook`)")
  if os.path.isdir(path):
    raise CodebookError(f"{path}: is a folder, not a codebook file")
  try:
    data = np.load(path, allow_pickle=False)
    if not isinstance(data, np.lib.npyio.NpzFile):
      raise ValueError("a single .npy array, not the .npz fit_codebook writes")
    with data:
      if "centroids" not in data:
        raise ValueError(f"no 'centroids' entry (has {sorted(data.keys())[:4]})")
      centroids = np.asarray(data["centroids"], np.float32)
      info = json.loads(str(data["info"])) if "info" in data else {}
      if not isinstance(info, dict):
        raise ValueError("its 'info' entry is not a JSON object")
  except Exception as e:  # pylint: disable=broad-except
    # np.load raises many types for damaged files (BadZipFile, EOFError, ValueError...).
    raise CodebookError(f"{path}: not a colortrack codebook ({errors.first_line(e)})") from e
  if centroids.ndim != 2 or centroids.shape[1] != 2 or not 2 <= len(centroids) <= 256:
    raise CodebookError(f"{path}: centroids must have shape [K, 2] with 2 <= K <= 256, "
                        f"got {list(centroids.shape)}")
  if not np.all(np.isfinite(centroids)):
    raise CodebookError(f"{path}: centroids contain NaN or inf")
  if info.get("color_convention", COLOR_CONVENTION) != COLOR_CONVENTION:
    raise CodebookError(f"{path}: made for colour convention "
                        f"{info.get('color_convention')!r}, expected {COLOR_CONVENTION!r}")
  return Codebook(centroids=centroids, info=info)


class ReservoirSampler:
  """Uniform sample of at most `capacity` rows from a stream, mergeable across processes.

  Bottom-k sampling: each row gets a uniform random key, drawn from a generator
  seeded by (`seed`, the index of the source the row came from), and the sample
  is the `capacity` rows of smallest key, in key order. A row's key depends only
  on the seed, its source and its place in that source, so sampling the sources
  in parts (the tasks of a job array) and merging the parts' samples (`merge`)
  gives exactly the sample of one pass over all of them. Memory stays within
  2 x `capacity` rows whatever the dataset size; every row has the same
  probability of being kept.
  """

  def __init__(self, capacity: int, dim: int, seed: int = 0):
    self.capacity = capacity
    self.dim = dim
    self.seed = seed
    self.seen = 0
    self._rows = np.zeros((0, dim), np.float32)
    self._keys = np.zeros((0,), np.float64)

  def add(self, rows: np.ndarray, source_index: int = 0) -> None:
    """All the rows of source number `source_index` (in the sorted listing), at once."""
    rows = np.asarray(rows, np.float32).reshape(-1, self.dim)
    keys = np.random.default_rng([self.seed, source_index]).random(len(rows))
    self._extend(rows, keys, len(rows))

  def _extend(self, rows: np.ndarray, keys: np.ndarray, seen: int) -> None:
    self._rows = np.concatenate([self._rows, rows])
    self._keys = np.concatenate([self._keys, keys])
    self.seen += seen
    if len(self._keys) > 2 * self.capacity:
      self._trim()

  def _trim(self) -> None:
    order = np.argsort(self._keys, kind="stable")[:self.capacity]
    self._rows, self._keys = self._rows[order], self._keys[order]

  def state(self) -> dict:
    """What a task saves for `merge`: its sample's rows and keys, and the rows it saw."""
    self._trim()
    return {"rows": self._rows.copy(), "keys": self._keys.copy(), "seen": self.seen}

  def merge(self, state: dict) -> None:
    """Adds another part's `state()` (sampled with the same seed, from other sources)."""
    self._extend(np.asarray(state["rows"], np.float32), np.asarray(state["keys"], np.float64),
                 int(state["seen"]))

  def result(self) -> np.ndarray:
    """The sample, `[min(seen, capacity), dim]`, rows in key order."""
    self._trim()
    return self._rows.copy()
