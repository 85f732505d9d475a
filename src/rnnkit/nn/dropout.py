"""Inverted dropout :class:`Dropout` (as ``torch.nn.Dropout``)."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, as_rng, check_float_range, check_shape
from rnnkit.nn.activation import float_input
from rnnkit.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    r"""Zero each element with probability ``p`` in training mode and scale the rest by 1/(1-p).

    .. math::  m \sim \mathrm{Bernoulli}(1-p),\quad y = x \odot m / (1-p),\quad dx = dy \odot m / (1-p)

    The mask drawn in forward is saved and reused by backward. In ``eval()`` mode the layer is
    the identity. Under :func:`rnnkit.no_grad` in training mode it still drops (as PyTorch
    does) but keeps nothing for backward. ``p = 1`` gives zeros. Shapes: any; the dtype follows
    the input. Randomness comes from ``rng`` (a Generator or an int seed).

    Example::

        drop = nn.Dropout(0.2, rng=0)
        y = drop(np.ones((4, 8)))                 # entries 0 or 1.25
        dx = drop.backward(np.ones_like(y))       # the same mask
    """

    def __init__(self, p: float = 0.5, *, rng=None):
        super().__init__()
        self.p = check_float_range("p", p, 0.0, 1.0)
        self.rng = as_rng(rng)

    def forward(self, input):
        x = float_input("input", input)
        if not self.training or self.p == 0.0:
            if self.keeps_cache:   # training with p = 0: backward is the identity
                self._push((None, x.shape, x.dtype))
            return x
        keep = 1.0 - self.p
        if keep == 0.0:
            mask = np.zeros_like(x)
        else:
            mask = (self.rng.random(x.shape) < keep).astype(x.dtype) / x.dtype.type(keep)   # same shape as x
        if self.keeps_cache:
            self._push((mask, x.shape, x.dtype))
        return x * mask

    def backward(self, d_output):
        mask, shape, dtype = self._peek()    # popped once the arguments pass
        d = as_float_array("d_output", d_output, dtype)
        check_shape("d_output", d, shape)
        self._pop()
        return d if mask is None else d * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
