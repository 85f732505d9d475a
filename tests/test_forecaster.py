"""RNNForecaster: learning, transforms inverted, covariates, lists, saving, parameters, bad input."""

import numpy as np
import pytest

import rnnkit
from rnnkit.estimators.baselines import naive_forecast, seasonal_naive_forecast
from rnnkit.estimators.forecaster import RNNForecaster

FAST = dict(hidden_size=8, max_epochs=40, patience=40, lr=1e-2)


def _sine(n=120, m=12, noise=0.0, level=10.0, seed=0):
    t = np.arange(n)
    return level + np.sin(2 * np.pi * t / m) + noise * np.random.default_rng(seed).normal(size=n)


def _rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_learns_a_clean_seasonal_sine_well_beyond_naive(strategy):
    y = _sine(132, m=8)
    tr, te = y[:120], y[120:]
    est = RNNForecaster(horizon=12, strategy=strategy, season_length=8, differencing="none", log=False,
                        random_state=0, **FAST).fit(tr)
    pred = est.predict()
    assert pred.shape == (12,)
    naive = _rmse(naive_forecast(tr, 12), te)
    assert _rmse(pred, te) < 0.25 * naive


def test_direct_strategy_learns_and_continues_beyond_the_horizon():
    y = _sine(140, m=10)
    est = RNNForecaster(horizon=5, strategy="direct", season_length=10, differencing="none", log=False,
                        random_state=0, **FAST).fit(y[:120])
    p5, p12 = est.predict(), est.predict(12)
    assert p12.shape == (12,)
    np.testing.assert_array_equal(p12[:5], p5)                       # blocks of horizon steps
    assert _rmse(p12, y[120:132]) < 0.25 * _rmse(naive_forecast(y[:120], 12), y[120:132])


def test_seasonal_differencing_and_log_are_inverted_on_output():
    # a multiplicative, trending seasonal series: the auto rules choose log + seasonal difference;
    # a network that outputs exactly 0 in model space then forecasts y_{t-12} * exp(mean growth)
    t = np.arange(96)
    y = 100 * np.exp(0.01 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 12))
    est = RNNForecaster(horizon=12, season_length=12, random_state=0, **FAST).fit(y)
    assert est.log_ and est.difference_lags_ == (12,)
    for p in est.model_.parameters():
        p.data[...] = 0.0                                          # the network now outputs w = 0
    tf = est.transforms_[0]
    growth = np.exp(tf.mean[0])                                    # mean of log(y_t / y_{t-12}) on the training part
    np.testing.assert_allclose(growth, np.exp(0.12), rtol=1e-10)
    np.testing.assert_allclose(est.predict(), y[-12:] * growth, rtol=1e-10)


def test_predict_with_the_training_series_as_history_equals_predict():
    y = _sine(100, noise=0.1)
    est = RNNForecaster(horizon=6, season_length=12, random_state=0, **FAST).fit(y)
    np.testing.assert_array_equal(est.predict(y=y), est.predict())
    assert not np.array_equal(est.predict(y=y[:-1]), est.predict())


def test_random_state_repeats_fit_bit_for_bit():
    y = _sine(100, noise=0.1)
    a = RNNForecaster(horizon=3, season_length=12, random_state=3, **FAST).fit(y).predict()
    b = RNNForecaster(horizon=3, season_length=12, random_state=3, **FAST).fit(y).predict()
    np.testing.assert_array_equal(a, b)


def test_multivariate_series_forecasts_every_channel():
    t = np.arange(120)
    y = np.stack([np.sin(2 * np.pi * t / 12), 5 + np.cos(2 * np.pi * t / 6)], axis=1)   # (T, 2)
    est = RNNForecaster(horizon=6, season_length=12, differencing="none", random_state=0, **FAST).fit(y[:108])
    pred = est.predict()
    assert pred.shape == (6, 2) and est.n_features_in_ == 2
    assert _rmse(pred, y[108:114]) < 0.3 * _rmse(naive_forecast(y[:108], 6), y[108:114])


