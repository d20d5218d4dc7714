"""Method name (`config.method`) -> method class; the built-ins are registered here."""

from typing import Dict, Optional, Type

import numpy as np

from colortrack import errors
from colortrack.methods import base
from colortrack.methods import colorization
from colortrack.methods import mast

_METHODS: Dict[str, Type[base.Method]] = {
    colorization.Colorization.name: colorization.Colorization,
    mast.Mast.name: mast.Mast,
}


def register(cls: Type[base.Method]) -> Type[base.Method]:
  """Makes `cls` the method of `config.method == cls.name` (usable as a class decorator)."""
  if not cls.name:
    raise ValueError(f"{cls.__name__}: a method needs a `name`")
  _METHODS[cls.name] = cls
  return cls


def names():
  return sorted(_METHODS)


def get(config, centroids: Optional[np.ndarray] = None,
        num_clusters: Optional[int] = None) -> base.Method:
  """The method object of a training config; `centroids` from the data when training."""
  name = config.get("method", "vondrick")
  if name not in _METHODS:
    raise errors.UserError(f"config.method={name!r}: unknown method; known: {names()}")
  return _METHODS[name](config, centroids=centroids, num_clusters=num_clusters)
