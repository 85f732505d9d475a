"""Shared pytest setup: ``tests/`` on sys.path (for ``helpers``), clean global state per test."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import rnnkit  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_rnnkit_globals():
    """Each test starts and ends with the same kernel backend and grad mode."""
    backend = rnnkit.get_backend()
    grad = rnnkit.is_grad_enabled()
    yield
    rnnkit.set_backend(backend)
    rnnkit.set_grad_enabled(grad).__enter__()


@pytest.fixture
def rng():
    """A fresh, seeded NumPy Generator (randomness is always passed in)."""
    return np.random.default_rng(12345)
