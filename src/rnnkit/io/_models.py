"""Models in files: configuration plus weights, checked before and after building.

A model is stored as ``{"config": module_config(model), "parameters": [names]}`` in the
description and one array per parameter under ``prefix + name``. Saving refuses NaN/inf
weights. Loading checks, in this order, that the entry is well formed, that every named
weight is there, real (float16/32/64) and finite, builds the module within the budget of
:func:`rnnkit.io._modules.build_within`, and then that its parameters have exactly the
saved names and shapes. Every failure is a :class:`~rnnkit.errors.FileFormatError` naming
the file.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from rnnkit.errors import FileFormatError
from rnnkit.io._archive import FORMAT_VERSION, read_archive, write_archive
from rnnkit.io._modules import build_within, module_config
from rnnkit.io._values import pack, unpack
from rnnkit.nn.module import Module

__all__ = ["MODEL_FORMAT", "model_state", "restore_model", "load_weights", "save_model", "load_model",
           "file_errors", "check_finite_parameters"]

MODEL_FORMAT = "rnnkit.model"
_WEIGHT_DTYPES = (np.dtype("<f2"), np.dtype("<f4"), np.dtype("<f8"))


@contextlib.contextmanager
def file_errors(source, what: str = "model"):
    """Turn what a bad file makes the code below raise into a FileFormatError naming ``source``
    (and ``what`` was being rebuilt)."""
    source = None if source is None else os.fspath(source)
    try:
        yield
    except FileFormatError as err:
        if source is not None and not str(err).startswith(source):
            raise FileFormatError(f"{source}: {err}") from None
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError,
            MemoryError) as err:
        where = f"{source}: " if source is not None else ""
        raise FileFormatError(f"{where}the saved {what} is malformed or does not build "
                              f"({type(err).__name__}: {str(err)[:300]})") from None


def check_finite_parameters(model: Module, action: str = "save") -> None:
    """``ValueError`` naming the first parameter that holds NaN or inf."""
    for name, p in model.named_parameters():
        bad = np.size(p.data) - np.count_nonzero(np.isfinite(p.data))
        if bad:
            raise ValueError(f"refusing to {action} a model whose parameter {name!r} holds {bad} NaN/inf "
                             f"value(s) of {np.size(p.data)}; a diverged model cannot predict")


def model_state(model: Module, arrays: dict[str, np.ndarray], prefix: str) -> dict:
    """Put ``model``'s configuration in a JSON dict and its weights in ``arrays``; NaN or inf
    weights are a ``ValueError``."""
    check_finite_parameters(model)
    config = module_config(model, arrays)
    names = []
    for name, p in model.named_parameters():
        arrays[prefix + name] = p.data
        names.append(name)
    return {"config": config, "parameters": names}


def _saved_weights(entry, arrays, prefix: str) -> dict[str, np.ndarray]:
    if not isinstance(entry, dict) or not {"config", "parameters"} <= set(entry):
        raise FileFormatError(f"the model entry must be a JSON object with 'config' and 'parameters', "
                              f"got {entry!r:.80}")
    names = entry["parameters"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise FileFormatError(f"'parameters' must be a list of distinct names, got {names!r:.80}")
    state = {}
    for name in names:
        a = arrays.get(prefix + name)
        if a is None:
            raise FileFormatError(f"missing weights {name!r}")
        if a.dtype not in _WEIGHT_DTYPES:
            raise FileFormatError(f"weights {name!r} must be float16, float32 or float64, got {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise FileFormatError(f"weights {name!r} hold NaN or inf")
        state[name] = a
    return state


def _load_state(model: Module, state: dict[str, np.ndarray]) -> None:
    own = dict(model.named_parameters())
    if list(own) != list(state):
        raise FileFormatError(f"the saved parameters {list(state)} are not the model's {list(own)}")
    for name, p in own.items():
        if p.shape != state[name].shape:
            raise FileFormatError(f"weights {name!r} have shape {state[name].shape}, the model's are {p.shape}")
    dtypes = {a.dtype for a in state.values()}
    if len(dtypes) == 1:                       # a model .double()-ed after construction
        dt = dtypes.pop()
        if dt in (np.float32, np.float64) and any(p.dtype != dt for p in own.values()):
            model.to(dt)
    model.load_state_dict(state)


def restore_model(meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> Module:
    """Rebuild a model saved by :func:`model_state` (allow-listed classes only, within the
    size budget of the weights the file holds)."""
    with file_errors(getattr(arrays, "source", None)):
        state = _saved_weights(meta, arrays, prefix)
        model = build_within(meta["config"], arrays, sum(a.size for a in state.values()))
        _load_state(model, state)
    return model


def load_weights(model: Module, meta: dict, arrays: dict[str, np.ndarray], prefix: str) -> None:
    """Copy saved weights into ``model`` (same parameter names and shapes), casting the model
    first if the saved weights have another float dtype."""
    with file_errors(getattr(arrays, "source", None)):
        _load_state(model, _saved_weights(meta, arrays, prefix))


def save_model(model: Module, path, metadata: dict | None = None) -> None:
    """Save ``model`` with its configuration to ``path`` (one file, atomic, no pickle; see
    docs/file_format.md). Refuses NaN/inf weights with ``ValueError``.

    ``metadata``: optional JSON-able dict stored alongside (e.g. a vocabulary).
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be an rnnkit.nn.Module, got {type(model).__name__}")
    arrays: dict[str, np.ndarray] = {}
    meta = {
        "format": MODEL_FORMAT,
        "version": FORMAT_VERSION,
        "model": model_state(model, arrays, "param/"),
        "metadata": pack(metadata, arrays, "metadata"),
    }
    write_archive(path, meta, arrays)


def load_model(path, return_metadata: bool = False):
    """Load a model saved by :func:`save_model`; optionally also return its ``metadata``."""
    meta, arrays = read_archive(path, MODEL_FORMAT)
    with file_errors(arrays.source):
        if "model" not in meta:
            raise FileFormatError("missing entry 'model'")
        model = restore_model(meta["model"], arrays, "param/")
        metadata = unpack(meta.get("metadata"), arrays, "metadata")
    return (model, metadata) if return_metadata else model
