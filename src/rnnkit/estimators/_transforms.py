"""The forecaster's invertible transforms: log, differencing, standard scaling.

A series ``y (T, C)`` reaches the network as ``w (T - d, C)``::

    z = log(y)  (or z = y)                               level space
    u = z differenced: (1 - B^l1)(1 - B^l2)... z          lags from `differencing`
      = sum_j p_j z_{t-j},  p = the polynomial's coefficients, d = its degree (sum of lags)
    w = (u - mean) / std                                  model space (mean, std per channel)

``mean`` is the drift a zero network output continues (the fallback forecast: the seasonal
naive forecast plus the mean seasonal change, or the drift forecast). It is kept only when it is
significant, :func:`drift_is_significant`; otherwise ``mean = 0`` and the zero output is the
seasonal naive (or naive) forecast.

and back, one step at a time as forecasts extend the history::

    u_t = w_t * std + mean
    z_t = u_t - sum_{j=1}^{d} p_j z_{t-j}
    y_t = exp(z_t)  (or z_t)

Everything is fitted on the training part (:func:`plan_transform` takes the decisions,
:meth:`SeriesTransform.fit` the scaler); nothing is re-fitted on later data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.estimators._seasonality import (
    KPSS_CRITICAL_5PCT,
    SEASONAL_STRENGTH_THRESHOLD,
    kpss_statistic,
    prefers_log,
    seasonal_strength,
)

__all__ = ["DIFFERENCING", "DRIFT_T", "SeriesTransform", "plan_transform", "difference_lags", "diff_polynomial",
           "drift_is_significant"]

DIFFERENCING = ("auto", "none", "first", "seasonal", "both")
DRIFT_T = 2.0


def drift_is_significant(u: np.ndarray, lag: int) -> np.ndarray:
    r"""Per channel of the differenced training values ``u (n, C)``: whether their mean is a drift.

    ``|mean(u)| > DRIFT_T * std(u) / sqrt(n / lag)``: a t-test at about 5% in which a difference
    at lag ``lag`` (the largest differencing lag) counts ``n / lag`` independent observations,
    as the lag-``m`` differences of ``m`` consecutive steps overlap. Why: over the whole series,
    the mean seasonal change of the log is a trend on Airline's first 108 months (t = 6.2) and
    co2 (t = 13.0), where the transform-only forecast with it had a 36-step error 3.5 and 3.3
    times below seasonal naive in rolling-origin backtests, and noise on elec_equip (t = 0.8) and
    seatbelts (t = 0.4), where adding it made that forecast worse than seasonal naive
    (``benchmarks/results/targets_2026-12-03.md``).

    >>> u = np.array([[1.0], [1.2], [0.8], [1.1]])
    >>> drift_is_significant(u, 1).tolist(), drift_is_significant(u - 1.0, 1).tolist()
    ([True], [False])
    """
    n = u.shape[0]
    mean, std = u.mean(axis=0), u.std(axis=0)
    return np.abs(mean) * np.sqrt(n / max(int(lag), 1)) > DRIFT_T * std


def difference_lags(kind: str, season_length: int) -> tuple[int, ...]:
    """The differencing lags of ``kind`` ('none', 'first', 'seasonal', 'both')."""
    m = season_length
    if kind in ("seasonal", "both") and m < 2:
        raise ValueError(f"differencing={kind!r} needs a season_length >= 2, got {m}")
    return {"none": (), "first": (1,), "seasonal": (m,), "both": (m, 1)}[kind]


def diff_polynomial(lags: tuple[int, ...]) -> np.ndarray:
    """Coefficients ``p_0 .. p_d`` of ``prod_l (1 - B^l)`` (``p_0 = 1``)."""
    p = np.array([1.0])
    for lag in lags:
        q = np.zeros(lag + 1)
        q[0], q[lag] = 1.0, -1.0
        p = np.convolve(p, q)
    return p


def plan_transform(series: list[np.ndarray], season_length: int, log, differencing: str, one_step: bool = False):
    """Decide ``(log: bool, lags: tuple)`` for all series from their training parts.

    ``log='auto'``: every value > 0 and :func:`prefers_log` holds for at least half of the
    channels of all series. ``differencing='auto'``, on the (log) levels: seasonal when
    ``season_length >= 2`` and the median seasonal strength of the channels exceeds 0.64;
    without it, first when the median KPSS statistic exceeds its 5% critical value 0.463;
    for a one-step model (``one_step``) a first difference is also taken after a seasonal one.

    Why one-step models differ: on rolling-origin backtests of the training parts of the
    tuning series (Airline's first 108 months, co2, elec_equip, sunspots) the extra first
    difference lowered one-step errors on every series (geometric mean ratio to seasonal
    naive 0.27 against 0.32) but raised 36-step errors by half (0.95 against 0.61): for long
    horizons the second difference integrates the network's errors twice.
    """
    channels = [s[:, c] for s in series for c in range(s.shape[1])]
    if log == "auto":
        positive = all(np.min(x) > 0 for x in channels)
        use_log = positive and 2 * sum(prefers_log(x, season_length) for x in channels) >= len(channels)
    else:
        use_log = bool(log)
        if use_log:
            for i, s in enumerate(series):
                if np.min(s) <= 0:
                    where = f"series {i}" if len(series) > 1 else "y"
                    raise ValueError(f"log=True needs positive values, but {where} has minimum {np.min(s):g}")
    if differencing == "auto":
        levels = [np.log(x) if use_log else x for x in channels]
        kind = "none"
        if season_length >= 2 and np.median([seasonal_strength(x, season_length) for x in levels]) \
                > SEASONAL_STRENGTH_THRESHOLD:
            kind = "both" if one_step else "seasonal"
        elif np.median([kpss_statistic(x) for x in levels]) > KPSS_CRITICAL_5PCT:
            kind = "first"
    else:
        kind = differencing
    return use_log, difference_lags(kind, season_length)


@dataclass
class SeriesTransform:
    """The fitted transform of one series: see the module docstring.

    ``mean``/``std`` ``(C,)`` are the scaler of the differenced training values (identity when
    ``scale`` is False; a constant channel gets std 1).
    """

    log: bool
    lags: tuple
    mean: np.ndarray
    std: np.ndarray

    @property
    def order(self) -> int:
        """``d``: steps the differencing consumes at the start of a series."""
        return int(sum(self.lags))

    @property
    def poly(self) -> np.ndarray:
        return diff_polynomial(tuple(self.lags))

    @classmethod
    def fit(cls, y: np.ndarray, log: bool, lags: tuple, scale: bool) -> SeriesTransform:
        """Fit the scaler of ``y (T, C)`` (the training part) for the given decisions (``mean`` 0 for a
        channel whose drift is not significant, :func:`drift_is_significant`)."""
        C = y.shape[1]
        t = cls(log, tuple(int(v) for v in lags), np.zeros(C), np.ones(C))
        u = t.difference(t.to_level(y))
        if scale:
            t.mean = u.mean(axis=0)
            if t.lags:                                  # a drift only when it is significant
                t.mean = np.where(drift_is_significant(u, max(t.lags)), t.mean, 0.0)
            std = u.std(axis=0)
            t.std = np.where(std > 0, std, 1.0)
        return t

    def to_level(self, y: np.ndarray) -> np.ndarray:
        """``z = log(y)`` or ``y``."""
        return np.log(y) if self.log else y

    def from_level(self, z: np.ndarray) -> np.ndarray:
        return np.exp(z) if self.log else z

    def difference(self, z: np.ndarray) -> np.ndarray:
        """``u_t = sum_j p_j z_{t-j}`` along the time axis (axis -2): ``(..., T, C) -> (..., T - d, C)``."""
        p, d = self.poly, self.order
        if d == 0:
            return z
        T = z.shape[-2]
        u = p[0] * z[..., d:, :]
        for j in range(1, d + 1):
            if p[j]:
                u = u + p[j] * z[..., d - j:T - j, :]
        return u

    def to_model(self, y: np.ndarray) -> np.ndarray:
        """``y (..., T, C)`` -> ``w (..., T - d, C)``."""
        return (self.difference(self.to_level(y)) - self.mean) / self.std

    def extend_level(self, z: np.ndarray, t: int, w: np.ndarray) -> None:
        """Write ``z[..., t, :]`` from the model-space value ``w (..., C)`` and ``z[..., :t, :]``."""
        p, d = self.poly, self.order
        v = w * self.std + self.mean
        for j in range(1, d + 1):
            if p[j]:
                v = v - p[j] * z[..., t - j, :]
        z[..., t, :] = v

    def state(self) -> dict:
        return {"log": self.log, "lags": list(self.lags), "mean": self.mean, "std": self.std}

    @classmethod
    def from_state(cls, s: dict) -> SeriesTransform:
        return cls(bool(s["log"]), tuple(int(v) for v in s["lags"]), np.asarray(s["mean"], np.float64),
                   np.asarray(s["std"], np.float64))
