"""The docstring examples of the loaders run (doctest)."""

import doctest
import importlib
import importlib.util

import pytest

HAVE_ARCHIVES = importlib.util.find_spec("aeon") is not None or importlib.util.find_spec("sktime") is not None
MODULES = [
    ("sequence_data", False), ("archives", True), ("csv_series", True), ("text_files", False),
    ("date_pairs", False), ("code_tags", False), ("tagged_files", False),
]


@pytest.mark.parametrize("name, needs_archives", MODULES)
def test_docstring_examples_run(name, needs_archives):
    if needs_archives and not HAVE_ARCHIVES:
        pytest.skip("the example reads the archive files of aeon or sktime (pip install --no-deps aeon)")
    module = importlib.import_module(f"rnnkit.datasets.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, f"{name}: {result}"
