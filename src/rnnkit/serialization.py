"""Saving and loading without pickle: ``.npz`` arrays plus a JSON description.

A file is one ``np.savez`` archive. The key ``__meta__`` holds UTF-8 JSON (as a uint8
array); every other key is a plain numeric array. Nested Python values (optimizer state,
history, module configuration) are turned into JSON by :func:`pack`, with each ndarray
moved out to its own archive key and replaced by a reference. Reading uses
``np.load(..., allow_pickle=False)`` and builds modules only from an allow-list of classes
(everything exported by :mod:`rnnkit.nn`, and the classes passed to :func:`register`,
as every model of :mod:`rnnkit.models` does), so loading a file never imports or runs anything named
in it.

Writes are atomic: the archive goes to a temporary file in the destination directory,
is flushed and ``fsync``-ed, then ``os.replace``-d over the destination. A crash mid-write
leaves the previous file untouched.

Example::

    model = nn.GRU(8, 16, num_layers=2)
    rnnkit.save_model(model, "gru.npz")
    same = rnnkit.load_model("gru.npz")      # same class, arguments and weights
"""

from __future__ import annotations

import glob
import json
import math
import numbers
import os
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from rnnkit.errors import FileFormatError
from rnnkit.nn.module import Module

__all__ = [
    "save_model", "load_model", "register", "allowed_classes", "module_config", "build_module",
    "pack", "unpack", "write_npz_atomic", "read_npz", "FileFormatError",
]

FORMAT_VERSION = 1
MODEL_FORMAT = "rnnkit.model"
_META_KEY = "__meta__"
_REGISTRY: dict[str, type] = {}




# -- the allow-list ---------------------------------------------------------------------
def register(cls: type, name: str | None = None) -> type:
    """Allow :func:`load_model` to build ``cls`` (a :class:`~rnnkit.nn.Module` subclass).

    Usable as a decorator. ``name`` defaults to ``cls.__name__``; a name already taken by
    another class raises ``ValueError``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register expects a Module subclass, got {cls!r}")
    key = cls.__name__ if name is None else name
    if not isinstance(key, str) or not key:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    taken = allowed_classes().get(key)
    if taken is not None and taken is not cls:
        raise ValueError(f"class name {key!r} is already registered for {taken.__module__}.{taken.__qualname__}")
    _REGISTRY[key] = cls
    return cls


def allowed_classes() -> dict[str, type]:
    """``{name: class}`` of every module class a file may name."""
    from rnnkit import nn

    out: dict[str, type] = {}
    for name in nn.__all__:
        obj = getattr(nn, name, None)
        if isinstance(obj, type) and issubclass(obj, Module):
            out[name] = obj
    out.update(_REGISTRY)
    return out


def _class_name(module: Module) -> str:
    cls = type(module)
    for name, c in allowed_classes().items():
        if c is cls:
            return name
    raise TypeError(
        f"cannot save {cls.__module__}.{cls.__qualname__}: it is not an rnnkit.nn class; "
        "allow it with rnnkit.serialization.register(cls)"
    )


# -- nested values <-> JSON + arrays ----------------------------------------------------
def pack(obj, arrays: dict[str, np.ndarray], where: str = "value"):
    """Encode ``obj`` as JSON-able data; ndarrays are stored in ``arrays`` by reference.

    Handles None, bool, int, float (also inf/nan), str, list, tuple, dict (any keys that
    are themselves packable; OrderedDict kept), NumPy scalars and arrays, dtypes, and modules (by their
    recorded configuration). ``numpy.random.Generator`` values become None. Anything else
    raises ``TypeError`` naming ``where``.
    """
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
        if obj.dtype == object:
            raise TypeError(f"{where}: object arrays cannot be saved")
        key = f"arr/{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.dtype) or (isinstance(obj, type) and issubclass(obj, np.generic)):
        return {"__dtype__": np.dtype(obj).name}
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
    raise TypeError(f"{where}: cannot save a value of type {type(obj).__name__} ({obj!r})")


def unpack(data, arrays, where: str = "value"):
    """Inverse of :func:`pack`; modules are rebuilt from the allow-list only."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [unpack(v, arrays, where) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise FileFormatError(f"{where}: malformed entry {data!r:.80}")
    (tag, body), = data.items()
    if tag == "__array__":
        if body not in arrays:
            raise FileFormatError(f"{where}: missing array {body!r}")
        return arrays[body]
    if tag == "__float__":
        if body not in ("inf", "-inf", "nan"):
            raise FileFormatError(f"{where}: bad float {body!r}")
        return float(body)
    if tag == "__dtype__":
        if body not in ("float32", "float64", "float16", "int32", "int64", "bool", "uint8"):
            raise FileFormatError(f"{where}: unsupported dtype {body!r}")
        return np.dtype(body)
    if tag == "__tuple__":
        return tuple(unpack(v, arrays, where) for v in body)
    if tag in ("__dict__", "__odict__"):
        kind = OrderedDict if tag == "__odict__" else dict
        return kind((_hashable(unpack(k, arrays, where)), unpack(v, arrays, where)) for k, v in body)
    if tag == "__module__":
        return build_module(body, arrays)
    raise FileFormatError(f"{where}: unknown tag {tag!r}")


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


