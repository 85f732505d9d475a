"""RNNForecaster through rnnkit.export.to_onnx: the whole forecast (log, differencing, scaler,
network, the differencing undone) in onnxruntime against the estimator's predict."""

import numpy as np
import pytest

pytest.importorskip("onnx", reason="ONNX export needs the onnx package")
ort = pytest.importorskip("onnxruntime", reason="checking the exported file needs onnxruntime")

from rnnkit.estimators import RNNForecaster  # noqa: E402
from rnnkit.export import UnsupportedModuleError, check, to_onnx  # noqa: E402

SMALL = dict(hidden_size=6, max_epochs=3, season_length=12, random_state=0)


def _series(n=120, seed=0):
    t = np.arange(n)
    return 50 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(seed).normal(size=n)


def _run(path, X):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(["prediction"], {"X": np.asarray(X, np.float32)})[0]


def _predict(est, X):
    return np.stack([np.reshape(est.predict(est.horizon, y=x[:, 0]), (est.horizon, 1)) for x in X])


@pytest.mark.parametrize("kw", [
    dict(horizon=6),                                                    # direct, seasonal difference
    dict(horizon=1),                                                    # one-step: seasonal and first difference
    dict(horizon=5, strategy="recursive", cell="gru"),                  # 5 network calls, each fed back
    dict(horizon=4, center=True, ensemble_size=2, num_layers=2),        # mean of two 2-layer LSTMs
    dict(horizon=3, log=True, differencing="both", cell="rnn"),         # log: Log and Exp ops
    dict(horizon=2, differencing="none", log=False),
])
def test_onnx_forecast_equals_predict(tmp_path, kw):
    y = _series()
    est = RNNForecaster(**SMALL, **kw).fit(y)
    path = tmp_path / "f.onnx"
    to_onnx(est, path)
    for T in (40, 61):                                                  # any history of >= lags + d steps
        X = np.stack([y[s:s + T] for s in (0, 13, 50)])[:, :, None]    # (B, T, 1)
        got = _run(path, X)
        assert got.shape == (3, est.horizon, 1)
        np.testing.assert_allclose(got, _predict(est, X.astype(np.float32)), rtol=2e-5, atol=0)
        assert check(path, est, inputs={"X": X.astype(np.float32)}) < 1e-2


def test_head_at_zero_gives_the_seasonal_baseline_by_hand(tmp_path):
    # output layer 0: every forecast step is the value a season earlier plus the mean seasonal change
    y = _series()
    est = RNNForecaster(**SMALL, horizon=6, differencing="seasonal", log=False).fit(y)
    est.model_.member0.head.weight.data[...] = 0.0
    est.model_.member0.head.bias.data[...] = 0.0
    path = tmp_path / "f.onnx"
    to_onnx(est, path)
    hist = y[:80]
    change = np.mean(y[12:] - y[:-12])                                  # the scaler's mean, fitted on all of y
    np.testing.assert_allclose(_run(path, hist[None, :, None])[0, :, 0], hist[-12:-6] + change, rtol=1e-5)


def test_a_multivariate_model(tmp_path):
    y = np.stack([_series(seed=1), 10 + np.cos(np.arange(120) / 3)], axis=1)        # (T, 2)
    est = RNNForecaster(**SMALL, horizon=3, log=False).fit(y)
    path = tmp_path / "f.onnx"
    to_onnx(est, path)
    X = np.stack([y[:50], y[20:70]])
    want = np.stack([est.predict(3, y=x) for x in X.astype(np.float32)])
    np.testing.assert_allclose(_run(path, X), want, rtol=2e-5)


def test_what_cannot_be_a_fixed_graph_is_refused(tmp_path):
    y = _series()
    cov = np.arange(120.0)[:, None]
    est = RNNForecaster(**SMALL, horizon=2).fit(y, future_covariates=cov)
    with pytest.raises(UnsupportedModuleError, match="covariates"):
        to_onnx(est, tmp_path / "f.onnx")
    est = RNNForecaster(**SMALL, horizon=2).fit([y, y[:100] + 3])
    with pytest.raises(UnsupportedModuleError, match="list of series"):
        to_onnx(est, tmp_path / "f.onnx")


def test_too_short_histories_are_refused_with_what_is_needed():
    from rnnkit.export._forecaster import forecaster_export_spec

    est = RNNForecaster(**SMALL, horizon=2, log=False).fit(_series())
    with pytest.raises(ValueError, match=r"T >= lags \+ d = 24 steps"):
        forecaster_export_spec(est).reference(np.zeros((1, 5, 1)), None)


@pytest.mark.parametrize("log", [True, False])
def test_check_with_its_default_inputs(tmp_path, log):
    est = RNNForecaster(**SMALL, horizon=3, log=log, differencing="both").fit(_series())
    to_onnx(est, tmp_path / "f.onnx")
    assert check(tmp_path / "f.onnx", est) < 1e-2                   # histories near the training tail
