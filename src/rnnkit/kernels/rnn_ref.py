"""Vanilla (Elman) RNN: the record of the kind and its readable NumPy step.

One step, with ``x_proj_t = x_t @ W_ih.T + b_ih`` (all (B, H))::

    a_t = x_proj_t + h_{t-1} @ W_hh.T + b_hh
    h_t = f(a_t)                                 f in {tanh, relu, sigmoid} (option ``nonlinearity``)

Its backward, with ``g = dL/dh_t`` (from the output and from step t+1)::

    da_t        = g * f'(a_t)                    tanh: 1 - h_t^2, relu: [h_t > 0], sigmoid: h_t (1 - h_t)
    dL/dh_{t-1} = da_t @ W_hh
    dW_hh += da_t.T @ h_{t-1} ;  db_hh += sum_b da_t ;  d_x_proj_t = da_t

With a variational recurrent mask ``m`` (B, H) (``kernels/_recurrent_mask.py``) the product
reads ``(m * h_{t-1}) @ W_hh.T``, ``dL/dh_{t-1} = m * (da_t @ W_hh)`` and
``dW_hh += da_t.T @ (m * h_{t-1})``.

f'(a_t) is written in terms of h_t, the state the next step starts from (``h_prev[t + 1]``,
``[t - 1]`` in reverse) or ``h_n`` after the last step: the cache holds no (T, B, H) array of
outputs, and nothing the caller gets (``out`` and ``h_n`` are theirs to write into).
:mod:`rnnkit.kernels.reference` runs the step over a sequence.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.kernels._common import sigmoid
from rnnkit.kernels._kind import CellKind
from rnnkit.kernels._recurrent_mask import mask_option, masked

__all__ = ["RNN", "RNNCache", "ACTIVATIONS", "step", "step_backward"]

ACTIVATIONS = ("tanh", "relu", "sigmoid")


class RNNCache(NamedTuple):
    """What the forward keeps for the backward (both backends)."""

    x: np.ndarray                # (T, B, I) the input
    h_prev: np.ndarray           # (T, B, H) the state each step starts from
    h_n: np.ndarray              # (B, H) the final state (a copy)
    hx: np.ndarray | None        # (T, B, I + H) [x_t | h_{t-1}] (compiled row split; h_prev is a view), else None
    lengths: np.ndarray | None   # (B,) or None
    reverse: bool
    nonlinearity: str
    recurrent_mask: np.ndarray | None = None   # (B, H) the variational recurrent mask, or None


_F = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0), "sigmoid": sigmoid}
# f'(a) written in terms of h = f(a)
_DF = {"tanh": lambda h: 1 - h * h, "relu": lambda h: (h > 0).astype(h.dtype), "sigmoid": lambda h: h * (1 - h)}


def step(xp, state, w, options):
    """xp (B, H) = x_t @ W_ih.T + b_ih; state ``(h_{t-1},)``. Returns ``(h_t,), saved``."""
    (h,) = state
    a = xp + masked(h, mask_option(options)) @ w.W_hh.T     # (B, H)
    if w.b_hh is not None:
        a = a + w.b_hh
    return (_F[options["nonlinearity"]](a),), {"h_prev": h}


def step_backward(g, cache: RNNCache, t: int, w):
    """g ``(dL/dh_t,)`` (B, H). Returns ``d_x_proj_t, (dL/dh_{t-1},), {W_hh, b_hh}``."""
    (g_h,) = g
    T = cache.h_prev.shape[0]
    nxt = t - 1 if cache.reverse else t + 1                  # the next step in processing order
    h_t = cache.h_prev[nxt] if 0 <= nxt < T else cache.h_n   # (B, H) the state after step t
    da = g_h * _DF[cache.nonlinearity](h_t)                  # (B, H)
    mask = cache.recurrent_mask
    return da, (masked(da @ w.W_hh, mask),), {"W_hh": da.T @ masked(cache.h_prev[t], mask), "b_hh": da.sum(axis=0)}


RNN = CellKind(
    name="RNN",
    gates=1,
    gate_names=("hidden",),
    state_names=("h",),
    options={"nonlinearity": ACTIVATIONS},
    projection=False,
    cache=RNNCache,
    step=step,
    step_backward=step_backward,
    activations=lambda options: (("h", options["nonlinearity"]),),
    report=lambda state, saved, options: {"h": state[0]},
    compiled="rnnkit.kernels.fast.rnn",
    doc="Elman RNN: h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)",
)