# -- module configuration ---------------------------------------------------------------
def module_config(module: Module, arrays: dict[str, np.ndarray] | None = None) -> dict:
    """JSON-able ``{"class", "args", "kwargs"}`` that rebuilds ``module`` (without weights).

    The ``rng`` argument is left out (the weights are loaded afterwards anyway).
    """
    if not isinstance(module, Module):
        raise TypeError(f"module must be an rnnkit.nn.Module, got {type(module).__name__}")
    config = module.__dict__.get("_config")
    if config is None and type(module).__init__ is Module.__init__:
        config = ((), {})           # a class without its own __init__ takes no arguments
    if config is None:
        raise TypeError(f"{type(module).__name__} has no recorded constructor arguments")
    arrays = {} if arrays is None else arrays
    name = _class_name(module)
    args, kwargs = config
    return {
        "class": name,
        "args": [pack(v, arrays, f"{name} argument {i}") for i, v in enumerate(args)],
        "kwargs": {k: pack(v, arrays, f"{name}({k}=...)") for k, v in kwargs.items() if k != "rng"},
    }


def build_module(config, arrays=None) -> Module:
    """Build a module from :func:`module_config` output; the class must be allow-listed."""
    if not isinstance(config, dict) or set(config) != {"class", "args", "kwargs"}:
        raise FileFormatError(f"module configuration must have keys class/args/kwargs, got {config!r:.80}")
    name = config["class"]
    cls = allowed_classes().get(name) if isinstance(name, str) else None
    if cls is None:
        raise FileFormatError(
            f"unknown module class {name!r}: only rnnkit.nn classes and "
            "classes passed to rnnkit.serialization.register() can be loaded"
        )
    if not isinstance(config["args"], list) or not isinstance(config["kwargs"], dict):
        raise FileFormatError(f"{name}: configuration args must be a list and kwargs an object, got "
                              f"{type(config['args']).__name__} and {type(config['kwargs']).__name__}")
    arrays = {} if arrays is None else arrays
    args = [unpack(v, arrays, f"{name} argument") for v in config["args"]]
    kwargs = {str(k): unpack(v, arrays, f"{name}({k}=...)") for k, v in config["kwargs"].items()}
    return cls(*args, **kwargs)


