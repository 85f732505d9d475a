"""Additive Gaussian noise in training, the identity in evaluation: :class:`GaussianNoise`."""

from __future__ import annotations

from rnnkit._checks import as_float_array, as_rng, check_float_range, check_shape
from rnnkit.nn.activation import float_input
from rnnkit.nn.module import Module

__all__ = ["GaussianNoise"]


class GaussianNoise(Module):
    r"""Add zero-mean Gaussian noise of standard deviation ``std`` in training mode (as Keras'
    ``GaussianNoise``): a regulariser for small data sets, e.g. on standardised inputs.

    .. math::  y = x + \sigma\,\epsilon,\quad \epsilon \sim \mathcal{N}(0, 1)\ \text{(training)};
               \qquad y = x\ \text{(eval)};\qquad dx = dy

    Shapes: any; the dtype follows the input. Randomness comes from ``rng`` (a Generator or
    an int seed). Under :func:`rnnkit.no_grad` in training mode it still adds noise but keeps
    nothing for backward.

    Example::

        noise = nn.GaussianNoise(0.1, rng=0)
        y = noise(np.zeros((4, 3)))               # N(0, 0.01) entries
        dx = noise.backward(np.ones_like(y))      # ones
    """

    def __init__(self, std: float = 0.1, *, rng=None):
        super().__init__()
        self.std = check_float_range("std", std, 0.0, float("inf"))
        self.rng = as_rng(rng)

    def forward(self, input):
        x = float_input("input", input)
        if self.keeps_cache:
            self._push((x.shape, x.dtype))
        if not self.training or self.std == 0.0:
            return x
        return x + (self.std * self.rng.standard_normal(x.shape)).astype(x.dtype)

    def backward(self, d_output):
        shape, dtype = self._peek()    # popped once the arguments pass
        d = as_float_array("d_output", d_output, dtype)
        check_shape("d_output", d, shape)
        self._pop()
        return d

    def extra_repr(self) -> str:
        return f"std={self.std}"
