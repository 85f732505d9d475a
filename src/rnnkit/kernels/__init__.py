"""Recurrence kernels: plain functions of arrays, one module per cell kind.

Each cell kind has a forward over a whole sequence and a backward through time. The
NumPy reference (``*_ref.py``) mirrors the equations line by line; the compiled fast path
(``kernels/fast/``, Numba) has the same signatures. :func:`set_backend` picks one; the
environment variable ``RNNKIT_BACKEND`` sets the default.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from rnnkit.kernels import gru_ref, lstm_ref, rnn_ref

__all__ = ["set_backend", "get_backend", "get_kernels", "get_cell_step", "available_backends"]

_REFERENCE = SimpleNamespace(
    rnn_forward=rnn_ref.rnn_forward,
    rnn_backward=rnn_ref.rnn_backward,
    lstm_forward=lstm_ref.lstm_forward,
    lstm_backward=lstm_ref.lstm_backward,
    gru_forward=gru_ref.gru_forward,
    gru_backward=gru_ref.gru_backward,
)

_loaded: dict[str, SimpleNamespace] = {"numpy": _REFERENCE}


def _load_numba() -> SimpleNamespace | None:
    try:
        from rnnkit.kernels import fast
    except ImportError:
        return None
    return fast.KERNELS


def available_backends() -> list[str]:
    names = ["numpy"]
    if "numba" in _loaded or _load_numba() is not None:
        names.append("numba")
    return names


def _resolve(name: str) -> SimpleNamespace:
    if name not in ("numpy", "numba"):
        raise ValueError(f"backend must be 'numpy' or 'numba', got {name!r}")
    if name not in _loaded:
        k = _load_numba()
        if k is None:
            raise ValueError("backend 'numba' is not available: install numba")
        _loaded[name] = k
    return _loaded[name]


_current = os.environ.get("RNNKIT_BACKEND", "numba")
if _current not in ("numpy", "numba"):
    raise ValueError(f"RNNKIT_BACKEND must be 'numpy' or 'numba', got {_current!r}")


def set_backend(name: str) -> None:
    """Select the kernels: 'numba' (compiled, the default when numba imports) or 'numpy'."""
    global _current
    _resolve(name)
    _current = name


def get_backend() -> str:
    """The name of the kernels in use."""
    global _current
    if _current == "numba" and "numba" not in _loaded:
        k = _load_numba()
        if k is None:
            _current = "numpy"
        else:
            _loaded["numba"] = k
    return _current


def get_kernels() -> SimpleNamespace:
    return _resolve(get_backend())


_cell_step = None


def get_cell_step():
    """The compiled one-step cell function (:func:`rnnkit.kernels.fast.step.cell_step`) when
    the 'numba' backend is in use, else None. Cells use it for steps that keep no cache."""
    global _cell_step
    if get_backend() != "numba":
        return None
    if _cell_step is None:
        from rnnkit.kernels.fast.step import cell_step

        _cell_step = cell_step
    return _cell_step
