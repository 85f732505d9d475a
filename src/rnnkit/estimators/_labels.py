"""Labels of any hashable type <-> class ids, as scikit-learn's ``LabelEncoder`` sorts them.

::

    classes = fit_classes(y)                 # sorted unique labels (np.unique for plain dtypes)
    ids = encode_labels(y, classes, "y")     # (N,) int64 in [0, K); unseen labels -> ValueError
    classes[ids]                             # back to the labels

Labels are kept with their type: a list of ``str`` gives a ``'<U'`` array, ``int`` an integer
array, ``bool`` a bool array; tuples, ``None`` or mixed non-numeric types give an object array
(sorted with Python's ``sorted``, so the labels must be comparable, as scikit-learn requires).
``classes_state`` / ``classes_from_state`` store them in a saved file without pickle.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_label_array", "fit_classes", "encode_labels", "classes_state", "classes_from_state",
           "label_index"]


def _kind(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, numbers.Number):
        return "number"
    if isinstance(v, (str, np.str_)):
        return "str"
    return "other"


def as_label_array(y, name: str = "y") -> np.ndarray:
    """``y`` as a 1-D label array: a plain dtype when the labels are one kind, else objects."""
    if hasattr(y, "detach") and hasattr(y, "numpy"):      # a torch tensor
        y = y.detach().cpu().numpy()
    if isinstance(y, np.ndarray):
        arr = y
    else:
        try:
            values = list(y)
        except TypeError:
            raise TypeError(f"{name} must be a sequence of labels, got {type(y).__name__}") from None
        kinds = {_kind(v) for v in values}
        arr = None
        if len(kinds) == 1 and kinds <= {"bool", "number", "str"}:
            arr = np.asarray(values)
            if arr.ndim != 1 or arr.dtype == object:
                arr = None
        if arr is None:
            arr = np.empty(len(values), dtype=object)
            for i, v in enumerate(values):
                arr[i] = v
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per example), got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr))[:5].tolist()
        raise ValueError(f"{name} holds non-finite labels at examples {bad}")
    if arr.dtype == object:
        for i, v in enumerate(arr):
            try:
                hash(v)
            except TypeError:
                raise TypeError(f"{name}[{i}] must be hashable, got {type(v).__name__} {v!r:.40}") from None
            if isinstance(v, float) and not np.isfinite(v):
                raise ValueError(f"{name}[{i}] is a non-finite label ({v})")
    return arr


def fit_classes(y: np.ndarray, name: str = "y") -> np.ndarray:
    """The sorted distinct labels of ``y`` (an :func:`as_label_array` result)."""
    if y.dtype != object:
        return np.unique(y)
    try:
        values = sorted(set(y.tolist()))
    except TypeError as err:
        raise TypeError(f"{name}: the labels must be comparable with each other to be sorted "
                        f"(as scikit-learn requires), got {err}") from None
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def label_index(classes: np.ndarray) -> dict:
    """``{label: id}`` for ``classes``."""
    return {v: i for i, v in enumerate(classes.tolist())}


def encode_labels(y: np.ndarray, classes: np.ndarray, name: str = "y", index: dict | None = None) -> np.ndarray:
    """Class ids ``(N,)`` of the labels ``y``; labels not in ``classes`` raise ``ValueError``."""
    index = label_index(classes) if index is None else index
    values = y.tolist()
    ids = np.fromiter((index.get(v, -1) for v in values), dtype=np.int64, count=len(values))
    if (ids < 0).any():
        bad = np.flatnonzero(ids < 0)
        seen = sorted({repr(values[i]) for i in bad})[:5]
        raise ValueError(f"{name} holds labels never seen in fit: {', '.join(seen)} (at examples "
                         f"{bad[:5].tolist()}); the fitted classes are {classes.tolist()!r:.200}")
    return ids


def classes_state(classes: np.ndarray):
    """A value :func:`rnnkit.serialization.pack` can store: the array, or the list of objects."""
    return {"objects": classes.tolist()} if classes.dtype == object else {"array": classes}


def classes_from_state(state) -> np.ndarray:
    """Inverse of :func:`classes_state`."""
    if "array" in state:
        return np.asarray(state["array"])
    values = state["objects"]
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out