def test_list_of_series_one_global_model_with_per_series_scaling():
    ys = [_sine(96, level=lvl, seed=i, noise=0.05) * s for i, (lvl, s) in enumerate([(10, 1), (50, 3), (200, 10)])]
    est = RNNForecaster(horizon=4, season_length=12, differencing="none", log=False, random_state=0, **FAST)
    est.fit([y[:84] for y in ys])
    preds = est.predict()
    assert isinstance(preds, list) and len(preds) == 3 and preds[0].shape == (4,)
    for y, p, tf in zip(ys, preds, est.transforms_):
        assert tf.mean[0] == pytest.approx(y[:84].mean())          # each series its own scaler
        assert _rmse(p, y[84:88]) < 0.5 * _rmse(naive_forecast(y[:84], 4), y[84:88])
    new = est.predict(y=ys[1][:84] * 2)                             # an unseen series: scaled by its own history
    np.testing.assert_allclose(new, 2 * preds[1], rtol=1e-4)


def test_future_covariates_carry_signal_and_change_the_answer():
    g = np.random.default_rng(0)
    x = g.normal(size=(160, 1))                                     # known in advance (e.g. a promotion)
    y = 2.0 * x[:, 0] + 0.05 * g.normal(size=160)
    kw = dict(horizon=1, season_length=1, differencing="none", log=False, random_state=0, **FAST)
    with_cov = RNNForecaster(**kw).fit(y[:150], future_covariates=x[:150])
    without = RNNForecaster(**kw).fit(y[:150])
    pw = np.array([with_cov.predict(1, y=y[:t], future_covariates=x[:t + 1])[0] for t in range(150, 160)])
    po = np.array([without.predict(1, y=y[:t])[0] for t in range(150, 160)])
    assert _rmse(pw, y[150:]) < 0.3 * _rmse(po, y[150:])
    a = with_cov.predict(1, future_covariates=np.array([[2.0]]))
    b = with_cov.predict(1, future_covariates=np.array([[-2.0]]))
    assert a[0] - b[0] > 4.0                                         # the learnt effect: about 2 * 4


def test_past_covariates_carry_signal():
    g = np.random.default_rng(1)
    x = g.normal(size=(160, 1))
    y = np.r_[0.0, 1.5 * x[:-1, 0]] + 0.05 * g.normal(size=160)     # y_t follows x_{t-1}
    kw = dict(horizon=1, season_length=1, differencing="none", log=False, random_state=0, **FAST)
    est = RNNForecaster(**kw).fit(y[:150], past_covariates=x[:150])
    p = np.array([est.predict(1, y=y[:t], past_covariates=x[:t])[0] for t in range(150, 160)])
    assert _rmse(p, y[150:]) < 0.3 * np.std(y)
    with pytest.raises(ValueError, match="past covariates are unknown after the forecast origin"):
        est.predict(2)


def test_intervals_contain_the_point_forecast_and_widen_with_coverage():
    y = _sine(120, noise=0.2)
    est = RNNForecaster(horizon=6, season_length=12, log=False, differencing="none", random_state=0, **FAST).fit(y)
    p = est.predict()
    lo80, hi80 = est.predict_interval(coverage=0.8, n_paths=400)
    lo95, hi95 = est.predict_interval(coverage=0.95, n_paths=400)
    assert lo80.shape == hi80.shape == (6,)
    assert np.all(lo95 <= lo80) and np.all(hi80 <= hi95) and np.all(lo80 < hi80)
    assert np.all((lo95 < p) & (p < hi95))
    np.testing.assert_array_equal(est.predict_interval(coverage=0.8, n_paths=400)[0], lo80)   # repeatable
    # the residual draws come from the validation errors: width about 2 * 1.28 sigma at step 1
    sigma = np.sqrt(np.mean(est.residuals_ ** 2)) * est.transforms_[0].std[0]
    assert 1.5 * sigma < hi80[0] - lo80[0] < 4.0 * sigma


def test_save_load_predicts_bitwise_the_same(tmp_path):
    g = np.random.default_rng(2)
    x = g.normal(size=(110, 1))
    y = _sine(110, noise=0.1) + x[:, 0]
    est = RNNForecaster(horizon=4, strategy="direct", season_length=12, random_state=0, **FAST)
    est.fit(y[:100], future_covariates=x[:100])
    path = tmp_path / "fc.npz"
    est.save(path)
    back = rnnkit.load(path)
    assert type(back) is RNNForecaster and back.get_params() == est.get_params()
    f = x[100:104]
    np.testing.assert_array_equal(back.predict(future_covariates=f), est.predict(future_covariates=f))
    np.testing.assert_array_equal(back.predict(y=y[:90], future_covariates=x[:94]),
                                  est.predict(y=y[:90], future_covariates=x[:94]))
    np.testing.assert_array_equal(back.predict_interval(future_covariates=f, n_paths=50)[1],
                                  est.predict_interval(future_covariates=f, n_paths=50)[1])
    assert back.history_.history["val_loss"] == est.history_.history["val_loss"]
    assert back.lags_ == est.lags_ and back.season_length_ == 12
    for k in ("series", "origin", "y_true", "y_pred"):
        np.testing.assert_array_equal(back.validation_forecasts_[k], est.validation_forecasts_[k])


