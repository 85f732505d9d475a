"""The statistics behind the forecaster's ``'auto'`` rules: season length, log, differencing.

Each rule is a small classical test, computed on the training part only:

- :func:`detect_season_length` — the lag ``m`` of the highest autocorrelation peak of the
  first differences, if that peak is a clear one (see its docstring), else 1.
- :func:`prefers_log` — Guerrero's (1993) idea restricted to the two choices λ = 0 (log) and
  λ = 1 (none): the log is preferred when the spreads of consecutive blocks (about a line
  fitted to each) are more nearly proportional to the block means than constant.
- :func:`seasonal_strength` — ``F_S = max(0, 1 - Var(R) / Var(S + R))`` of an additive
  classical decomposition (Wang, Smith & Hyndman 2006, with a moving-average trend instead of
  STL); seasonal differencing is used when ``F_S > 0.64``, the threshold of R's
  ``forecast::nsdiffs``.
- :func:`kpss_statistic` — the KPSS level-stationarity statistic (Kwiatkowski et al. 1992)
  with Bartlett weights and ``l = floor(4 (n/100)^(1/4))`` lags (R's ``ndiffs`` default);
  above the 5% critical value 0.463 the series is first-differenced.
"""

from __future__ import annotations

import numpy as np

__all__ = ["acf", "detect_season_length", "prefers_log", "seasonal_strength", "kpss_statistic",
           "KPSS_CRITICAL_5PCT", "SEASONAL_STRENGTH_THRESHOLD"]

KPSS_CRITICAL_5PCT = 0.463
SEASONAL_STRENGTH_THRESHOLD = 0.64


def acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations ``r_0 .. r_max_lag`` of a 1-D series (statsmodels' ``acf``, adjusted=False)::

        r_k = sum_{t=k}^{n-1} (x_t - mean)(x_{t-k} - mean) / sum_t (x_t - mean)^2
    """
    x = np.asarray(x, np.float64)
    d = x - x.mean()
    den = float(d @ d)
    if den == 0.0:
        return np.concatenate([[1.0], np.zeros(max_lag)])
    return np.array([1.0] + [float(d[k:] @ d[:-k]) / den for k in range(1, max_lag + 1)])


def detect_season_length(y: np.ndarray, max_period: int = 400) -> int:
    """The period of ``y`` ``(T,)`` from the autocorrelation of its first differences, or 1.

    Rule: ``r`` = autocorrelations of ``diff(y)`` up to lag ``min(T // 3, max_period)`` (at least
    three cycles must be seen). Among lags ``m >= 2`` that are local maxima of ``r``, the highest
    is the period when ``r_m > 0.3`` and ``r_m > 2.58 / sqrt(T)`` (99% white-noise band); if
    that peak's lag is a multiple of a smaller peak within 0.1 of it, the smaller one is taken
    (24 -> 12). Otherwise the series has no season (1).
    """
    x = np.diff(np.asarray(y, np.float64))
    n = x.size
    max_lag = min(n // 3, max_period)
    if max_lag < 3:
        return 1
    r = acf(x, max_lag + 1)
    peaks = [m for m in range(2, max_lag + 1) if r[m] > r[m - 1] and r[m] >= r[m + 1]]
    if not peaks:
        return 1
    best = max(peaks, key=lambda m: r[m])
    if not (r[best] > 0.3 and r[best] > 2.58 / np.sqrt(n)):
        return 1
    for m in peaks:
        if m < best and best % m == 0 and r[m] > r[best] - 0.1:
            return m
    return best


def prefers_log(y: np.ndarray, season_length: int) -> bool:
    """True when ``y`` (all > 0) looks multiplicative: block spread proportional to block level.

    Blocks of ``b = season_length`` steps (``b = 6`` without a season), whole blocks only,
    counted from the end. With ``mu_i`` each block's mean and ``s_i`` the standard deviation
    of its residuals from a straight line fitted to the block (so a trend inside a block is not
    counted as spread), the log is preferred when the coefficient of variation of
    ``s_i / mu_i`` (what λ = 0 makes constant) is below that of ``s_i`` (λ = 1). Needs at
    least 3 blocks; False otherwise, or when some value is <= 0.
    """
    y = np.asarray(y, np.float64)
    if y.size == 0 or np.min(y) <= 0:
        return False
    b = season_length if season_length > 1 else 6
    k = y.size // b
    if k < 3 or b < 3:
        return False
    blocks = y[y.size - k * b:].reshape(k, b)        # (k, b)
    t = np.arange(b) - (b - 1) / 2.0
    slope = blocks @ t / (t @ t)                     # (k,)
    mu = blocks.mean(axis=1)
    resid = blocks - mu[:, None] - slope[:, None] * t[None, :]
    s = resid.std(axis=1, ddof=2)
    if np.any(s == 0):
        return False

    def cv(a):
        return float(np.std(a, ddof=1) / np.mean(a))

    return cv(s / mu) < cv(s)


def _centered_moving_average(y: np.ndarray, m: int) -> np.ndarray:
    """The classical decomposition's trend: an m-MA (odd m) or 2 x m-MA (even m); NaN at the ends."""
    n = y.size
    out = np.full(n, np.nan)
    if m % 2:
        k = m // 2
        c = np.convolve(y, np.ones(m) / m, mode="valid")          # (n - m + 1,)
        out[k:n - k] = c
    else:
        w = np.concatenate([[0.5], np.ones(m - 1), [0.5]]) / m     # (m + 1,)
        k = m // 2
        c = np.convolve(y, w, mode="valid")                        # (n - m,)
        out[k:n - k] = c
    return out


def seasonal_strength(y: np.ndarray, season_length: int) -> float:
    """``F_S = max(0, 1 - Var(R) / Var(S + R))`` of an additive classical decomposition of ``y``.

    ``T`` = the centred moving average of order ``m`` (2 x m for even m); ``S`` = the mean of
    ``y - T`` at each of the m positions of the cycle, centred to sum to zero (as statsmodels'
    ``seasonal_decompose``); ``R = y - T - S`` where ``T`` is defined. 0 when ``m < 2`` or
    fewer than two full cycles.
    """
    m = int(season_length)
    y = np.asarray(y, np.float64)
    if m < 2 or y.size < 2 * m + 1:
        return 0.0
    trend = _centered_moving_average(y, m)
    detr = y - trend
    pos = np.arange(y.size) % m
    means = np.array([np.nanmean(detr[pos == j]) for j in range(m)])   # (m,)
    seas = (means - means.mean())[pos]
    ok = ~np.isnan(trend)
    rem = detr[ok] - seas[ok]
    v_sr = float(np.var(detr[ok]))
    if v_sr == 0.0:
        return 0.0
    return max(0.0, 1.0 - float(np.var(rem)) / v_sr)


def kpss_statistic(y: np.ndarray, n_lags: int | None = None) -> float:
    """The KPSS statistic for level stationarity (larger: more evidence of a unit root)::

        e_t = y_t - mean(y),  S_t = e_1 + ... + e_t
        s^2 = (1/n) sum e_t^2 + (2/n) sum_{k=1}^{l} (1 - k/(l+1)) sum_{t>k} e_t e_{t-k}
        KPSS = sum_t S_t^2 / (n^2 s^2)

    ``l`` defaults to ``floor(4 (n/100)^(1/4))``. Equals statsmodels'
    ``kpss(y, regression='c', nlags=l)[0]``. 0 for a constant series.
    """
    y = np.asarray(y, np.float64)
    n = y.size
    if n_lags is None:
        n_lags = int(np.floor(4.0 * (n / 100.0) ** 0.25))
    n_lags = min(n_lags, n - 1)
    e = y - y.mean()
    s2 = float(e @ e) / n
    for k in range(1, n_lags + 1):
        s2 += 2.0 / n * (1.0 - k / (n_lags + 1.0)) * float(e[k:] @ e[:-k])
    if s2 <= 0.0:
        return 0.0
    S = np.cumsum(e)
    return float(S @ S) / (n * n * s2)
