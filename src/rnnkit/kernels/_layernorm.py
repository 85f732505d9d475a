"""Layer normalisation (Ba, Kiros & Hinton 2016) of the last axis, forward and backward, in
NumPy: shared by the LayerNorm LSTM and GRU references (and the compiled twins' input side).

For a vector v of N features (the last axis), with gain ``gamma = 1 + w`` and shift ``beta``::

    mu = mean(v) ;  var = mean((v - mu)^2) ;  rstd = 1 / sqrt(var + eps)     (biased, as torch)
    n  = (v - mu) * rstd ;  y = gamma * n + beta

Its backward, with ``dy = dL/dy``::

    dn = dy * gamma ;  dv = rstd * (dn - mean(dn) - n * mean(dn * n))
    dw = sum_batch dy * n ;  dbeta = sum_batch dy

The gain is stored as its offset ``w = gamma - 1`` (the parameter ``weight_ln_*``), so that
rnnkit's uniform initialisation U(-1/sqrt(H), 1/sqrt(H)) of every parameter starts the gains
near 1 (torch.nn.LayerNorm starts them at exactly 1); a missing offset means gamma = 1, a
missing shift beta = 0 (``bias=False``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["PositiveFloat", "ln_forward", "ln_backward", "ln_grads"]


class PositiveFloat(tuple):
    """The allowed values of a float option (``eps``): any finite number > 0; the default first.

    A one-element tuple (so ``allowed[0]`` is the default, as for every option of a record)
    whose ``in`` accepts every finite positive float.
    """

    def __new__(cls, default: float):
        return super().__new__(cls, (float(default),))

    def __contains__(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            return False
        return math.isfinite(float(value)) and float(value) > 0


def ln_forward(v, w, beta, eps):
    """v (..., N); w, beta (N,) or None. Returns ``y, n, rstd`` (rstd (..., 1))."""
    mu = v.mean(axis=-1, keepdims=True)
    d = v - mu
    rstd = 1.0 / np.sqrt((d * d).mean(axis=-1, keepdims=True) + eps)
    n = d * rstd
    y = n if w is None else n * (1 + w)
    return (y if beta is None else y + beta), n, rstd


def ln_backward(dy, n, rstd, w):
    """The gradient of v from dy (..., N), with ``n, rstd`` from :func:`ln_forward`."""
    dn = dy if w is None else dy * (1 + w)
    return rstd * (dn - dn.mean(axis=-1, keepdims=True) - n * (dn * n).mean(axis=-1, keepdims=True))


def ln_grads(dy, n, names, extra, out):
    """Add ``{w_name: sum dy * n, beta_name: sum dy}`` (over all leading axes) into ``out`` for
    the two parameters ``names = (w_name, beta_name)`` that ``extra`` holds."""
    w_name, b_name = names
    N = dy.shape[-1]
    if w_name in extra:
        out[w_name] = (dy * n).reshape(-1, N).sum(axis=0)
    if b_name in extra:
        out[b_name] = dy.reshape(-1, N).sum(axis=0)
    return out