def test_validation_forecasts_are_the_last_windows_in_the_series_units():
    y = _sine(100, noise=0.1)
    est = RNNForecaster(horizon=3, season_length=12, random_state=0, **FAST).fit(y)
    v = est.validation_forecasts_
    n = len(v["origin"])
    # windows: origins d + L .. T - K = 24 .. 97 (74), the last round(0.15 * 74) = 11 held out
    assert n == 11 and list(v["origin"]) == list(range(87, 98))
    for t0, truth, pred in zip(v["origin"], v["y_true"], v["y_pred"]):
        np.testing.assert_array_equal(truth[:, 0], y[t0:t0 + 3])
        np.testing.assert_allclose(pred[:, 0], est.predict(3, y=y[:t0]), rtol=1e-12)


def test_ensemble_averages_its_members():
    y = _sine(100, noise=0.1)
    est = RNNForecaster(horizon=2, season_length=12, ensemble_size=3, random_state=0, **FAST).fit(y)
    assert len(est.histories_) == 3 and est.model_.n_members == 3
    x = np.random.default_rng(0).normal(size=(4, est.lags_, 1)).astype(np.float32)
    with rnnkit.no_grad():
        mean = np.mean([m(x) for m in est.model_.members], axis=0)
        np.testing.assert_allclose(est.model_(x), mean, rtol=1e-6)


def test_params_follow_scikit_learn():
    sklearn_base = pytest.importorskip("sklearn.base", reason="scikit-learn (optional) defines clone")
    est = RNNForecaster(horizon=7, lags=9)
    assert est.get_params()["horizon"] == 7 and est.set_params(lags=5) is est and est.lags == 5
    c = sklearn_base.clone(est)
    assert c.get_params() == est.get_params() and c is not est


def test_score_is_negative_rmse_of_the_continuation():
    y = _sine(110, noise=0.1)
    est = RNNForecaster(horizon=5, season_length=12, random_state=0, **FAST).fit(y[:100])
    assert est.score(y[100:105]) == pytest.approx(-_rmse(est.predict(5), y[100:105]))
    assert est.score(y[100:105]) > -_rmse(seasonal_naive_forecast(y[:100], 5, 12), y[100:105]) - 0.5


# -- bad input -----------------------------------------------------------------------------
def test_series_shorter_than_lags_plus_horizon():
    msg = r"y has 20 steps; it needs at least lags \+ differencing \+ horizon = 12 \+ 0 \+ 10"
    with pytest.raises(ValueError, match=msg):
        RNNForecaster(lags=12, horizon=10, season_length=1, differencing="none").fit(np.arange(20.0))


def test_horizon_zero_and_bad_params():
    with pytest.raises(ValueError, match="horizon must be >= 1, got 0"):
        RNNForecaster(horizon=0).fit(_sine())
    with pytest.raises(ValueError, match="strategy must be one of"):
        RNNForecaster(strategy="dirct").fit(_sine())
    with pytest.raises(ValueError, match="differencing must be one of"):
        RNNForecaster(differencing=1).fit(_sine())
    with pytest.raises(ValueError, match="h must be >= 1"):
        RNNForecaster(**FAST, max_time=0.0).fit(_sine()).predict(0)


def test_nan_positions_reported_or_imputed_when_asked():
    y = _sine(100)
    y[[5, 17, 18]] = np.nan
    msg = r"y has 3 missing value\(s\) \(NaN\) at step\(s\) \[5, 17, 18\]; pass impute="
    with pytest.raises(ValueError, match=msg):
        RNNForecaster().fit(y)
    with pytest.raises(ValueError, match=r"\(step, channel\) \[\(5, 1\)\]"):
        RNNForecaster().fit(np.stack([_sine(100), np.where(np.arange(100) == 5, np.nan, 1.0)], 1))
    est = RNNForecaster(impute="linear", season_length=12, max_epochs=1).fit(y)
    assert np.all(np.isfinite(est.predict()))
    inf = _sine(100)
    inf[3] = np.inf
    with pytest.raises(ValueError, match=r"infinite value\(s\) at step\(s\) \[3\]"):
        RNNForecaster(impute="linear").fit(inf)


