"""Airline passengers, the last 36 months held out: RNNForecaster with its defaults beside a
feed-forward window network (same lags, transforms and training), seasonal naive, SARIMA and
Holt-Winters.

Protocol (issue 8, section 5): the monthly series 1949-1960 (144 values); every model is fitted
once on the first 108 months.

- one-step RMSE: rolling one-step-ahead forecasts of the 36 test months, each from the true
  history up to its origin (the model is not refitted);
- 36-step RMSE: one forecast of all 36 months from the end of the training part.

The forecaster is given what a user knows: ``horizon=1`` for the one-step figure,
``horizon=36`` for the 36-step one, and ``season_length=12``; everything else is a default.
The defaults were chosen on backtests inside the first 108 months and on other series
(``benchmarks/forecast_tuning.py``), not on the test months. Seeds 0, 1, 2: mean and
spread. It also times one ``predict`` after loading the saved model (noisy on a shared machine).

Usage::

    python examples/forecast_airline.py               # about a minute on 2 cores
    python examples/forecast_airline.py --seeds 0 1 2 3 4
    python examples/forecast_airline.py --params '{"differencing": "both"}'   # not the default
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings

import numpy as np

import rnnkit
from rnnkit import nn
from rnnkit.datasets import load_series
from rnnkit.estimators import RNNForecaster
from rnnkit.estimators.baselines import seasonal_naive_forecast
from rnnkit.estimators.forecast_metrics import rmse

N_TRAIN, H, M = 108, 36, 12


def load_airline() -> np.ndarray:
    """The 144 monthly values (the file the sktime / aeon wheel ships, read by rnnkit.datasets)."""
    return np.asarray(load_series("airline").values, np.float64)


class WindowMLPForecaster(RNNForecaster):
    """The same forecaster (transforms, windows, training, recursion) with a feed-forward
    network over the flattened lags window (:class:`rnnkit.nn.WindowMLP`) instead of the RNN."""

    def _build_network(self, input_size, window, n_steps, n_targets, n_future, rng):
        return nn.WindowMLP(window, input_size, (64, 64), n_steps * n_targets, rng=rng)


def one_step_and_multi_step(cls, y, seed, params=None):
    """(one-step RMSE over the 36 test months, 36-step RMSE, the 36-step model, fit seconds):
    a ``horizon=1`` and a ``horizon=36`` model, each fitted once on y[:108] (``params``: other
    arguments than the defaults, for both)."""
    params = params or {}
    t0 = time.perf_counter()
    one = cls(horizon=1, season_length=M, random_state=seed, **params).fit(y[:N_TRAIN])
    multi = cls(horizon=H, season_length=M, random_state=seed, **params).fit(y[:N_TRAIN])
    seconds = (time.perf_counter() - t0) / 2
    rolling = one.backtest(y, start=N_TRAIN, horizon=1, use_fitted=True)      # true history up to each origin
    return rolling.metrics["model"]["rmse"], rmse(y[N_TRAIN:], multi.predict(H)), multi, one, seconds


def classical(y):
    """Seasonal naive, SARIMA and Holt-Winters (statsmodels, optional) on the same months."""
    rows = {}
    tr, te = y[:N_TRAIN], y[N_TRAIN:]
    one = np.array([y[t - M] for t in range(N_TRAIN, len(y))])
    rows["seasonal naive"] = (rmse(te, one), rmse(te, seasonal_naive_forecast(tr, H, M)))
    try:
        import statsmodels.api as sm
        from statsmodels.tsa.holtwinters import ExponentialSmoothing
    except ImportError:
        print("(statsmodels not installed: SARIMA and Holt-Winters skipped)")
        return rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, order, seasonal, log in [("SARIMA(1,1,0)(0,1,0)12", (1, 1, 0), (0, 1, 0, 12), False),
                                           ("SARIMA(0,1,1)(0,1,1)12 log", (0, 1, 1), (0, 1, 1, 12), True)]:
            z = np.log(y) if log else y
            res = sm.tsa.SARIMAX(z[:N_TRAIN], order=order, seasonal_order=seasonal).fit(disp=False)
            back = np.exp if log else (lambda v: v)
            one = back(res.apply(z).predict(start=N_TRAIN, end=len(y) - 1))   # fixed parameters, true history
            rows[name] = (rmse(te, one), rmse(te, back(res.forecast(H))))
        hw = ExponentialSmoothing(tr, trend="add", seasonal="mul", seasonal_periods=M).fit()
        full = ExponentialSmoothing(y, trend="add", seasonal="mul", seasonal_periods=M).fit(
            smoothing_level=hw.params["smoothing_level"], smoothing_trend=hw.params["smoothing_trend"],
            smoothing_seasonal=hw.params["smoothing_seasonal"], optimized=False)
        rows["Holt-Winters (mult.)"] = (rmse(te, full.fittedvalues[N_TRAIN:]), rmse(te, hw.forecast(H)))
    return rows


def predict_latency(est, y) -> tuple[float, float]:
    """Median seconds of one predict(h=1) and one predict(h=36) of ``est`` on the last 36 months,
    after saving and loading it."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "airline.npz")
        est.save(path)
        back = rnnkit.load(path)
    hist = y[-36:]
    out = []
    for h in (1, H):
        back.predict(h, y=hist)
        times = []
        for _ in range(200 if h == 1 else 30):
            t0 = time.perf_counter()
            back.predict(h, y=hist)
            times.append(time.perf_counter() - t0)
        out.append(float(np.median(times)))
    return out[0], out[1]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--params", type=json.loads, default={},
                    help='JSON of RNNForecaster arguments instead of defaults, e.g. \'{"differencing": "both"}\'')
    args = ap.parse_args(argv)
    y = load_airline()
    print(f"Airline passengers: {len(y)} months, train {N_TRAIN}, test {len(y) - N_TRAIN}\n")
    results = {}
    for name, cls in (("RNNForecaster (LSTM" + (f", {args.params})" if args.params else ", defaults)"), RNNForecaster),
                      ("WindowMLP, same lags/training", WindowMLPForecaster)):
        scores, secs = [], []
        for seed in args.seeds:
            a, b, multi, one, sec = one_step_and_multi_step(cls, y, seed, args.params)
            scores.append((a, b))
            secs.append(sec)
            if cls is RNNForecaster and seed == args.seeds[0]:
                first, first_one = multi, one
        s = np.array(scores)
        results[name] = (s, float(np.mean(secs)))
    print(f"{'model':32s} {'one-step RMSE':>18s} {'36-step RMSE':>18s} {'fit s':>6s}")
    for name, (s, sec) in results.items():
        print(f"{name:32s} {s[:, 0].mean():9.1f} ± {s[:, 0].std():5.1f} {s[:, 1].mean():11.1f} ± {s[:, 1].std():5.1f}"
              f" {sec:6.1f}")
        print(f"{'':32s} per seed: " + ", ".join(f"{a:.1f}/{b:.1f}" for a, b in s))
    for name, (a, b) in classical(y).items():
        print(f"{name:32s} {a:17.1f} {b:18.1f}")
    for what, est in (("one-step model", first_one), ("36-step model", first)):
        print(f"{what}: the rules chose log={est.log_}, differencing lags {est.difference_lags_}, lags={est.lags_}, "
              f"strategy={est.strategy}")
    t1, t36 = predict_latency(first, y)
    print(f"36-step model, predict after rnnkit.load, 36-month history: h=1 {t1 * 1e3:.3f} ms, "
          f"h=36 {t36 * 1e3:.3f} ms (median)")
    t1, _ = predict_latency(first_one, y)
    print(f"one-step model, predict(1) after rnnkit.load: {t1 * 1e3:.3f} ms (median)")


if __name__ == "__main__":
    main()
