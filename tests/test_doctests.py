"""Every docstring example in rnnkit runs (doctest), module by module.

The modules are found by walking the package, so a new module's examples are run without
being listed here. The compiled kernels (``rnnkit.kernels.fast``) have no examples.
"""

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import rnnkit

HAVE_ARCHIVES = importlib.util.find_spec("aeon") is not None or importlib.util.find_spec("sktime") is not None
NEEDS_ARCHIVES = {"rnnkit.datasets.archives", "rnnkit.datasets.csv_series"}   # read the wheels' data files


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(rnnkit.__path__, "rnnkit."):
        if ".kernels.fast" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if doctest.DocTestFinder().find(module) and any(t.examples for t in doctest.DocTestFinder().find(module)):
            names.append(info.name)
    return names


MODULES = _modules()


def test_the_examples_are_found():
    assert {"rnnkit.nn.rnn", "rnnkit.estimators.classifier", "rnnkit.datasets.date_pairs"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    if name in NEEDS_ARCHIVES and not HAVE_ARCHIVES:
        pytest.skip("the example reads the archive files of aeon or sktime (pip install --no-deps aeon)")
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, f"{name}: {result}"
