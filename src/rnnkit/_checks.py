"""Argument checks at the API boundary: clear ValueError/TypeError naming the argument."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_int",
    "check_float_range",
    "check_choice",
    "check_bool",
    "as_float_array",
    "owned",
    "check_shape",
    "as_lengths",
    "as_rng",
    "to_numpy",
]


def to_numpy(x):
    """A torch tensor's values as a NumPy array (detached, on the CPU); anything else unchanged.

    The one place that recognises torch tensors (by their ``detach`` and ``numpy`` methods,
    without importing torch): every function that accepts tensors where arrays go calls it.
    """
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return x.detach().cpu().numpy()
    return x


def check_int(name: str, value, minimum: int | None = None) -> int:
    """An integer (not bool) at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_float_range(name: str, value, lo: float, hi: float) -> float:
    """A real number in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not (lo <= value <= hi):
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def as_float_array(name: str, x, dtype) -> np.ndarray:
    """``x`` as a C-contiguous array of ``dtype``; ints, bools and other floats are cast.

    Strings, objects, complex numbers and non-array-like values raise ``TypeError``.
    """
    x = to_numpy(x)
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}")
    try:
        a = np.asarray(x)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{name} must be a numeric array: {err}") from err
    if a.dtype.kind in "biuf":   # bool, int, uint, float (not timedelta, which NumPy counts as an integer)
        return np.asarray(a, dtype=dtype, order="C")   # C-contiguous; a 0-D value stays 0-D
    raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")


def owned(a: np.ndarray, source) -> np.ndarray:
    """``a``, copied when it may share memory with ``source`` (the caller's array or tensor).

    What a module saves for backward must not change when the caller later writes into the
    arrays it passed in or got back (PyTorch raises on such in-place edits; rnnkit copies).
    """
    source = to_numpy(source)
    if isinstance(source, np.ndarray) and np.may_share_memory(a, source):
        return a.copy()
    return a


def check_shape(name: str, a: np.ndarray, expected: tuple[int, ...]) -> None:
    if a.shape != tuple(expected):
        raise ValueError(f"{name} expected shape {tuple(expected)}, got {a.shape}")


def as_lengths(lengths, B: int, T: int) -> np.ndarray | None:
    """Validate per-sequence lengths: B integers in [1, T]; returns int64 array or None.

    Returns None when every length equals T (nothing to mask).
    """
    if lengths is None:
        return None
    lengths = to_numpy(lengths)
    a = np.asarray(lengths)
    if a.dtype == np.bool_ or not (
        np.issubdtype(a.dtype, np.integer)
        or (np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)))
    ):
        raise TypeError(f"lengths must be integers, got dtype {a.dtype}")
    if a.ndim != 1 or a.shape[0] != B:
        raise ValueError(f"lengths expected shape ({B},) (one per sequence), got {a.shape}")
    a = a.astype(np.int64)
    if a.size and (a.min() < 1 or a.max() > T):
        raise ValueError(
            f"lengths must be in [1, {T}] (the sequence length), got min {a.min()} max {a.max()}"
        )
    if np.all(a == T):
        return None
    return np.ascontiguousarray(a)


def as_rng(rng) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a Generator, an int seed, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        if rng is not None and rng < 0:
            raise ValueError(f"rng as an int seed must be >= 0, got {rng}")
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy.random.Generator, an int seed or None, got {rng!r}")
