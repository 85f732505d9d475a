"""Where the data files that the sktime and aeon wheels ship live on this machine.

The packages are located with ``importlib.util.find_spec`` and never imported (importing
sktime or aeon would pull in pandas, scikit-learn and more); only their ``datasets/data``
folders are read. ``pip install --no-deps aeon`` (or ``sktime``) brings the files alone.
"""

from __future__ import annotations

import importlib.util
import os

__all__ = ["PACKAGES", "package_data_dirs", "INSTALL_HINT"]

PACKAGES = ("aeon", "sktime")
"""Searched in this order; a file shipped by both is taken from the first."""

INSTALL_HINT = "`pip install --no-deps aeon` (or `pip install --no-deps sktime`) brings them without their dependencies"


def package_data_dirs(packages=PACKAGES) -> list[tuple[str, str]]:
    """``(package, folder)`` for each installed package's ``datasets/data`` folder, in order."""
    found = []
    for pkg in packages:
        try:
            spec = importlib.util.find_spec(pkg)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            d = os.path.join(root, "datasets", "data")
            if os.path.isdir(d):
                found.append((pkg, d))
                break
    return found
