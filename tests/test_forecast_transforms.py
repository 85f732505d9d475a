"""The forecaster's rules (season length, log, differencing) and its invertible transforms."""

import numpy as np
import pytest

from rnnkit.estimators._seasonality import (
    acf,
    detect_season_length,
    kpss_statistic,
    prefers_log,
    seasonal_strength,
)
from rnnkit.estimators._transforms import SeriesTransform, diff_polynomial, plan_transform

statsmodels = pytest.importorskip("statsmodels", reason="statsmodels (optional) defines acf, kpss, seasonal_decompose")
from statsmodels.tsa.seasonal import seasonal_decompose  # noqa: E402
from statsmodels.tsa.stattools import acf as sm_acf  # noqa: E402
from statsmodels.tsa.stattools import kpss as sm_kpss  # noqa: E402


def _seasonal(n=144, m=12, seed=0, noise=0.3, trend=0.0):
    g = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + trend * t + np.sin(2 * np.pi * t / m) + noise * g.normal(size=n)


def test_acf_matches_statsmodels():
    y = _seasonal()
    np.testing.assert_allclose(acf(y, 30), sm_acf(y, nlags=30, fft=False), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lags", [None, 0, 7])
def test_kpss_matches_statsmodels(lags):
    g = np.random.default_rng(1)
    for y in (g.normal(size=120), g.normal(size=120).cumsum()):
        n_lags = int(np.floor(4 * (y.size / 100) ** 0.25)) if lags is None else lags
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # statsmodels warns when the p-value is off its table
            expected = sm_kpss(y, regression="c", nlags=n_lags)[0]
        assert kpss_statistic(y, lags) == pytest.approx(expected, rel=1e-10)


def test_kpss_separates_stationary_from_random_walk():
    g = np.random.default_rng(2)
    assert kpss_statistic(g.normal(size=200)) < 0.463 < kpss_statistic(g.normal(size=200).cumsum())


@pytest.mark.parametrize("m", [4, 7, 12])
def test_seasonal_strength_from_statsmodels_classical_decomposition(m):
    y = _seasonal(n=10 * m, m=m, trend=0.05)
    dec = seasonal_decompose(y, model="additive", period=m)
    ok = ~np.isnan(dec.trend)
    r, s = dec.resid[ok], dec.seasonal[ok]
    expected = max(0.0, 1 - np.var(r) / np.var(s + r))
    assert seasonal_strength(y, m) == pytest.approx(expected, rel=1e-10)
    assert expected > 0.64


def test_seasonal_strength_of_noise_is_low():
    assert seasonal_strength(np.random.default_rng(3).normal(size=120), 12) < 0.3
    assert seasonal_strength(np.ones(50), 12) == 0.0


def test_detect_season_length():
    assert detect_season_length(_seasonal(m=7, n=140)) == 7
    assert detect_season_length(_seasonal(m=12, trend=0.1)) == 12
    assert detect_season_length(np.random.default_rng(4).normal(size=200)) == 1
    assert detect_season_length(np.arange(5.0)) == 1


def test_prefers_log_multiplicative_not_additive():
    t = np.arange(120)
    level = np.exp(0.03 * t)
    assert prefers_log(level * (1 + 0.3 * np.sin(2 * np.pi * t / 12)), 12)
    assert not prefers_log(10 * level + 5 * np.sin(2 * np.pi * t / 12), 12)
    assert not prefers_log(np.r_[0.0, level[1:]], 12)       # a zero: no log


def test_diff_polynomial():
    np.testing.assert_array_equal(diff_polynomial(()), [1.0])
    np.testing.assert_array_equal(diff_polynomial((1,)), [1.0, -1.0])
    # (1 - B^3)(1 - B) = 1 - B - B^3 + B^4
    np.testing.assert_array_equal(diff_polynomial((3, 1)), [1.0, -1.0, 0.0, -1.0, 1.0])


@pytest.mark.parametrize("lags", [(), (1,), (12,), (12, 1)])
@pytest.mark.parametrize("log", [False, True])
def test_transform_round_trip_is_exact(lags, log):
    g = np.random.default_rng(5)
    y = np.exp(g.normal(size=(60, 2)).cumsum(axis=0) * 0.1) * 50          # (T, C), positive
    tf = SeriesTransform.fit(y[:40], log, lags, scale=True)
    w = tf.to_model(y)                                                     # (T - d, C)
    d = tf.order
    assert w.shape == (60 - d, 2)
    # by hand for the first difference: (z_t - z_{t-1} - mean) / std
    if lags == (1,):
        z = np.log(y) if log else y
        np.testing.assert_allclose(w, (np.diff(z, axis=0) - tf.mean) / tf.std, rtol=1e-12)
    # rebuild the last 20 steps from the model-space values and the 40 before
    z = np.empty((1, 60, 2))
    z[0, :40] = tf.to_level(y[:40])
    for t in range(40, 60):
        tf.extend_level(z, t, w[None, t - d])
    np.testing.assert_allclose(tf.from_level(z[0, 40:]), y[40:], rtol=1e-11)
    back = SeriesTransform.from_state(tf.state())
    np.testing.assert_array_equal(back.to_model(y), w)


def test_scaler_is_fitted_on_the_training_part_only():
    y = np.arange(100.0)[:, None] ** 1.5
    tf = SeriesTransform.fit(y[:50], False, (1,), scale=True)
    u = np.diff(y[:50], axis=0)
    assert tf.mean[0] == pytest.approx(u.mean()) and tf.std[0] == pytest.approx(u.std())


def test_an_insignificant_drift_is_dropped():
    # lag-12 differences u: n = 48 of them count as 48 / 12 = 4 observations, so the drift is kept
    # when |mean| > 2 std / sqrt(4) = std; here u alternates 1 +- 1.5 (mean 1, std 1.5): dropped,
    # and with 1 +- 0.5 (std 0.5): kept
    for spread, kept in ((1.5, False), (0.5, True)):
        u = 1.0 + spread * np.tile([1.0, -1.0], 24)
        y = np.concatenate([np.zeros(12), u])                # z_t - z_{t-12} = u for t >= 12 ...
        for t in range(12, 60):
            y[t] = y[t - 12] + u[t - 12]
        tf = SeriesTransform.fit(y[:, None], False, (12,), scale=True)
        assert tf.std[0] == pytest.approx(spread)
        assert tf.mean[0] == (pytest.approx(1.0) if kept else 0.0)


def test_plan_transform_rules():
    t = np.arange(144.0)
    seasonal = (100 * np.exp(0.01 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)))[:, None]
    assert plan_transform([seasonal], 12, "auto", "auto") == (True, (12,))
    assert plan_transform([seasonal], 12, "auto", "auto", one_step=True) == (True, (12, 1))
    walk = np.random.default_rng(6).normal(size=(150, 1)).cumsum(axis=0)
    assert plan_transform([walk], 1, "auto", "auto") == (False, (1,))
    noise = np.random.default_rng(7).normal(size=(150, 1))
    assert plan_transform([noise], 1, "auto", "auto") == (False, ())
    assert plan_transform([noise], 1, "auto", "auto", one_step=True) == (False, ())
    assert plan_transform([noise], 12, False, "both") == (False, (12, 1))
    with pytest.raises(ValueError, match="log=True needs positive values"):
        plan_transform([noise], 1, True, "none")
    with pytest.raises(ValueError, match="season_length >= 2"):
        plan_transform([noise], 1, False, "seasonal")
