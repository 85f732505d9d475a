"""IndRNN (Li et al. 2018, "Independently recurrent neural network"): the record of the kind
and its readable NumPy step.

Each hidden unit has one recurrent weight: ``u = weight_hh`` is a vector (H,), so the units
of a layer are independent in time and interact only through the next layer. One step, with
``x_proj_t = x_t @ W_ih.T + b_ih`` (all (B, H))::

    a_t = x_proj_t + u * h_{t-1} + b_hh          u (H,), elementwise
    h_t = f(a_t)                                 f in {relu (default), tanh} (option ``nonlinearity``)

Its backward, with ``g = dL/dh_t`` (from the output and from step t+1)::

    da_t        = g * f'(a_t)                    relu: [h_t > 0], tanh: 1 - h_t^2
    dL/dh_{t-1} = da_t * u
    du += sum_b da_t * h_{t-1} ;  db_hh += sum_b da_t ;  d_x_proj_t = da_t

f'(a_t) is written in terms of h_t, read (as in ``rnn_ref``) from ``h_prev[t + 1]``
(``[t - 1]`` in reverse) or ``h_n`` after the last step. The gradient through T steps is
``prod_t u * f'(a_t)`` per unit, so ``|u| <= 2^(1/T)`` (relu) bounds its growth: the paper's
constraint, which ``nn.IndRNN(recurrent_max=...)`` applies.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.kernels._kind import CellKind

__all__ = ["INDRNN", "IndRNNCache", "ACTIVATIONS", "step", "step_backward", "shapes"]

ACTIVATIONS = ("relu", "tanh")


class IndRNNCache(NamedTuple):
    """What the forward keeps for the backward (both backends)."""

    x: np.ndarray                # (T, B, I) the input
    h_prev: np.ndarray           # (T, B, H) the state each step starts from
    h_n: np.ndarray              # (B, H) the final state (a copy)
    lengths: np.ndarray | None   # (B,) or None
    reverse: bool
    nonlinearity: str


_F = {"relu": lambda a: np.where(a < 0, 0, a).astype(a.dtype, copy=False), "tanh": np.tanh}  # relu keeps NaN
_DF = {"relu": lambda h: (h > 0).astype(h.dtype), "tanh": lambda h: 1 - h * h}   # f'(a) from h = f(a)


def step(xp, state, w, options):
    """xp (B, H) = x_t @ W_ih.T + b_ih; state ``(h_{t-1},)``. Returns ``(h_t,), saved``."""
    (h,) = state
    a = xp + w.W_hh * h                                      # (B, H), u broadcast over the batch
    if w.b_hh is not None:
        a = a + w.b_hh
    return (_F[options["nonlinearity"]](a),), {"h_prev": h}


def step_backward(g, cache: IndRNNCache, t: int, w):
    """g ``(dL/dh_t,)`` (B, H). Returns ``d_x_proj_t, (dL/dh_{t-1},), {W_hh, b_hh}``."""
    (g_h,) = g
    T = cache.h_prev.shape[0]
    nxt = t - 1 if cache.reverse else t + 1                  # the next step in processing order
    h_t = cache.h_prev[nxt] if 0 <= nxt < T else cache.h_n   # (B, H) the state after step t
    da = g_h * _DF[cache.nonlinearity](h_t)                  # (B, H)
    return da, (da * w.W_hh,), {"W_hh": (da * cache.h_prev[t]).sum(axis=0), "b_hh": da.sum(axis=0)}


def shapes(I, H, P):
    """``weight_ih`` (H, I), ``weight_hh`` (H,) the vector u, ``bias_ih``, ``bias_hh`` (H,)."""
    return {"weight_ih": (H, I), "weight_hh": (H,), "bias_ih": (H,), "bias_hh": (H,)}


INDRNN = CellKind(
    name="IndRNN",
    gates=1,
    gate_names=("hidden",),
    state_names=("h",),
    options={"nonlinearity": ACTIVATIONS},
    projection=False,
    cache=IndRNNCache,
    step=step,
    step_backward=step_backward,
    activations=lambda options: (("h", options["nonlinearity"]),),
    report=lambda state, saved, options: {"h": state[0]},
    compiled="rnnkit.kernels.fast.indrnn",
    shapes=shapes,
    doc="IndRNN: h_t = f(W_ih x_t + b_ih + u * h_{t-1} + b_hh), u a vector",
)
