"""Backtests on series the forecaster's defaults were never tuned on, beside naive, seasonal
naive and drift on the same windows.

Each series gets what a user would know: the horizon and, for calendar data, the seasonal
period (12 monthly, 4 quarterly, 48 half-hourly); yearly series get none (the forecaster then
detects a cycle by its rule, and the seasonal naive baseline uses the same period). Rolling
origins, expanding window, the model trained once on the data before the first origin
(``RNNForecaster.backtest``). Seeds 0, 1, 2: mean and spread of the model's MASE (MASE is
scaled by the in-sample seasonal naive MAE of the training part, so the seasonal naive
forecast scores near 1 when the series behaves the same after ``start``).

The defaults were chosen on Airline (first 108 months), co2, elec_equip and sunspots; none of
the series below was used.

Usage::

    python examples/forecast_backtest.py               # a few minutes on 2 cores
    python examples/forecast_backtest.py --only lynx seatbelts
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rnnkit.datasets import load_series
from rnnkit.estimators import RNNForecaster


def _packaged(name: str, column: str) -> np.ndarray:
    """A series that the sktime / aeon wheel ships, through :func:`rnnkit.datasets.load_series`."""
    return np.asarray(load_series(name, column=column).values, np.float64)


def _statsmodels(name: str, column: str) -> np.ndarray:
    import importlib

    mod = importlib.import_module(f"statsmodels.datasets.{name}")
    return mod.load_pandas().data[column].to_numpy(np.float64)


def _generated(n: int = 360, seed: int = 11) -> np.ndarray:
    """Monthly-like demand: trend, a season of 12 whose shape drifts, AR(1) noise (seeded, fixed)."""
    g = np.random.default_rng(seed)
    t = np.arange(n)
    shape = np.sin(2 * np.pi * t / 12) + 0.5 * np.sin(4 * np.pi * t / 12 + t / 120)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.6 * noise[i - 1] + g.normal()
    return 50 + 0.1 * t + 8 * shape + 2 * noise


# name: (loader, season_length or None, start, horizon, stride)
SERIES = {
    "lynx": (lambda: _packaged("lynx", "0"), None, 84, 10, 5),
    "shampoo": (lambda: _packaged("shampoo_sales", "Sales"), 12, 24, 3, 3),
    "seatbelts": (lambda: _packaged("seatbelts", "KSI"), 12, 144, 12, 6),
    "solar": (lambda: _packaged("solar", "solar_gen"), 48, 192, 48, 12),
    "nile": (lambda: _statsmodels("nile", "volume"), None, 70, 10, 5),
    "realgdp": (lambda: _statsmodels("macrodata", "realgdp"), 4, 160, 8, 4),
    "generated": (_generated, 12, 288, 12, 6),
}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", nargs="+", choices=sorted(SERIES), default=sorted(SERIES))
    args = ap.parse_args(argv)
    print(f"{'series':10s} {'T':>4s} {'m':>3s} {'h':>3s} {'windows':>7s}  {'model MASE':>14s} {'naive':>6s} "
          f"{'s.naive':>7s} {'drift':>6s}  beats s.naive  {'s':>5s}")
    wins = 0
    for name in args.only:
        load, m, start, h, stride = SERIES[name]
        try:
            y = load()
        except (ImportError, OSError, ValueError) as err:
            print(f"{name:10s} skipped: {err}")
            continue
        mase, seasons = [], []
        t0 = time.perf_counter()
        for seed in args.seeds:
            res = RNNForecaster(horizon=h, season_length=m, random_state=seed).backtest(y, start=start, stride=stride)
            mase.append(res.metrics["model"]["mase"])
            seasons.append(res.season_length)
        base = res.metrics
        beats = all(v < base["seasonal_naive"]["mase"] for v in mase)
        wins += beats
        print(f"{name:10s} {len(y):4d} {seasons[0]:3d} {h:3d} {len(res.origins):7d}  {np.mean(mase):7.3f} ± "
              f"{np.std(mase):5.3f} {base['naive']['mase']:6.3f} {base['seasonal_naive']['mase']:7.3f} "
              f"{base['drift']['mase']:6.3f}  {'yes' if beats else 'no':>13s}  {time.perf_counter() - t0:5.0f}")
        print(f"{'':10s} per seed: " + ", ".join(f"{v:.3f}" for v in mase))
    print(f"\nbeats seasonal naive (every seed) on {wins} of {len(args.only)} series")


if __name__ == "__main__":
    main()