# -- files ------------------------------------------------------------------------------
def write_npz_atomic(path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``meta`` (JSON) and ``arrays`` to ``path`` atomically (temp file + fsync + replace)."""
    path = os.fspath(path)
    if _META_KEY in arrays:
        raise ValueError(f"arrays must not use the reserved key {_META_KEY!r}")
    text = json.dumps(meta, allow_nan=False)
    payload = dict(arrays)
    payload[_META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    prefix = ".tmp-" + os.path.basename(path) + "-"
    for stale in glob.glob(os.path.join(glob.escape(directory), glob.escape(prefix) + "*")):
        try:                                   # left by a writer killed mid-write; path itself is intact
            os.unlink(stale)
        except OSError:
            pass
    fd, tmp = tempfile.mkstemp(prefix=prefix, dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_npz(path, expected_format: str | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """Read a file written by :func:`write_npz_atomic`: ``(meta, arrays)``; never unpickles."""
    path = os.fspath(path)
    if os.path.isfile(path) and not zipfile.is_zipfile(path):     # a .npy or a CSV is no archive
        raise FileFormatError(f"{path}: not a readable rnnkit archive (not a zip/.npz file)")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:   # BadZipFile: a truncated file
        if isinstance(err, FileNotFoundError):
            raise
        raise FileFormatError(f"{path}: not a readable rnnkit .npz file ({err})") from err
    raw = arrays.pop(_META_KEY, None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise FileFormatError(f"{path}: no {_META_KEY} entry; not an rnnkit file")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:   # RecursionError: absurd nesting
        raise FileFormatError(f"{path}: corrupt {_META_KEY} JSON ({err})") from err
    if not isinstance(meta, dict):
        raise FileFormatError(f"{path}: {_META_KEY} must be a JSON object")
    if expected_format is not None and meta.get("format") != expected_format:
        raise FileFormatError(f"{path}: expected a {expected_format!r} file, got format {meta.get('format')!r}")
    version = meta.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise FileFormatError(f"{path}: file version must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise FileFormatError(f"{path}: file version {meta.get('version')} is newer than {FORMAT_VERSION}")
    return meta, arrays


# -- models -----------------------------------------------------------------------------
def model_state(model: Module, arrays: dict[str, np.ndarray], prefix: str) -> dict:
    """Put ``model``'s configuration in a JSON dict and its weights in ``arrays``."""
    config = module_config(model, arrays)
    names = []
    for name, p in model.named_parameters():
        arrays[prefix + name] = p.data
        names.append(name)
    return {"config": config, "parameters": names}


def restore_model(meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> Module:
    """Rebuild a model saved by :func:`model_state` (allow-listed classes only)."""
    model = build_module(meta["config"], arrays)
    load_weights(model, meta, arrays, prefix)
    return model


def load_weights(model: Module, meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> None:
    """Copy saved weights into ``model`` (same parameter names), casting the model first if
    the saved weights have another float dtype (a model ``.double()``-ed after construction)."""
    state = {}
    for name in meta["parameters"]:
        if prefix + name not in arrays:
            raise FileFormatError(f"missing weights {name!r}")
        state[name] = arrays[prefix + name]
    dtypes = {a.dtype for a in state.values()}
    if len(dtypes) == 1:
        dt = dtypes.pop()
        if dt in (np.float32, np.float64) and any(p.dtype != dt for p in model.parameters()):
            model.to(dt)
    model.load_state_dict(state)


def save_model(model: Module, path, metadata: dict | None = None) -> None:
    """Save ``model`` with its configuration to ``path`` (``.npz``, atomic, no pickle).

    ``metadata``: optional JSON-able dict stored alongside (e.g. a vocabulary).
    """
    arrays: dict[str, np.ndarray] = {}
    meta = {
        "format": MODEL_FORMAT,
        "version": FORMAT_VERSION,
        "model": model_state(model, arrays, "param/"),
        "metadata": pack(metadata, arrays, "metadata"),
    }
    write_npz_atomic(path, meta, arrays)


def load_model(path, return_metadata: bool = False):
    """Load a model saved by :func:`save_model`; optionally also return its ``metadata``."""
    meta, arrays = read_npz(path, MODEL_FORMAT)
    try:
        model = restore_model(meta["model"], arrays, "param/")
        metadata = unpack(meta.get("metadata"), arrays, "metadata")
    except KeyError as err:
        raise FileFormatError(f"{path}: missing entry {err}") from err
    return (model, metadata) if return_metadata else model
