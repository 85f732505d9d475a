"""Additive Gaussian noise in training, the identity in evaluation: :class:`GaussianNoise`."""

from __future__ import annotations

from rnnkit._checks import as_rng, check_float_range
from rnnkit.nn.activation import Identity, float_input

__all__ = ["GaussianNoise"]


class GaussianNoise(Identity):
    r"""Add zero-mean Gaussian noise of standard deviation ``std`` in training mode (as Keras'
    ``GaussianNoise``): a regulariser for small data sets, e.g. on standardised inputs.

    .. math::  y = x + \sigma\,\epsilon,\quad \epsilon \sim \mathcal{N}(0, 1)\ \text{(training)};
               \qquad y = x\ \text{(eval)};\qquad dx = dy

    Shapes: any; the dtype follows the input. Randomness comes from ``rng`` (a Generator or
    an int seed). Under :func:`rnnkit.no_grad` in training mode it still adds noise but keeps
    nothing for backward. Backward is :class:`Identity`'s.

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

    def extra_repr(self) -> str:
        return f"std={self.std}"
