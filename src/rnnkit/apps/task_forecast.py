"""``--task forecast``: a series from a CSV (or a packaged name) into RNNForecaster.

Training holds out the last ``--holdout`` steps (default: ``--horizon``): the model is fitted
on the steps before them, and ``evaluation.json`` holds its forecast of the held-out steps from
that origin, the prediction interval, the naive, seasonal-naive and drift baselines of the same
steps and the metrics of each (a rolling-origin backtest with the fitted model: nothing at or
after the origin is seen), plus the rolling one-step-ahead errors over the held-out part.
``predict`` continues the whole series of the file (or of ``--data``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["load", "check", "fit", "held_out", "probe", "evaluate", "predict", "future_index", "index_labels"]

_SHOW_CHANNELS = 4
_BASELINE_NAMES = {"model": "model", "naive": "naive", "seasonal_naive": "seasonal naive", "drift": "drift"}
_TABLE = ("rmse", "mae", "mape", "smape", "mase")


def _named(metrics: dict) -> dict:
    """Backtest metrics keyed by the names the report shows ('seasonal naive')."""
    return {_BASELINE_NAMES.get(k, k): v for k, v in metrics.items()}


def load(path, opts, role: str):
    """The series (``rnnkit.datasets.TimeSeries``); missing values refused (with their lines)
    unless ``--impute``."""
    from rnnkit.datasets import load_series

    column = opts.target
    if isinstance(column, str) and "," in column:
        column = [c.strip() for c in column.split(",") if c.strip()]
    ts = load_series(path, column=column, date_column=opts.date_column)
    if ts.n_missing and opts.impute is None:
        where = ", ".join(f"line {int(ts.lines[t])} column {c!r}" if ts.lines is not None else f"step {t} column {c!r}"
                          for t, c in ts.missing_positions()[:5])
        more = f" and {ts.n_missing - 5} more" if ts.n_missing > 5 else ""
        raise ValueError(f"{ts.path or path}: {ts.n_missing} missing value(s): {where}{more}; pass --impute linear "
                         "or --impute ffill to fill them")
    return ts


def _holdout(est, ts, opts) -> int:
    h = est.horizon if opts.holdout is None else opts.holdout
    T = len(ts)
    if h >= T:
        raise ValueError(f"--holdout {h} leaves nothing to train on: the series has {T} steps")
    return int(h)


def check(est, ts, opts) -> None:
    """Refuse, before anything is written, a series too short for the settings."""
    T, H = len(ts), _holdout(est, ts, opts)
    if est.lags is not None:
        lags = est.lags
    else:
        lags = est.default_lags(est.season_length or 1)
    need = lags + est.horizon
    if T - H < need:
        held = f"; {H} of them are held out (--holdout), {T - H} left to train on" if H else ""
        raise ValueError(f"{ts.path or ts.name}: the series has {T} steps{held}, fewer than lags + horizon = "
                         f"{lags} + {est.horizon} = {need} (plus any differencing); give a longer series or smaller "
                         "--lags, --horizon or --holdout")


def fit(est, ts, opts, fit_kw: dict) -> None:
    T = len(ts)
    train = ts.values[:T - _holdout(est, ts, opts)]
    est.fit(train, **fit_kw)


def index_labels(ts, lo: int = 0, hi: int | None = None) -> list:
    """JSON-able time labels of steps ``lo..hi``: ISO dates, or step numbers."""
    hi = len(ts) if hi is None else hi
    if ts.index is None:
        return list(range(lo, hi))
    idx = ts.index[lo:hi]
    if idx.dtype.kind == "M":
        return [str(v) for v in np.datetime_as_string(idx)]
    return idx.tolist()


def future_index(ts, h: int) -> list:
    """Labels of the ``h`` steps after the series: dates continued at the series' regular step
    (``freq``), else step numbers."""
    T = len(ts)
    if ts.index is None:
        return list(range(T, T + h))
    if ts.index.dtype.kind in "iu":                        # an integer step column
        step = int(ts.index[-1] - ts.index[-2]) if T >= 2 else 1
        return [int(ts.index[-1]) + step * k for k in range(1, h + 1)]
    if ts.index.dtype.kind != "M" or ts.freq is None or T < 2:
        return [f"+{k}" for k in range(1, h + 1)]
    for unit in ("Y", "M", "D", "s", "us"):
        coarse = ts.index.astype(f"datetime64[{unit}]")
        if (coarse.astype(ts.index.dtype) == ts.index).all():
            step = np.diff(coarse.astype(np.int64))
            if step.size and (step == step[0]).all():
                nxt = coarse[-1] + step[0] * np.arange(1, h + 1)
                return [str(v) for v in np.datetime_as_string(nxt.astype(ts.index.dtype))]
    return [f"+{k}" for k in range(1, h + 1)]


def _columns(ts) -> list[str]:
    return [str(c) for c in ts.columns]


def _channel(a, c: int) -> list:
    a = np.asarray(a, np.float64)
    return (a if a.ndim == 1 else a[:, c]).tolist()


def held_out(est, ts, test, opts) -> dict:
    """The report's forecast of the held-out end (see the module docstring)."""
    T, H = len(ts), _holdout(est, ts, opts)
    cols = _columns(ts)
    m = int(est.season_length_)
    if H == 0:
        f = est.predict(est.horizon, y=ts.values)
        lo, hi = est.predict_interval(est.horizon, y=ts.values, coverage=opts.coverage)
        past = max(0, T - 4 * max(est.horizon, m))
        entries = [{"kind": "forecast", "title": f"{col}: forecast after the data (nothing held out)",
                    "history_index": index_labels(ts, past), "history": _channel(ts.values[past:], c),
                    "index": future_index(ts, est.horizon), "truth": [None] * est.horizon,
                    "forecast": _channel(f, c), "lower": _channel(lo, c), "upper": _channel(hi, c),
                    "level": opts.coverage} for c, col in enumerate(cols[:_SHOW_CHANNELS])]
        return {"on": "nothing held out (--holdout 0)", "metrics": {}, "entries": entries}
    y = ts.values
    bt = est.backtest(y, start=T - H, horizon=H, stride=H, use_fitted=True, coverage=opts.coverage)
    metrics = _named(bt.metrics)
    past = max(0, T - H - 3 * max(H, m))
    entries = []
    for c, col in enumerate(cols[:_SHOW_CHANNELS]):
        baselines = {_BASELINE_NAMES[n] + (f" (m={m})" if n == "seasonal_naive" else ""): f[0, :, c].tolist()
                     for n, f in bt.forecasts.items() if n != "model"}
        lower, upper = bt.intervals
        entry = {"kind": "forecast", "title": f"{col}: the last {H} steps held out",
                 "history_index": index_labels(ts, past, T - H), "history": _channel(y[past:T - H], c),
                 "index": index_labels(ts, T - H), "truth": bt.y_true[0, :, c].tolist(),
                 "forecast": bt.forecasts["model"][0, :, c].tolist(), "lower": lower[0, :, c].tolist(),
                 "upper": upper[0, :, c].tolist(), "level": opts.coverage, "baselines": baselines}
        if c == 0:
            entry["metrics"] = {k: {n: v[n] for n in _TABLE} for k, v in metrics.items()}
        entries.append(entry)
    summary = {f"holdout_{k}": v for k, v in metrics["model"].items() if k in ("rmse", "mae", "mase", "coverage")}
    summary.update({f"{k.replace(' ', '_')}_rmse": v["rmse"] for k, v in metrics.items() if k != "model"})
    if H > 1:
        one = _named(est.backtest(y, start=T - H, horizon=1, stride=1, use_fitted=True).metrics)
        summary["one_step_rmse"] = one["model"]["rmse"]
        summary["one_step_seasonal_naive_rmse"] = one["seasonal naive"]["rmse"]
        metrics = {"multi_step": metrics, "one_step": one}
    return {"on": f"the last {H} of {T} steps of {ts.name}, forecast from step {T - H}", "metrics": metrics,
            "summary": summary, "entries": entries}


