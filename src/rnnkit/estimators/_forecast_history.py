"""What a forecast starts from: each series' history, its transform and its covariates.

``predict(h, y=None)`` continues the training series: the last ``lags + d`` steps kept at fit
(and their covariates); future covariates then cover the ``h`` new steps. ``predict(h, y)``
continues the given histories: past covariates have one row per step of ``y``, future
covariates ``len(y) + h`` rows. A single-series model applies its fitted transform to ``y``;
a model fitted on a list scales every given series by that series' own history (the rule it
followed at fit), with the fitted log and differencing decisions.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_int
from rnnkit.estimators._base import check_is_fitted
from rnnkit.estimators._forecast_input import as_covariate_list, as_series_list
from rnnkit.estimators._forecast_windows import Covariates
from rnnkit.estimators._transforms import SeriesTransform

__all__ = ["forecast_starts"]


def _given_histories(est, y):
    hist, as_list, _ = as_series_list(y, "y", est.impute)
    need = est.lags_ + sum(est.difference_lags_)
    for i, s in enumerate(hist):
        where = f"y[{i}]" if as_list else "y"
        if s.shape[1] != est.n_features_in_:
            raise ValueError(f"{where} must have {est.n_features_in_} channel(s) as at fit, got {s.shape[1]}")
        if s.shape[0] < need:
            raise ValueError(f"{where} has {s.shape[0]} steps; a forecast needs lags + differencing = {need}")
        if est.log_ and np.min(s) <= 0:
            raise ValueError(f"{where} must be positive (the model forecasts log values), got minimum {np.min(s):g}")
    if est.is_list_:
        tfs = [SeriesTransform.fit(s, est.log_, est.difference_lags_, est.scale) for s in hist]
    else:
        tfs = [est.transforms_[0]] * len(hist)
    return hist, tfs, as_list


def _future(est, h, y, hist, as_list, future_covariates):
    Cf = est.n_future_covariates_
    if not Cf:
        if future_covariates is not None:
            raise ValueError("future_covariates given, but the model was fitted without them")
        return None
    if future_covariates is None:
        rows = "h rows" if y is None else "len(y) + h rows"
        raise ValueError(f"future_covariates ({Cf} columns, {rows}) are needed: the model was fitted with them")
    if y is None:
        new = as_covariate_list(future_covariates, [np.zeros((h, 1))] * len(hist), as_list, "future_covariates", 0,
                                est.impute, Cf)
        futs = [np.concatenate([a, b]) for a, b in zip(est.future_tails_, new)]
    else:
        futs = as_covariate_list(future_covariates, hist, as_list, "future_covariates", h, est.impute, Cf)
    return futs


def forecast_starts(est, h, y, past_covariates, future_covariates, what: str):
    """``(h, starts, as_list)`` with ``starts`` a list of ``(history (T0, C), transform, Covariates)``."""
    check_is_fitted(est, what)
    h = est.horizon if h is None else check_int("h", h, 1)
    K = est.horizon if est.strategy == "direct" else 1
    n_blocks = -(-h // K)
    if y is None:
        hist, tfs, as_list, past = est.tails_, est.transforms_, est.is_list_, est.past_tails_
        if past_covariates is not None:
            raise ValueError("past_covariates go with a history y; without y the ones kept at fit are used")
    else:
        hist, tfs, as_list = _given_histories(est, y)
        past = as_covariate_list(past_covariates, hist, as_list, "past_covariates", 0, est.impute,
                                 est.n_past_covariates_ or None)
    if est.n_past_covariates_:
        if past is None:
            raise ValueError(f"past_covariates ({est.n_past_covariates_} columns, one row per step of y) are needed: "
                             "the model was fitted with them")
        if n_blocks > 1:
            raise ValueError(f"h={h} is beyond horizon={est.horizon}: past covariates are unknown after the "
                             "forecast origin")
    elif past is not None:
        raise ValueError("past_covariates given, but the model was fitted without them")
    futs = _future(est, h, y, hist, as_list, future_covariates)
    if futs is not None:                          # a last block beyond h: its rows repeat the last one
        futs = [np.concatenate([f, np.repeat(f[-1:], s.shape[0] + n_blocks * K - f.shape[0], axis=0)])
                for f, s in zip(futs, hist)]
    starts = []
    for i, (s, tf) in enumerate(zip(hist, tfs)):
        cov = Covariates(None if past is None else est.scale_covariates("past", past[i]),
                         None if futs is None else est.scale_covariates("future", futs[i]))
        starts.append((s, tf, cov))
    return h, starts, as_list
