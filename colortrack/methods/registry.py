"""Method name (`config.method`) -> method class; the built-ins are listed here.

Built-ins are imported when first asked for, so a machine without TensorFlow
can train the colorization method (MAST's objective uses TensorFlow ops).
"""

import importlib
from typing import Dict, Optional, Type

import numpy as np

from colortrack import errors
from colortrack.methods import base

_BUILTINS = {
    "vondrick": ("colortrack.methods.colorization", "Colorization"),
    "mast": ("colortrack.methods.mast", "Mast"),
}
_METHODS: Dict[str, Type[base.Method]] = {}


def register(cls: Type[base.Method]) -> Type[base.Method]:
  """Makes `cls` the method of `config.method == cls.name` (usable as a class decorator)."""
  if not cls.name:
    raise ValueError(f"{cls.__name__}: a method needs a `name`")
  _METHODS[cls.name] = cls
  return cls


def names():
  return sorted(set(_METHODS) | set(_BUILTINS))


def method_class(name: str) -> Type[base.Method]:
  if name not in _METHODS and name in _BUILTINS:
    module, attribute = _BUILTINS[name]
    _METHODS[name] = getattr(importlib.import_module(module), attribute)
  if name not in _METHODS:
    raise errors.UserError(f"config.method={name!r}: unknown method; known: {names()}")
  return _METHODS[name]


def get(config, centroids: Optional[np.ndarray] = None,
        num_clusters: Optional[int] = None) -> base.Method:
  """The method object of a training config; `centroids` from the data when training."""
  return method_class(config.get("method", "vondrick"))(config, centroids=centroids,
                                                       num_clusters=num_clusters)
