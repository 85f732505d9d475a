"""Rolling-origin backtest: no look-ahead, the baselines and metrics on the same windows."""

import numpy as np
import pytest

from rnnkit.estimators.backtest import backtest
from rnnkit.estimators.forecaster import RNNForecaster

FAST = dict(hidden_size=8, max_epochs=15, patience=15, lr=1e-2, season_length=12, random_state=0)


def _series(n=120, seed=0):
    t = np.arange(n)
    return 20 + 0.05 * t + 3 * np.sin(2 * np.pi * t / 12) + 0.3 * np.random.default_rng(seed).normal(size=n)


def test_windows_truth_and_baselines_on_the_same_windows():
    y = _series()
    res = RNNForecaster(horizon=6, **FAST).backtest(y, start=96, stride=4)
    assert [o for _, o in res.origins] == [96, 100, 104, 108, 112]
    assert res.y_true.shape == (5, 6, 1) and res.forecasts["model"].shape == (5, 6, 1)
    for w, (_, o) in enumerate(res.origins):
        np.testing.assert_array_equal(res.y_true[w, :, 0], y[o:o + 6])
        np.testing.assert_array_equal(res.forecasts["naive"][w, :, 0], np.full(6, y[o - 1]))
        np.testing.assert_array_equal(res.forecasts["seasonal_naive"][w, :, 0], y[o - 12:o - 6])
        slope = (y[o - 1] - y[0]) / (o - 1)
        np.testing.assert_allclose(res.forecasts["drift"][w, :, 0], y[o - 1] + slope * np.arange(1, 7))


def test_metrics_pool_every_window_and_mase_uses_the_training_part():
    y = _series()
    res = RNNForecaster(horizon=3, **FAST).backtest(y, start=100, stride=5)
    q = np.mean(np.abs(y[12:100] - y[:88]))                       # in-sample seasonal naive MAE of y[:100]
    for name, f in res.forecasts.items():
        e = (res.y_true - f).ravel()
        m = res.metrics[name]
        assert m["rmse"] == pytest.approx(np.sqrt(np.mean(e ** 2)))
        assert m["mae"] == pytest.approx(np.mean(np.abs(e)))
        assert m["mape"] == pytest.approx(100 * np.mean(np.abs(e) / res.y_true.ravel()))
        assert m["smape"] == pytest.approx(100 * np.mean(2 * np.abs(e) / (res.y_true.ravel() + np.abs(f.ravel()))))
        assert m["mase"] == pytest.approx(np.mean(np.abs(e)) / q)
    assert "MASE" in res.table() and set(res.to_dict()["metrics"]) == {"model", "naive", "seasonal_naive", "drift"}


@pytest.mark.parametrize("refit", [False, True])
def test_no_look_ahead_changing_the_future_leaves_earlier_forecasts_unchanged(refit):
    y = _series()
    est = RNNForecaster(horizon=4, **FAST)
    a = est.backtest(y, start=100, stride=4, refit=refit)
    changed = y.copy()
    changed[108:] += 50.0                                          # everything from step 108 on
    b = est.backtest(changed, start=100, stride=4, refit=refit)
    origins = [o for _, o in a.origins]
    assert origins == [100, 104, 108, 112, 116]
    before = [w for w, o in enumerate(origins) if o <= 108]        # forecasts made before step 108 is seen
    for name in a.forecasts:
        np.testing.assert_array_equal(a.forecasts[name][before], b.forecasts[name][before], err_msg=name)
    assert not np.allclose(a.forecasts["model"][-1], b.forecasts["model"][-1])


def test_refit_every_k_origins_and_use_fitted():
    y = _series()
    est = RNNForecaster(horizon=2, **FAST)
    once = est.backtest(y, start=104, stride=2, refit=False)
    fitted = RNNForecaster(horizon=2, **FAST).fit(y[:104])
    same = backtest(fitted, y, start=104, stride=2, use_fitted=True)
    np.testing.assert_array_equal(same.forecasts["model"], once.forecasts["model"])
    every3 = est.backtest(y, start=104, stride=2, refit=3)
    np.testing.assert_array_equal(every3.forecasts["model"][:3], once.forecasts["model"][:3])
    assert not np.array_equal(every3.forecasts["model"][3:], once.forecasts["model"][3:])
    assert not hasattr(est, "model_")                               # the estimator itself is not fitted


def test_interval_coverage_is_reported():
    y = _series()
    res = RNNForecaster(horizon=3, **FAST).backtest(y, start=96, stride=3, coverage=0.9)
    lo, hi = res.intervals
    assert lo.shape == res.y_true.shape and np.all(lo <= hi)
    m = res.metrics["model"]
    inside = np.mean((res.y_true >= lo) & (res.y_true <= hi))
    assert m["coverage"] == pytest.approx(inside) and m["nominal"] == 0.9 and m["width"] > 0


def test_list_of_series_and_start_fraction():
    ys = [_series(100, seed=0), _series(120, seed=1)]
    res = RNNForecaster(horizon=4, **FAST).backtest(ys, start=0.8, stride=4)
    assert res.origins == [(0, 80), (0, 84), (0, 88), (0, 92), (0, 96), (1, 96), (1, 100), (1, 104), (1, 108),
                           (1, 112), (1, 116)]


def test_backtest_errors():
    y = _series()
    with pytest.raises(ValueError, match="no forecast window fits"):
        RNNForecaster(horizon=6, **FAST).backtest(y, start=118)
    with pytest.raises(ValueError, match="stride must be >= 1"):
        RNNForecaster(horizon=6, **FAST).backtest(y, start=100, stride=0)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        RNNForecaster(horizon=6, **FAST).backtest(y, start=1.0)
