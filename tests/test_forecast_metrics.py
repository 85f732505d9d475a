"""Forecast accuracy measures and baseline forecasts against hand-computed cases and published examples."""

import numpy as np
import pytest

from rnnkit.estimators.baselines import baseline_forecast, drift_forecast, naive_forecast, seasonal_naive_forecast
from rnnkit.estimators.forecast_metrics import forecast_scores, mae, mape, mase, mase_scale, rmse, smape


def test_point_metrics_by_hand():
    y, f = np.array([2.0, 4.0, 5.0]), np.array([1.0, 4.0, 8.0])   # e = 1, 0, -3
    assert rmse(y, f) == pytest.approx(np.sqrt(10 / 3))
    assert mae(y, f) == pytest.approx(4 / 3)
    assert mape(y, f) == pytest.approx(100 * (1 / 2 + 0 + 3 / 5) / 3)
    assert smape(y, f) == pytest.approx(100 * (2 / 3 + 0 + 6 / 13) / 3)


def test_smape_matches_pmdarima_documented_example():
    # pmdarima.metrics.smape docstring: 100/n sum |F - A| / ((|A| + |F|) / 2) = 42.60306631890196
    a = np.array([0.07533] * 6 + [0.0672] * 2)
    f = np.array([0.102, 0.107, 0.047, 0.1, 0.032, 0.047, 0.108, 0.089])
    assert smape(a, f) == pytest.approx(42.60306631890196, rel=1e-12)
    assert smape(a, a) == 0.0


def test_mape_undefined_at_zero_and_smape_zero_terms():
    assert np.isnan(mape([0.0, 1.0], [1.0, 1.0]))
    assert smape([0.0, 2.0], [0.0, 1.0]) == pytest.approx(100 * (0 + 2 / 3) / 2)


def test_mase_by_hand_naive_and_seasonal_scale():
    # Hyndman & Koehler 2006: Q = 1/(n-m) sum_{t=m+1}^n |y_t - y_{t-m}|
    assert mase_scale([1.0, 3.0, 2.0, 5.0], 1) == pytest.approx((2 + 1 + 3) / 3)
    assert mase([4.0, 6.0], [5.0, 5.0], [1.0, 3.0, 2.0, 5.0]) == pytest.approx(1 / 2)
    train = [1.0, 2.0, 3.0, 5.0, 5.0, 8.0]
    assert mase_scale(train, 2) == pytest.approx((2 + 3 + 2 + 3) / 4)
    assert mase([9.0, 9.0], [8.0, 10.5], train, 2) == pytest.approx((1 + 1.5) / 2 / 2.5)


def test_in_sample_seasonal_naive_has_mase_one():
    g = np.random.default_rng(0)
    y = g.normal(size=40).cumsum()
    m = 4
    assert mase(y[m:], y[:-m], y, m) == pytest.approx(1.0, rel=1e-12)


def test_mase_scales_each_channel_by_its_own_training_channel():
    train = np.array([[0.0, 0.0], [1.0, 10.0], [2.0, 20.0]])             # Q = (1, 10)
    truth, pred = np.array([[3.0, 30.0]]), np.array([[4.0, 40.0]])       # |e| = (1, 10)
    assert mase(truth, pred, train) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="channels"):
        mase(np.zeros((1, 3)), np.zeros((1, 3)), train)


def test_forecast_scores_and_shape_errors():
    s = forecast_scores([1.0, 2.0], [1.5, 2.0], y_train=[0.0, 1.0, 3.0])
    assert s == pytest.approx({"rmse": np.sqrt(0.125), "mae": 0.25, "mape": 25.0, "smape": 20.0, "mase": 0.25 / 1.5})
    with pytest.raises(ValueError, match="same shape"):
        rmse([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="more than season_length"):
        mase_scale([1.0, 2.0], 2)


def test_baselines_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0, 6.0])
    np.testing.assert_array_equal(naive_forecast(y, 3), [6.0, 6.0, 6.0])
    # m = 2: the last season (4, 6) repeated
    np.testing.assert_array_equal(seasonal_naive_forecast(y, 5, 2), [4.0, 6.0, 4.0, 6.0, 4.0])
    np.testing.assert_array_equal(seasonal_naive_forecast(y, 2, 5), [1.0, 2.0])
    np.testing.assert_array_equal(seasonal_naive_forecast(y, 3, 1), naive_forecast(y, 3))
    # drift: y_T + k (y_T - y_1) / (T - 1) = 6 + k * 5/4
    np.testing.assert_allclose(drift_forecast(y, 2), [7.25, 8.5])
    line = 3.0 + 0.5 * np.arange(10)
    np.testing.assert_allclose(drift_forecast(line[:6], 4), line[6:])


def test_baselines_multichannel_and_errors():
    y = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, 30.0]])
    np.testing.assert_allclose(drift_forecast(y, 1), [[5.5, 40.0]])
    np.testing.assert_array_equal(seasonal_naive_forecast(y, 3, 2), [[2.0, 20.0], [4.0, 30.0], [2.0, 20.0]])
    np.testing.assert_array_equal(baseline_forecast("naive", y, 1), [[4.0, 30.0]])
    with pytest.raises(ValueError, match="at least 4 observations"):
        seasonal_naive_forecast(y, 1, 4)
    with pytest.raises(ValueError, match="baseline must be one of"):
        baseline_forecast("mean", y, 1)
    with pytest.raises(ValueError, match="h must be >= 1"):
        naive_forecast(y, 0)
