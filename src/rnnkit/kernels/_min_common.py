"""What minGRU and minLSTM share: a step from the input-only coefficients ``(log a_t, b_t)``.

Both kinds are ``h_t = a_t * h_{t-1} + b_t`` with ``a_t, b_t`` functions of
``x_proj_t = x_t @ W_ih.T + b_ih`` alone (no recurrent weight). A kind gives
``coefficients(xp, with_log) -> (log_a | None, a, b)`` and ``coefficients_backward(g, h_prev, xp) -> d_xp``
(the gradient of the pre-activations from ``g = dL/dh_t``), vectorised over any leading
shape, so the reference step (B, .) and the compiled twin (T, B, .) run the same equations.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["MinCache", "softplus", "log_sigmoid", "make_step", "ALGORITHMS"]

ALGORITHMS = ("loop", "scan")        # the compiled twin's two algorithms (the reference is the loop)


class MinCache(NamedTuple):
    """What the forward keeps for the backward (both backends, both algorithms)."""

    x: np.ndarray                # (T, B, I) the input
    x_proj: np.ndarray           # (T, B, G*H) x @ W_ih.T + b_ih
    h_prev: np.ndarray           # (T, B, H) the state each step starts from
    h_n: np.ndarray              # (B, H) the final state (a copy)
    lengths: np.ndarray | None   # (B,) or None
    reverse: bool
    algorithm: str


def softplus(p):
    """``log(1 + exp(p))`` without overflow."""
    return np.logaddexp(0.0, p).astype(p.dtype, copy=False)


def log_sigmoid(p):
    """``log sigmoid(p) = -softplus(-p)``, finite for every finite p."""
    return -softplus(-p)


def make_step(coefficients, coefficients_backward):
    """The reference ``step`` and ``step_backward`` of a kind from its two coefficient functions."""

    def step(xp, state, w, options):
        (h,) = state
        _, a, b = coefficients(xp)
        return (a * h + b,), {"h_prev": h, "x_proj": xp}

    def step_backward(g, cache, t, w):
        (g_h,) = g
        xp, h_prev = cache.x_proj[t], cache.h_prev[t]
        _, a, _ = coefficients(xp)
        return coefficients_backward(g_h, h_prev, xp), (g_h * a,), {}

    return step, step_backward
