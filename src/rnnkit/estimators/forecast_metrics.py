"""Forecast accuracy measures (Hyndman & Koehler 2006, "Another look at measures of forecast
accuracy"), with ``e = y - yhat`` over every forecast value::

    RMSE  = sqrt(mean(e^2))
    MAE   = mean(|e|)
    MAPE  = 100 mean(|e| / |y|)                          (nan if some y = 0)
    sMAPE = 100 mean(2 |e| / (|y| + |yhat|))             (a term with y = yhat = 0 counts 0)
    MASE  = mean(|e|) / Q,  Q = 1/(n - m) sum_{t=m+1}^{n} |y_t - y_{t-m}|

MASE's ``Q`` is the in-sample mean absolute error of the seasonal naive forecast (period
``m``; ``m = 1``: the naive one) on the training series ``y_1 .. y_n``. For ``(..., C)``
arrays each channel has its own ``Q`` (from the training series' channel) and MASE averages
``|e| / Q`` over everything. MAPE and sMAPE are percentages (sktime's
``mean_absolute_percentage_error`` gives the same as fractions).

Example:

>>> s = forecast_scores([1.0, 2.0], [1.5, 2.0], y_train=[0.0, 1.0, 3.0])
>>> {k: round(v, 4) for k, v in s.items()}
{'rmse': 0.3536, 'mae': 0.25, 'mape': 25.0, 'smape': 20.0, 'mase': 0.1667}
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_int

__all__ = ["rmse", "mae", "mape", "smape", "mase", "mase_scale", "forecast_scores", "METRICS"]

METRICS = ("rmse", "mae", "mape", "smape", "mase")


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(y_true, np.float64)
    b = np.asarray(y_pred, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError("y_true is empty")
    return a, b


def rmse(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def mae(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    return float(np.mean(np.abs(a - b)))


def mape(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    if np.any(a == 0):
        return float("nan")
    return float(100.0 * np.mean(np.abs(a - b) / np.abs(a)))


def smape(y_true, y_pred) -> float:
    a, b = _pair(y_true, y_pred)
    den = np.abs(a) + np.abs(b)
    terms = np.divide(2.0 * np.abs(a - b), den, out=np.zeros_like(den), where=den > 0)
    return float(100.0 * np.mean(terms))


def mase_scale(y_train, season_length: int = 1) -> np.ndarray:
    """``Q`` per channel: the in-sample seasonal naive MAE of ``y_train`` (``(n,)`` -> scalar array)."""
    m = check_int("season_length", season_length, 1)
    y = np.asarray(y_train, np.float64)
    if y.ndim not in (1, 2):
        raise ValueError(f"y_train must be (n,) or (n, C), got shape {y.shape}")
    if y.shape[0] <= m:
        raise ValueError(f"MASE needs more than season_length = {m} training values, got {y.shape[0]}")
    return np.mean(np.abs(y[m:] - y[:-m]), axis=0)


def mase(y_true, y_pred, y_train, season_length: int = 1) -> float:
    """Mean absolute scaled error (see the module docstring); inf when ``Q`` is 0 and an error is not."""
    a, b = _pair(y_true, y_pred)
    q = mase_scale(y_train, season_length)
    err = np.abs(a - b)
    if q.ndim and (a.ndim == 0 or a.shape[-1] != q.shape[0]):
        raise ValueError(f"y_true must end in the {q.shape[0]} channels of y_train, got shape {a.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err == 0, 0.0, err / q)
    return float(np.mean(ratio))


def forecast_scores(y_true, y_pred, y_train=None, season_length: int = 1) -> dict:
    """``{'rmse', 'mae', 'mape', 'smape', 'mase'}`` (MASE only when ``y_train`` is given)."""
    out = {"rmse": rmse(y_true, y_pred), "mae": mae(y_true, y_pred), "mape": mape(y_true, y_pred),
           "smape": smape(y_true, y_pred)}
    if y_train is not None:
        out["mase"] = mase(y_true, y_pred, y_train, season_length)
    return out
