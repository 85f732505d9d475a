"""Checking what a forecaster is given: series, covariates, missing values.

Accepted series: a 1-D array-like ``(T,)``, a 2-D ``(T, C)`` array (one multivariate
series), or a list/tuple of such arrays (several series, all with the same ``C``; a list of
plain numbers is one 1-D series). Each becomes a float64 ``(T, C)`` array. Covariates follow
the same layout as the series they go with (one ``(T, K)`` array, or a list of them).

Missing values (NaN, or None in an object array) are reported with their positions unless
``impute`` asks to fill them: ``'linear'`` interpolates between the neighbours (and repeats
the first/last observed value at the ends), ``'ffill'`` carries the last observed value
forward (the first observed value backwards at the start). Infinite values are always an
error.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_series_list", "as_covariate_list", "IMPUTE", "impute_missing"]

IMPUTE = (None, "linear", "ffill")
_SHOW = 5


def _is_series_list(y) -> bool:
    if not isinstance(y, (list, tuple)) or len(y) == 0:
        return False
    return all(not isinstance(v, (numbers.Number, str, bytes)) and v is not None and np.ndim(v) >= 1 for v in y)


def _numeric(a, name: str) -> np.ndarray:
    """``a`` as float64; strings, dates and other objects are a TypeError naming the first one."""
    if hasattr(a, "detach") and hasattr(a, "numpy"):          # a torch tensor
        a = a.detach().cpu().numpy()
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as err:                     # ragged nested lists
        raise ValueError(f"{name} must be a rectangular numeric array: {err}") from None
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    if arr.dtype.kind == "b":
        raise TypeError(f"{name} must be numeric, got booleans")
    if arr.dtype.kind == "O":
        out = np.empty(arr.shape, np.float64)
        for idx, v in np.ndenumerate(arr):
            if v is None:
                out[idx] = np.nan
            elif isinstance(v, numbers.Real) and not isinstance(v, bool):
                out[idx] = float(v)
            else:
                raise TypeError(f"{name} must be numeric; found {v!r} ({type(v).__name__}) at position "
                                f"{idx if len(idx) > 1 else idx[0]}")
        return out
    raise TypeError(f"{name} must be numeric, got dtype {arr.dtype}")


def _as_2d(a, name: str) -> np.ndarray:
    x = _numeric(a, name)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must be 1-D (T,) or 2-D (T, C), got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    return x


def impute_missing(x: np.ndarray, method: str) -> np.ndarray:
    """Fill the NaNs of ``x (T, C)`` column by column (see the module docstring)."""
    out = x.copy()
    t = np.arange(x.shape[0])
    for c in range(x.shape[1]):
        col = out[:, c]
        ok = ~np.isnan(col)
        if ok.all():
            continue
        if method == "linear":
            col[~ok] = np.interp(t[~ok], t[ok], col[ok])
        else:
            idx = np.where(ok, t, 0)
            np.maximum.accumulate(idx, out=idx)                 # last observed index so far
            first = int(np.argmax(ok))
            idx[:first] = first
            col[:] = col[idx]
    return out


def _check_values(x: np.ndarray, name: str, impute) -> np.ndarray:
    inf = np.isinf(x)
    if inf.any():
        raise ValueError(f"{name} has {int(inf.sum())} infinite value(s) at {_positions(inf)}")
    nan = np.isnan(x)
    if not nan.any():
        return x
    if impute is None:
        raise ValueError(f"{name} has {int(nan.sum())} missing value(s) (NaN) at {_positions(nan)}; "
                         "pass impute='linear' or impute='ffill' to fill them")
    if nan[:, :].all(axis=0).any():
        c = int(np.argmax(nan.all(axis=0)))
        raise ValueError(f"{name} channel {c} has no observed value to impute from")
    return impute_missing(x, impute)


def _positions(mask: np.ndarray) -> str:
    """``step(s) [3, 7]`` or ``(step, channel) [(3, 0), (7, 1)]``, the first few."""
    where = np.argwhere(mask)
    more = f" and {len(where) - _SHOW} more" if len(where) > _SHOW else ""
    if mask.shape[1] == 1:
        return f"step(s) {[int(i) for i in where[:_SHOW, 0]]}{more}"
    return f"(step, channel) {[(int(i), int(j)) for i, j in where[:_SHOW]]}{more}"


def as_series_list(y, name: str = "y", impute=None) -> tuple[list[np.ndarray], bool, bool]:
    """``(series, is_list, is_1d)``: the float64 ``(T_i, C)`` arrays and how ``y`` was given."""
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"{name} must be a numeric series (array-like), got {type(y).__name__}")
    if _is_series_list(y):
        series = [_as_2d(s, f"{name}[{i}]") for i, s in enumerate(y)]
        C = {s.shape[1] for s in series}
        if len(C) > 1:
            raise ValueError(f"every series of {name} must have the same number of channels, got {sorted(C)}")
        is_1d = all(np.ndim(s) == 1 for s in y)
        series = [_check_values(s, f"{name}[{i}]", impute) for i, s in enumerate(series)]
        return series, True, is_1d
    x = _as_2d(y, name)
    return [_check_values(x, name, impute)], False, np.ndim(y) == 1


def as_covariate_list(cov, series: list[np.ndarray], is_list: bool, name: str, extra: int = 0,
                      impute=None, n_columns: int | None = None) -> list[np.ndarray] | None:
    """Covariates matching ``series``: each ``(T_i + extra, K)``; None stays None."""
    if cov is None:
        return None
    if is_list:
        if not _is_series_list(cov) or len(cov) != len(series):
            got = f"a list of {len(cov)}" if isinstance(cov, (list, tuple)) else type(cov).__name__
            raise ValueError(f"{name} must be a list of {len(series)} arrays (one per series), got {got}")
        items = [_as_2d(c, f"{name}[{i}]") for i, c in enumerate(cov)]
        labels = [f"{name}[{i}]" for i in range(len(cov))]
    else:
        items, labels = [_as_2d(cov, name)], [name]
    out = []
    for s, c, label in zip(series, items, labels):
        want = s.shape[0] + extra
        if c.shape[0] != want:
            what = f"the length of the series ({s.shape[0]})" + (f" + {extra} steps" if extra else "")
            raise ValueError(f"{label} must have {want} rows ({what}), got {c.shape[0]}")
        if n_columns is not None and c.shape[1] != n_columns:
            raise ValueError(f"{label} must have {n_columns} columns (as at fit), got {c.shape[1]}")
        out.append(_check_values(c, label, impute))
    widths = {c.shape[1] for c in out}
    if len(widths) > 1:
        raise ValueError(f"every array of {name} must have the same number of columns, got {sorted(widths)}")
    return out
