"""The docstring examples of the forecasting modules run as doctests."""

import doctest
import importlib

import pytest

MODULES = ["rnnkit.estimators.baselines", "rnnkit.estimators.forecast_metrics", "rnnkit.estimators.forecaster",
           "rnnkit.estimators.backtest", "rnnkit.models.forecast_net"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)      # the module, not the function of the same name in the package
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
