"""Benchmark forecasts every model should beat (Hyndman & Athanasopoulos, *Forecasting:
Principles and Practice*, section 5.2), from a history ``y_1 .. y_T``::

    naive            yhat_{T+k} = y_T
    seasonal naive   yhat_{T+k} = y_{T+k-m*ceil(k/m)}    (the last observed season, repeated)
    drift            yhat_{T+k} = y_T + k (y_T - y_1) / (T - 1)

``y`` is ``(T,)`` or ``(T, C)`` (channels forecast independently); the result is ``(h,)``
or ``(h, C)``.

Example:

>>> seasonal_naive_forecast([1, 2, 3, 4], 3, season_length=2)
array([3., 4., 3.])
>>> drift_forecast([1, 2, 4], 2)
array([5.5, 7. ])
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_int

__all__ = ["naive_forecast", "seasonal_naive_forecast", "drift_forecast", "BASELINES", "baseline_forecast"]


def _history(y, need: int, what: str) -> np.ndarray:
    a = np.asarray(y, np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"y must be (T,) or (T, C), got shape {a.shape}")
    if a.shape[0] < need:
        raise ValueError(f"the {what} forecast needs at least {need} observations, got {a.shape[0]}")
    return a


def naive_forecast(y, h: int) -> np.ndarray:
    """The last value, repeated ``h`` times."""
    h = check_int("h", h, 1)
    a = _history(y, 1, "naive")
    return np.repeat(a[-1:], h, axis=0)


def seasonal_naive_forecast(y, h: int, season_length: int) -> np.ndarray:
    """The last ``season_length`` values, repeated; ``season_length=1`` is the naive forecast."""
    h = check_int("h", h, 1)
    m = check_int("season_length", season_length, 1)
    a = _history(y, m, "seasonal naive")
    k = np.arange(1, h + 1)
    T = a.shape[0]
    return a[T + k - m * ((k + m - 1) // m) - 1]


def drift_forecast(y, h: int) -> np.ndarray:
    """The line through the first and the last value, continued."""
    h = check_int("h", h, 1)
    a = _history(y, 2, "drift")
    slope = (a[-1] - a[0]) / (a.shape[0] - 1)
    k = np.arange(1, h + 1).reshape((h,) + (1,) * (a.ndim - 1))
    return a[-1] + k * slope


BASELINES = ("naive", "seasonal_naive", "drift")


def baseline_forecast(name: str, y, h: int, season_length: int = 1) -> np.ndarray:
    """The baseline ``name`` (one of :data:`BASELINES`)."""
    if name == "naive":
        return naive_forecast(y, h)
    if name == "seasonal_naive":
        return seasonal_naive_forecast(y, h, season_length)
    if name == "drift":
        return drift_forecast(y, h)
    raise ValueError(f"baseline must be one of {BASELINES}, got {name!r}")
