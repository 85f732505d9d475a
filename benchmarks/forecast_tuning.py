"""How RNNForecaster's defaults were chosen: backtests on training parts only.

Tuning series (never the held-out months, never the series of ``examples/forecast_backtest.py``):
Airline's first 108 months, statsmodels' co2 (weekly, averaged to months), elec_equip
(first 221 months) and sunspots (yearly). Two protocols, seeds 0, 1, 2:

- multi-step: rolling origins with an expanding window, one forecast of ``h`` steps per
  origin (Airline 62/67/72, h=36; co2 300/350/400, h=36; elec_equip 100/140/180, h=36;
  sunspots 200/230/260, h=20);
- one-step: a ``horizon=1`` model fitted once, rolling one-step forecasts over the next months
  with the true history (Airline fitted on 72, 84, 96 months; co2 on 400; elec_equip on 180;
  sunspots on 230).

The score of a setting is the geometric mean, over series, of its RMSE divided by the
seasonal naive RMSE of the same forecasts (lower is better); the spread is the standard
deviation over seeds of the log ratio.

Usage::

    python benchmarks/forecast_tuning.py                                  # the default setting
    python benchmarks/forecast_tuning.py '{"strategy": "recursive"}' '{"differencing": "both"}'
    python benchmarks/forecast_tuning.py --one-step '{"differencing": "seasonal"}'

Figures measured while choosing the defaults are in ``benchmarks/results/forecast_tuning.md``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time

import numpy as np

from rnnkit.datasets import load_series
from rnnkit.estimators import RNNForecaster
from rnnkit.estimators.baselines import seasonal_naive_forecast
from rnnkit.estimators.forecast_metrics import rmse


def _airline() -> np.ndarray:
    return np.asarray(load_series("airline").values, np.float64)


def _statsmodels(name: str) -> np.ndarray:
    data = importlib.import_module(f"statsmodels.datasets.{name}")
    if name == "co2":
        s = data.load_pandas().data["co2"]
        return s.resample("MS").mean().interpolate().to_numpy(np.float64)
    if name == "sunspots":
        return data.load_pandas().data["SUNACTIVITY"].to_numpy(np.float64)
    return data.load().data.iloc[:, 0].to_numpy(np.float64)


def tasks():
    air = _airline()[:108]                                  # the Airline training part only
    co2, elec, sun = _statsmodels("co2"), _statsmodels("elec_equip")[:221], _statsmodels("sunspots")
    multi = [("airline", air, (62, 67, 72), 36, 12), ("co2", co2, (300, 350, 400), 36, 12),
             ("elec_equip", elec, (100, 140, 180), 36, 12), ("sunspots", sun, (200, 230, 260), 20, None)]
    one = [("airline72", air, 72, 36, 12), ("airline84", air, 84, 24, 12), ("airline96", air, 96, 12, 12),
           ("co2", co2, 400, 36, 12), ("elec_equip", elec, 180, 36, 12), ("sunspots", sun, 230, 30, None)]
    return multi, one


def multi_step(params: dict, series, seeds) -> dict:
    out = {}
    for name, y, origins, h, m in series:
        logs = []
        for seed in seeds:
            r = []
            for o in origins:
                est = RNNForecaster(**{"horizon": h, "season_length": m, "random_state": seed, **params}).fit(y[:o])
                base = rmse(y[o:o + h], seasonal_naive_forecast(y[:o], h, m or 11))
                r.append(np.log(rmse(y[o:o + h], est.predict(h)) / base))
            logs.append(np.mean(r))
        out[name] = logs
    return out


def one_step(params: dict, series, seeds) -> dict:
    out = {}
    for name, y, o, n, m in series:
        period = m or 11
        base = rmse(y[o:o + n], np.array([y[t - period] for t in range(o, o + n)]))
        logs = []
        for seed in seeds:
            est = RNNForecaster(**{"horizon": 1, "season_length": m, "random_state": seed, **params}).fit(y[:o])
            res = est.backtest(y[:o + n], start=o, horizon=1, use_fitted=True)
            logs.append(np.log(res.metrics["model"]["rmse"] / base))
        out[name] = logs
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("settings", nargs="*", default=["{}"], help="JSON dicts of RNNForecaster arguments")
    ap.add_argument("--one-step", action="store_true", help="the one-step protocol instead of the multi-step one")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args(argv)
    multi, one = tasks()
    for text in args.settings:
        params = json.loads(text)
        t0 = time.perf_counter()
        res = one_step(params, one, args.seeds) if args.one_step else multi_step(params, multi, args.seeds)
        gm = float(np.exp(np.mean([np.mean(v) for v in res.values()])))
        cells = " ".join(f"{k} {np.exp(np.mean(v)):.2f} (sd {np.std(v):.2f})" for k, v in res.items())
        print(f"{json.dumps(params)}  GM {gm:.3f}  {cells}  [{time.perf_counter() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
