"""Rolling-origin evaluation (expanding window) of a forecaster beside the baselines.

For a series ``y_0 .. y_{T-1}`` and origins ``o = start, start + stride, ...`` with
``o + horizon <= T``::

    model trained on y[:start]            (refit=True: on y[:o] at every origin; an int k: every k-th)
    forecast_o = model.predict(horizon, y=y[:o])      only the history before the origin
    baselines  = naive / seasonal naive / drift of y[:o]
    errors     = y[o : o + horizon] - forecast_o

No value at or after an origin reaches the forecast made there (the future covariates of the
horizon excepted: they are known in advance by definition). The metrics pool every window
(:mod:`rnnkit.estimators.forecast_metrics`); MASE is scaled by the in-sample seasonal naive
MAE of the training part ``y[:start]`` of each series (Hyndman & Koehler 2006).

Example:

>>> import numpy as np
>>> from rnnkit.estimators import RNNForecaster
>>> y = 10 + np.sin(2 * np.pi * np.arange(120) / 12)
>>> res = RNNForecaster(horizon=6, season_length=12, max_epochs=3, random_state=0).backtest(y, start=96, stride=6)
>>> [o for _, o in res.origins], sorted(res.metrics)
([96, 102, 108, 114], ['drift', 'model', 'naive', 'seasonal_naive'])
>>> print(res.table())                                        # doctest: +ELLIPSIS
method               RMSE       MAE      MAPE     SMAPE      MASE
model ...
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from rnnkit._checks import check_bool, check_float_range, check_int
from rnnkit.estimators._forecast_input import as_covariate_list, as_series_list
from rnnkit.estimators.baselines import BASELINES, baseline_forecast
from rnnkit.estimators.forecast_metrics import mae, mape, mase_scale, rmse, smape

__all__ = ["backtest", "BacktestResult"]


@dataclass
class BacktestResult:
    """What :func:`backtest` measured.

    ``origins``: ``(series index, origin)`` of each window; ``y_true`` and each of
    ``forecasts[name]`` (``'model'`` and the baselines) ``(n_windows, horizon, C)``;
    ``metrics[name]``: rmse, mae, mape, smape, mase (and for the model with ``coverage``:
    the share of true values inside the intervals, ``coverage``, and their mean ``width``);
    ``intervals``: ``(lower, upper)`` arrays shaped like ``y_true``, or None.
    """

    origins: list
    horizon: int
    season_length: int
    y_true: np.ndarray
    forecasts: dict
    metrics: dict
    intervals: tuple | None = None
    estimator: object = field(default=None, repr=False)

    def table(self) -> str:
        """The metrics as a text table, one row per method."""
        cols = ["rmse", "mae", "mape", "smape", "mase"]
        lines = [f"{'method':15s}" + "".join(f"{c.upper():>10s}" for c in cols)]
        for name, m in self.metrics.items():
            lines.append(f"{name:15s}" + "".join(f"{m[c]:10.3f}" for c in cols))
        if "coverage" in self.metrics["model"]:
            m = self.metrics["model"]
            lines.append(f"intervals: {m['coverage']:.1%} of true values inside (nominal {m['nominal']:.0%}), "
                         f"mean width {m['width']:.3f}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """JSON-able summary (metrics, origins, horizon, season length)."""
        return {"horizon": self.horizon, "season_length": self.season_length,
                "origins": [list(map(int, o)) for o in self.origins], "metrics": self.metrics}


def _start_index(start, T: int) -> int:
    if isinstance(start, numbers.Real) and not isinstance(start, (bool, numbers.Integral)):
        frac = check_float_range("start", start, 0.0, 1.0)
        if not 0.0 < frac < 1.0:
            raise ValueError(f"start as a fraction must be strictly between 0 and 1, got {start}")
        return int(round(frac * T))
    return check_int("start", start, 1)


def backtest(estimator, y, start, horizon=None, stride: int = 1, refit=False, use_fitted: bool = False,
             past_covariates=None, future_covariates=None, coverage=None) -> BacktestResult:
    """Rolling-origin backtest of ``estimator`` on ``y`` (see the module docstring).

    Args:
        estimator: an :class:`RNNForecaster` (its parameters; it is not changed, unless
            ``use_fitted``).
        y: a series ``(T,)``/``(T, C)`` or a list of them (every series is backtested).
        start: first origin (an index, or a fraction of each series' length in (0, 1)).
        horizon: steps per forecast (default: the estimator's ``horizon``).
        stride: steps between origins.
        refit: False (train once on ``y[:start]``), True (retrain at every origin on ``y[:o]``)
            or an int ``k`` (retrain every ``k``-th origin).
        use_fitted: forecast with ``estimator`` as it is fitted, without training: you vouch
            that it saw nothing from ``start`` on.
        past_covariates, future_covariates: as for ``fit``, over the whole of ``y``.
        coverage: also evaluate ``predict_interval`` at this level (e.g. 0.9).
    """
    stride = check_int("stride", stride, 1)
    use_fitted = check_bool("use_fitted", use_fitted)
    if isinstance(refit, bool):
        every = 1 if refit else 0
    else:
        every = check_int("refit", refit, 1)
    horizon = estimator.horizon if horizon is None else check_int("horizon", horizon, 1)
    impute = getattr(estimator, "impute", None)
    series, is_list, _ = as_series_list(y, "y", impute)
    past = as_covariate_list(past_covariates, series, is_list, "past_covariates", 0, impute)
    fut = as_covariate_list(future_covariates, series, is_list, "future_covariates", 0, impute)
    starts = [_start_index(start, s.shape[0]) for s in series]
    windows = [(i, o) for i, s in enumerate(series) for o in range(starts[i], s.shape[0] - horizon + 1, stride)]
    if not windows:
        raise ValueError(f"no forecast window fits: start={start} + horizon={horizon} is beyond the series "
                         f"(length {[s.shape[0] for s in series]})")

    def cut(arrs, i, end):
        return None if arrs is None else arrs[i][:end]

    def train(end_of):                          # end_of(i): the training end of series i
        if use_fitted:
            return estimator
        est = type(estimator)(**estimator.get_params())
        ys = [s[:end_of(i)] for i, s in enumerate(series)]
        pc = None if past is None else [p[:end_of(i)] for i, p in enumerate(past)]
        fc = None if fut is None else [f[:end_of(i)] for i, f in enumerate(fut)]
        one = (lambda v: v) if is_list else (lambda v: None if v is None else v[0])
        return est.fit(one(ys), past_covariates=one(pc), future_covariates=one(fc))

    est = train(lambda i: starts[i])
    C = series[0].shape[1]
    m = est.season_length_
    names = ["model", *BASELINES]
    fc_all = {n: np.empty((len(windows), horizon, C)) for n in names}
    truth = np.empty((len(windows), horizon, C))
    lo = np.empty_like(truth) if coverage is not None else None
    hi = np.empty_like(truth) if coverage is not None else None
    for w, (i, o) in enumerate(windows):
        if every and w and w % every == 0 and not use_fitted:
            if is_list:
                raise ValueError("refit with a list of series is not supported: the origins differ per series")
            est = train(lambda _i, o=o: o)
        kw = {"past_covariates": cut(past, i, o), "future_covariates": cut(fut, i, o + horizon)}
        hist = series[i][:o]
        truth[w] = series[i][o:o + horizon]
        fc_all["model"][w] = np.reshape(est.predict(horizon, y=hist, **kw), (horizon, C))
        for n in BASELINES:
            fc_all[n][w] = baseline_forecast(n, hist, horizon, m)
        if coverage is not None:
            a, b = est.predict_interval(horizon, y=hist, coverage=coverage, **kw)
            lo[w], hi[w] = np.reshape(a, (horizon, C)), np.reshape(b, (horizon, C))
    scales = np.stack([mase_scale(series[i][:starts[i]], m) for i, _ in windows])       # (n_w, C)
    metrics = {}
    for n in names:
        f = fc_all[n]
        metrics[n] = {"rmse": rmse(truth, f), "mae": mae(truth, f), "mape": mape(truth, f), "smape": smape(truth, f),
                      "mase": float(np.mean(np.abs(truth - f) / scales[:, None, :]))}
    intervals = None
    if coverage is not None:
        inside = (truth >= lo) & (truth <= hi)
        metrics["model"].update(coverage=float(inside.mean()), nominal=float(coverage), width=float(np.mean(hi - lo)))
        intervals = (lo, hi)
    return BacktestResult(windows, horizon, m, truth, fc_all, metrics, intervals, est)
