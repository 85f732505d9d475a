"""Estimators: your sequences in, forecasts, labels, tags and text out (scikit-learn conventions).

``fit(X, y) -> self``, ``predict``, ``score``, ``get_params`` / ``set_params``; every
hyper-parameter is a constructor argument with a working default; ``random_state=`` makes a
run repeatable; ``save(path)`` / :func:`rnnkit.load` keep everything fitted in one file.
"""

from rnnkit.estimators._base import BaseEstimator, check_is_fitted
from rnnkit.estimators._persist import load, register_estimator
from rnnkit.estimators._training import FitSettings, KeepBest, MaxTime, train_network
from rnnkit.estimators.backtest import BacktestResult, backtest
from rnnkit.estimators.forecaster import RNNForecaster

__all__ = [
    "BaseEstimator", "check_is_fitted", "load", "register_estimator",
    "FitSettings", "KeepBest", "MaxTime", "train_network",
    "RNNForecaster", "backtest", "BacktestResult",
]
