"""One file per fitted estimator, and :func:`load` for estimators and bare models alike.

The file is an rnnkit file (:mod:`rnnkit.io`, docs/file_format.md: arrays in the safetensors
layout plus a JSON description, written atomically, read without pickle) whose description is::

    {"format": "rnnkit.estimator", "version": 1,
     "class": "RNNClassifier",                 # an allow-listed estimator class
     "params": {...},                          # get_params(), JSON (arrays by reference)
     "state": {...},                           # _fitted_state(): scalers, labels, vocabulary
     "model": {"config": ..., "parameters": [...]},   # the network (rnnkit.serialization)
     "rnnkit_version": "0.1.0"}

Only classes passed to :func:`register_estimator` are rebuilt (every estimator of
:mod:`rnnkit.estimators` registers itself), so loading never runs code named by the file.
"""

from __future__ import annotations

from rnnkit.errors import FileFormatError
from rnnkit.io import (
    MODEL_FORMAT,
    file_errors,
    model_state,
    pack,
    read_archive,
    restore_model,
    unpack,
    write_archive,
)

__all__ = ["ESTIMATOR_FORMAT", "register_estimator", "save_estimator", "load_estimator", "load"]

ESTIMATOR_FORMAT = "rnnkit.estimator"
ESTIMATOR_VERSION = 1
_ESTIMATORS: dict[str, type] = {}


def register_estimator(cls: type) -> type:
    """Allow :func:`load` to rebuild ``cls`` (a :class:`BaseEstimator` subclass); a decorator."""
    from rnnkit.estimators._base import BaseEstimator

    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise TypeError(f"register_estimator expects a BaseEstimator subclass, got {cls!r}")
    taken = _ESTIMATORS.get(cls.__name__)
    if taken is not None and taken is not cls:
        raise ValueError(f"estimator name {cls.__name__!r} is already registered for {taken.__module__}")
    _ESTIMATORS[cls.__name__] = cls
    return cls


def save_estimator(est, path) -> None:
    """Write ``est`` (fitted) to ``path``: see the module docstring for the layout."""
    import rnnkit
    from rnnkit.estimators._base import check_is_fitted

    check_is_fitted(est, "save")
    name = type(est).__name__
    if _ESTIMATORS.get(name) is not type(est):
        raise TypeError(f"cannot save {type(est).__module__}.{name}: register it with "
                        "rnnkit.estimators.register_estimator")
    arrays: dict = {}
    params = {}
    for k, v in est.get_params().items():
        try:
            params[k] = pack(v, arrays, f"{name} parameter {k}")
        except TypeError as err:
            raise TypeError(f"cannot save {name}: parameter {k}={v!r} is not a plain value ({err})") from None
    meta = {
        "format": ESTIMATOR_FORMAT,
        "version": ESTIMATOR_VERSION,
        "class": name,
        "params": params,
        "state": pack(est._fitted_state(), arrays, f"{name} fitted state"),
        "model": model_state(est.model_, arrays, "param/"),
        "rnnkit_version": rnnkit.__version__,
    }
    write_archive(path, meta, arrays)


def _rebuild(path, meta: dict, arrays: dict, expected: type | None):
    name = meta.get("class")
    cls = _ESTIMATORS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise FileFormatError(f"{path}: unknown estimator class {name!r:.80} (known: {sorted(_ESTIMATORS)})")
    if expected is not None and not issubclass(cls, expected):
        raise FileFormatError(f"{path}: holds a {name}, not a {expected.__name__}")
    for key in ("params", "state", "model"):
        if key not in meta:
            raise FileFormatError(f"{path}: missing entry {key!r}")
    raw = meta["params"]
    if not isinstance(raw, dict) or not set(raw) <= set(cls._param_names()):
        got = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise FileFormatError(f"{path}: parameters {got} do not fit {name} (its parameters: {cls._param_names()})")
    with file_errors(path, name):
        params = {k: unpack(v, arrays, f"parameter {k}") for k, v in raw.items()}
        est = cls(**params)
        state = unpack(meta["state"], arrays, "state")
        if not isinstance(state, dict):
            raise FileFormatError(f"the fitted state must be a JSON object, got {type(state).__name__}")
        est._set_fitted_state(state)
        est.model_ = restore_model(meta["model"], arrays, "param/")
    return est


def load_estimator(path, expected: type | None = None):
    """The estimator saved at ``path`` (a subclass of ``expected`` when given)."""
    meta, arrays = read_archive(path, ESTIMATOR_FORMAT)
    return _rebuild(path, meta, arrays, expected)


def load(path):
    """Load what rnnkit saved at ``path``: a fitted estimator (``est.save``) or a model
    (:func:`rnnkit.save_model`, ``rnnkit train``'s ``model.npz``; files of rnnkit 0.1 too).

    Example::

        est = rnnkit.load("runs/vowels/model.npz")
        est.predict(X_new)
    """
    meta, arrays = read_archive(path)
    fmt = meta.get("format")
    if fmt == ESTIMATOR_FORMAT:
        return _rebuild(path, meta, arrays, None)
    if fmt == MODEL_FORMAT:
        if "model" not in meta:
            raise FileFormatError(f"{path}: missing entry 'model'")
        with file_errors(path):
            return restore_model(meta["model"], arrays, "param/")
    raise FileFormatError(f"{path}: not an rnnkit estimator or model file (format {fmt!r})")
