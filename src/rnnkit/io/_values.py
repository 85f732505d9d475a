"""Nested Python values <-> JSON with the arrays moved out (optimizer state, history, configs).

:func:`pack` turns a value into JSON-able data, storing each ndarray in a dict under a new
key and leaving ``{"__array__": key}`` in its place; :func:`unpack` reverses it and, since
its input comes from a file, checks every entry (a malformed one is a
:class:`~rnnkit.errors.FileFormatError`). Modules are rebuilt only from the allow-list of
:mod:`rnnkit.io._modules`.
"""

from __future__ import annotations

import math
import numbers
from collections import OrderedDict

import numpy as np

from rnnkit.errors import FileFormatError
from rnnkit.nn.module import Module

__all__ = ["pack", "unpack"]

MAX_DEPTH = 64                         # nesting a file may use
_DTYPE_NAMES = ("float32", "float64", "float16", "int32", "int64", "bool", "uint8")


def pack(obj, arrays: dict[str, np.ndarray], where: str = "value"):
    """Encode ``obj`` as JSON-able data; ndarrays are stored in ``arrays`` by reference.

    Handles None, bool, int, float (also inf/nan), str, list, tuple, dict (any keys that
    are themselves packable; OrderedDict kept), NumPy scalars and arrays, dtypes, and modules (by their
    recorded configuration). ``numpy.random.Generator`` values become None. Anything else
    (complex numbers and arrays too) raises ``TypeError`` naming ``where``.
    """
    from rnnkit.io._modules import module_config

    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        v = float(obj)
        return v if math.isfinite(v) else {"__float__": repr(v)}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufUSMm" or obj.dtype.fields is not None or obj.dtype.subdtype is not None:
            raise TypeError(f"{where}: arrays of dtype {obj.dtype} cannot be saved "
                            "(numeric, boolean, string and datetime arrays can)")
        key = f"arr/{len(arrays)}"
        while key in arrays:
            key += "_"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.dtype) or (isinstance(obj, type) and issubclass(obj, np.generic)):
        name = np.dtype(obj).name
        if name not in _DTYPE_NAMES:
            raise TypeError(f"{where}: dtype {name} cannot be saved (one of {_DTYPE_NAMES})")
        return {"__dtype__": name}
    if isinstance(obj, list):
        return [pack(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"__tuple__": [pack(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, dict):
        tag = "__odict__" if isinstance(obj, OrderedDict) else "__dict__"
        return {tag: [[pack(k, arrays, f"{where} key"), pack(v, arrays, f"{where}[{k!r}]")]
                      for k, v in obj.items()]}
    if isinstance(obj, Module):
        return {"__module__": module_config(obj, arrays)}
    if isinstance(obj, np.random.Generator):
        return None
    raise TypeError(f"{where}: cannot save a value of type {type(obj).__name__} ({obj!r:.80})")


def unpack(data, arrays, where: str = "value", _depth: int = 0):
    """Inverse of :func:`pack`; modules are rebuilt from the allow-list only. Messages name
    the file when ``arrays`` came from :func:`rnnkit.io.read_archive`."""
    source = getattr(arrays, "source", None)
    if _depth == 0 and source is not None and not where.startswith(source):
        where = f"{source}: {where}"
    if _depth > MAX_DEPTH:
        raise FileFormatError(f"{where}: nested more than {MAX_DEPTH} levels deep")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    d = _depth + 1
    if isinstance(data, list):
        return [unpack(v, arrays, where, d) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise FileFormatError(f"{where}: malformed entry {data!r:.80}")
    (tag, body), = data.items()
    if tag == "__array__":
        if not isinstance(body, str) or body not in arrays:
            raise FileFormatError(f"{where}: missing array {body!r:.80}")
        return arrays[body]
    if tag == "__float__":
        if body not in ("inf", "-inf", "nan"):
            raise FileFormatError(f"{where}: bad float {body!r:.80}")
        return float(body)
    if tag == "__dtype__":
        if body not in _DTYPE_NAMES:
            raise FileFormatError(f"{where}: unsupported dtype {body!r:.80}")
        return np.dtype(body)
    if tag == "__tuple__":
        if not isinstance(body, list):
            raise FileFormatError(f"{where}: a tuple must be a JSON list, got {body!r:.80}")
        return tuple(unpack(v, arrays, where, d) for v in body)
    if tag in ("__dict__", "__odict__"):
        if not isinstance(body, list) or not all(isinstance(kv, list) and len(kv) == 2 for kv in body):
            raise FileFormatError(f"{where}: a dict must be a JSON list of [key, value] pairs, got {body!r:.80}")
        kind = OrderedDict if tag == "__odict__" else dict
        out = kind()
        for k, v in body:
            key = _hashable(unpack(k, arrays, where, d), where)
            out[key] = unpack(v, arrays, where, d)
        return out
    if tag == "__module__":
        from rnnkit.io._modules import build_module

        return build_module(body, arrays, _depth=d)
    raise FileFormatError(f"{where}: unknown tag {tag!r:.80}")


def _hashable(k, where: str):
    if isinstance(k, list):
        k = tuple(_hashable(v, where) for v in k)
    try:
        hash(k)
    except TypeError:
        raise FileFormatError(f"{where}: a dict key must be a plain value, got {type(k).__name__}") from None
    return k
