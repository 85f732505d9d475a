"""Element-wise activations as modules: :class:`Tanh`, :class:`ReLU`, :class:`Sigmoid`, :class:`Identity`.

They have no parameters and follow the input's dtype (float32 or float64; other real inputs are
cast to float32). Each forward in training mode saves what backward needs (a private copy of
the output, or ReLU's mask), never an array the caller holds::

    Tanh:     y = tanh(x)                   dx = dy * (1 - y^2)
    Sigmoid:  y = 1 / (1 + exp(-x))         dx = dy * y * (1 - y)
    ReLU:     y = max(x, 0)                 dx = dy * [x > 0]      (0 at x = 0, as PyTorch)
    Identity: y = x                         dx = dy

Example::

    act = nn.Tanh()
    y = act(np.random.randn(5, 3, 8))       # any shape
    dx = act.backward(np.ones_like(y))
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, check_choice, check_shape
from rnnkit.nn.module import Module

__all__ = ["Tanh", "ReLU", "Sigmoid", "Identity", "make_activation", "float_input"]


def float_input(name: str, x) -> np.ndarray:
    """``x`` as a float array: float32/float64 arrays are kept, anything else real becomes float32.

    Used by the parameter-free modules, which take their dtype from the data.
    """
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray) and x.dtype in (np.dtype(np.float32), np.dtype(np.float64)):
        return np.ascontiguousarray(x)
    return as_float_array(name, x, np.float32)


class _Elementwise(Module):
    """Shared forward/backward bookkeeping; subclasses define ``_f`` and ``_df``."""

    def forward(self, input):
        x = float_input("input", input)
        y = self._f(x)
        if self.keeps_cache:
            self._push((self._saved(x, y), y.shape, y.dtype))
        return y

    def _saved(self, x, y):
        """What ``_df`` needs: by default a private copy of the output."""
        return y.copy()

    def backward(self, d_output):
        saved, shape, dtype = self._peek()    # popped once the arguments pass
        d = as_float_array("d_output", d_output, dtype)
        check_shape("d_output", d, shape)
        self._pop()
        return self._df(saved, d)


class Tanh(_Elementwise):
    """``y = tanh(x)``; ``dx = dy * (1 - y^2)``."""

    def _f(self, x):
        return np.tanh(x)

    def _df(self, y, d):
        return d * (1 - y * y)


class Sigmoid(_Elementwise):
    """``y = 1 / (1 + exp(-x))`` (computed without overflow); ``dx = dy * y * (1 - y)``."""

    def _f(self, x):
        e = np.exp(-np.abs(x))                      # in (0, 1], never overflows
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def _df(self, y, d):
        return d * y * (1 - y)


class ReLU(_Elementwise):
    """``y = max(x, 0)``; ``dx = dy * [x > 0]`` (the subgradient at 0 is 0, as in PyTorch)."""

    def _f(self, x):
        return np.maximum(x, 0)

    def _saved(self, x, y):
        return x > 0                                # (...) bool mask

    def _df(self, positive, d):
        return d * positive


class Identity(Module):
    """``y = x`` (no copy); ``dx = dy``. A placeholder, e.g. for an optional head."""

    def forward(self, input):
        x = float_input("input", input)
        if self.keeps_cache:
            self._push((x.shape, x.dtype))
        return x

    def backward(self, d_output):
        shape, dtype = self._peek()    # popped once the arguments pass
        d = as_float_array("d_output", d_output, dtype)
        check_shape("d_output", d, shape)
        self._pop()
        return d


ACTIVATIONS = {"tanh": Tanh, "relu": ReLU, "sigmoid": Sigmoid, "identity": Identity}


def make_activation(name: str) -> Module:
    """A new activation module from its name: 'tanh', 'relu', 'sigmoid' or 'identity'."""
    return ACTIVATIONS[check_choice("activation", name, tuple(ACTIVATIONS))]()