def probe(est, ts, opts) -> None:
    est.predict(1, y=ts.values[:len(ts) - _holdout(est, ts, opts)])


def evaluate(est, ts, opts, args: dict) -> dict:
    """Rolling-origin backtest of the fitted model on ``ts`` beside the baselines."""
    T = len(ts)
    h = args.get("horizon") or est.horizon
    start = args.get("start")
    if start is None:
        start = T - (opts.holdout if opts.holdout else h)
    if not 0 < start < T:
        raise ValueError(f"--start must be in [1, {T - 1}] for a series of {T} steps, got {start}")
    stride = args.get("stride") or h
    bt = est.backtest(ts.values, start=start, horizon=h, stride=stride, use_fitted=True, coverage=opts.coverage)
    return {"task": "forecast", "data": ts.path or ts.name, "steps": T, "start": start, "horizon": h,
            "stride": stride, "windows": len(bt.origins), "season_length": bt.season_length,
            "metrics": _named(bt.metrics)}


def predict(est, ts, opts, args: dict):
    """The forecast of the ``h`` steps after the series, with the interval: ``(header, rows)``."""
    h = args.get("horizon") or est.horizon
    f = np.asarray(est.predict(h, y=ts.values), np.float64).reshape(h, -1)          # (h, C)
    lo, hi = est.predict_interval(h, y=ts.values, coverage=opts.coverage)
    lo, hi = np.asarray(lo).reshape(h, -1), np.asarray(hi).reshape(h, -1)
    level = f"{100 * opts.coverage:g}"
    header = [ts.time_column or "step"]
    for col in _columns(ts):
        header += [col, f"{col}_lower_{level}", f"{col}_upper_{level}"]
    rows = []
    for k, when in enumerate(future_index(ts, h)):
        row = [when]
        for c in range(f.shape[1]):
            row += [f[k, c], lo[k, c], hi[k, c]]
        rows.append(row)
    return header, rows