def test_non_numeric_series():
    with pytest.raises(TypeError, match=r"y must be numeric; found 'x' \(str\) at position 2"):
        RNNForecaster().fit(np.array([1.0, 2.0, "x", 4.0], dtype=object))
    with pytest.raises(TypeError, match="y must be numeric, got dtype <U"):
        RNNForecaster().fit(np.array(["1", "2"]))
    with pytest.raises(TypeError, match="got booleans"):
        RNNForecaster().fit(np.ones(50, bool))


def test_wrong_covariate_lengths():
    y = _sine(100)
    msg = r"future_covariates must have 100 rows \(the length of the series \(100\)\), got 90"
    with pytest.raises(ValueError, match=msg):
        RNNForecaster().fit(y, future_covariates=np.zeros((90, 1)))
    with pytest.raises(ValueError, match=r"past_covariates must be a list of 2 arrays"):
        RNNForecaster().fit([y, y], past_covariates=np.zeros((100, 1)))
    est = RNNForecaster(season_length=12, max_epochs=1, horizon=3).fit(y, future_covariates=np.zeros((100, 2)))
    with pytest.raises(ValueError, match=r"future_covariates must have 3 rows"):
        est.predict(future_covariates=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"future_covariates must have 2 columns \(as at fit\), got 1"):
        est.predict(future_covariates=np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"future_covariates \(2 columns, h rows\) are needed"):
        est.predict()
    msg = r"future_covariates must have 63 rows \(the length of the series \(60\) \+ 3 steps\)"
    with pytest.raises(ValueError, match=msg):
        est.predict(y=y[:60], future_covariates=np.zeros((60, 2)))


def test_predict_history_checks():
    est = RNNForecaster(season_length=12, max_epochs=1, lags=12).fit(_sine() + 5)
    with pytest.raises(ValueError, match=r"a forecast needs lags \+ differencing"):
        est.predict(y=_sine()[:5])
    with pytest.raises(ValueError, match="must have 1 channel"):
        est.predict(y=np.zeros((50, 2)))
    with pytest.raises(rnnkit.errors.NotFittedError):
        RNNForecaster().predict()


def test_zero_output_is_the_drift_baseline_and_fallback_keeps_it(monkeypatch):
    # with a first difference, w_hat = 0 means u = mean(diff) = (y_T - y_1) / (T - 1): the drift forecast
    from rnnkit.estimators import forecaster as mod
    from rnnkit.estimators.baselines import drift_forecast

    # (a clear drift: mean step 0.84, t = 8.2 > 2); without one (t = -1.6) w_hat = 0 is the naive forecast
    steps = np.random.default_rng(5).normal(0.0, 1.0, size=80)
    y, flat = np.cumsum(steps + 1.0), np.cumsum(steps)
    real = mod.train_network

    def worse_than_baseline(net, *args, **kwargs):
        hist, keep = real(net, *args, **kwargs)
        keep.tracker.best = np.inf                  # as if no epoch had beaten the baseline
        return hist, keep

    monkeypatch.setattr(mod, "train_network", worse_than_baseline)
    est = RNNForecaster(horizon=5, differencing="first", log=False, season_length=1, random_state=0, **FAST).fit(y)
    assert est.fallbacks_ == [True]
    np.testing.assert_allclose(est.predict(), drift_forecast(y, 5), rtol=1e-12)
    est = RNNForecaster(horizon=5, differencing="first", log=False, season_length=1, random_state=0, **FAST).fit(flat)
    assert est.fallbacks_ == [True]
    np.testing.assert_allclose(est.predict(), naive_forecast(flat, 5), rtol=1e-12)
    monkeypatch.setattr(mod, "train_network", real)
    est = RNNForecaster(horizon=5, differencing="first", log=False, season_length=1, fallback=False,
                        random_state=0, **FAST).fit(y)
    assert est.fallbacks_ == [False]


def test_training_starts_from_the_baseline():
    y = _sine(100, noise=0.1)
    est = RNNForecaster(horizon=3, season_length=12, random_state=0, **FAST, max_time=0.0).fit(y)
    # max_time=0 stops after the first epoch: the head has moved a little from zero, so the forecast is
    # still close to the baseline of the seasonal difference (last season times the mean change)
    tf = est.transforms_[0]
    base = tf.from_level(tf.to_level(y[-12:-9]) + tf.mean[0])
    assert _rmse(est.predict(), base) < 0.1 * np.std(y)
