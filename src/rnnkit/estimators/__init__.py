"""Estimators: your sequences in, forecasts, labels, tags and text out (scikit-learn conventions).

``fit(X, y) -> self``, ``predict``, ``score``, ``get_params`` / ``set_params``; every
hyper-parameter is a constructor argument with a working default; ``random_state=`` makes a
run repeatable; ``save(path)`` / :func:`rnnkit.load` keep everything fitted in one file.
"""

from rnnkit.estimators._base import BaseEstimator, check_is_fitted
from rnnkit.estimators._persist import load, register_estimator
from rnnkit.estimators._training import FitSettings, KeepBest, MaxTime, train_network
from rnnkit.estimators.backtest import BacktestResult, backtest
from rnnkit.estimators.charlm import CharLM
from rnnkit.estimators.classifier import RNNClassifier
from rnnkit.estimators.forecaster import RNNForecaster
from rnnkit.estimators.regressor import RNNRegressor
from rnnkit.estimators.seq2seq_estimator import RNNSeq2Seq
from rnnkit.estimators.tagger import RNNTagger

__all__ = [
    "BaseEstimator", "check_is_fitted", "load", "register_estimator",
    "FitSettings", "KeepBest", "MaxTime", "train_network",
    "RNNClassifier", "RNNRegressor", "RNNTagger",
    "CharLM", "RNNSeq2Seq",
    "RNNForecaster", "backtest", "BacktestResult",
]
