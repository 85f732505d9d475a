"""LSTM with peephole connections (Gers & Schmidhuber 2000, "Recurrent nets that time and
count"; the form of Graves 2013, "Generating sequences with recurrent neural networks", eq.
7-11): the record of the kind and its readable NumPy step.

The input and forget gates see the previous cell state, the output gate the new one, through
diagonal weights ``w_ci, w_cf, w_co`` (H,). One step, with ``x_proj_t = x_t @ W_ih.T + b_ih``
(B, 4H), PyTorch's gate order i, f, g, o::

    [a_i, a_f, a_g, a_o] = x_proj_t + h_{t-1} @ W_hh.T + b_hh   # (B, 4H)
    i = sigmoid(a_i + w_ci * c_{t-1}) ;  f = sigmoid(a_f + w_cf * c_{t-1})
    g = tanh(a_g)
    c_t = f * c_{t-1} + i * g
    o = sigmoid(a_o + w_co * c_t)
    h_t = o * tanh(c_t)

Its backward, with ``g_h = dL/dh_t`` and ``g_c = dL/dc_t``::

    da_o = g_h tanh(c_t) o (1 - o)
    dc   = g_c + g_h o (1 - tanh(c_t)^2) + da_o w_co
    da_i = dc g i (1 - i) ;  da_f = dc c_{t-1} f (1 - f) ;  da_g = dc i (1 - g^2)
    dL/dc_{t-1} = dc f + da_i w_ci + da_f w_cf ;  dL/dh_{t-1} = da @ W_hh
    dw_ci += sum_b da_i c_{t-1} ;  dw_cf += sum_b da_f c_{t-1} ;  dw_co += sum_b da_o c_t
    dW_hh += da.T @ h_{t-1} ;  db_hh += sum_b da ;  d_x_proj_t = da

Parameters (one layer and direction): PyTorch's ``weight_ih`` (4H, I), ``weight_hh`` (4H, H),
``bias_ih``, ``bias_hh`` (4H,), and in ``CellWeights.extra`` ``weight_ci``, ``weight_cf``,
``weight_co`` (H,). No projection.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.kernels._common import sigmoid
from rnnkit.kernels._kind import CellKind
from rnnkit.kernels.lstm_ref import LSTM

__all__ = ["PEEPHOLE_LSTM", "PeepholeLSTMCache", "step", "step_backward", "shapes", "PEEPHOLES"]

PEEPHOLES = ("weight_ci", "weight_cf", "weight_co")


class PeepholeLSTMCache(NamedTuple):
    """What the forward keeps for the backward (both backends)."""

    x: np.ndarray                # (T, B, I) the input
    h_prev: np.ndarray           # (T, B, H) the state each step starts from
    c_prev: np.ndarray           # (T, B, H)
    c: np.ndarray                # (T, B, H) c_t, the state after the step (what o sees)
    gates: np.ndarray            # (T, B, 4, H) i, f, g, o after their activations
    tanh_c: np.ndarray           # (T, B, H) tanh(c_t)
    lengths: np.ndarray | None   # (B,) or None
    reverse: bool


def _peep(w, name, H, dt):
    e = w.extra or {}
    return e[name] if name in e else np.zeros(H, dt)


def step(xp, state, w, options):
    """xp (B, 4H) = x_t @ W_ih.T + b_ih; state ``(h_{t-1}, c_{t-1})``. Returns ``(h_t, c_t), saved``."""
    h, c = state
    H = c.shape[1]
    w_ci, w_cf, w_co = (_peep(w, n, H, c.dtype) for n in PEEPHOLES)
    a = xp + h @ w.W_hh.T                                    # (B, 4H)
    if w.b_hh is not None:
        a = a + w.b_hh
    i = sigmoid(a[:, :H] + w_ci * c)
    f = sigmoid(a[:, H:2 * H] + w_cf * c)
    g = np.tanh(a[:, 2 * H:3 * H])
    c_new = f * c + i * g                                    # (B, H)
    o = sigmoid(a[:, 3 * H:] + w_co * c_new)
    tanh_c = np.tanh(c_new)
    saved = {"h_prev": h, "c_prev": c, "c": c_new, "gates": np.stack([i, f, g, o], axis=1), "tanh_c": tanh_c}
    return (o * tanh_c, c_new), saved


def step_backward(grad, cache: PeepholeLSTMCache, t: int, w):
    """grad ``(dL/dh_t, dL/dc_t)`` (B, H). Returns ``d_x_proj_t (B, 4H), (dL/dh_{t-1}, dL/dc_{t-1}),
    {W_hh, b_hh, weight_ci, weight_cf, weight_co}``."""
    g_h, g_c = grad
    H = g_c.shape[1]
    w_ci, w_cf, w_co = (_peep(w, n, H, g_c.dtype) for n in PEEPHOLES)
    gates, tanh_c, c_prev = cache.gates[t], cache.tanh_c[t], cache.c_prev[t]
    i, f, g, o = gates[:, 0], gates[:, 1], gates[:, 2], gates[:, 3]
    da_o = g_h * tanh_c * o * (1 - o)
    dc = g_c + g_h * o * (1 - tanh_c * tanh_c) + da_o * w_co
    da_i = dc * g * i * (1 - i)
    da_f = dc * c_prev * f * (1 - f)
    da = np.concatenate([da_i, da_f, dc * i * (1 - g * g), da_o], axis=1)   # (B, 4H)
    dW = {"W_hh": da.T @ cache.h_prev[t], "b_hh": da.sum(axis=0)}
    e = w.extra or {}
    for name, v in zip(PEEPHOLES, (da_i * c_prev, da_f * c_prev, da_o * cache.c[t])):
        if name in e:
            dW[name] = v.sum(axis=0)
    return da, (da @ w.W_hh, dc * f + da_i * w_ci + da_f * w_cf), dW


def shapes(I, H, P):
    """PyTorch's LSTM parameters and the peepholes ``weight_ci``, ``weight_cf``, ``weight_co`` (H,)."""
    G = 4 * H
    return {"weight_ih": (G, I), "weight_hh": (G, H), "bias_ih": (G,), "bias_hh": (G,),
            "weight_ci": (H,), "weight_cf": (H,), "weight_co": (H,)}


PEEPHOLE_LSTM = CellKind(
    name="PeepholeLSTM",
    gates=4,
    gate_names=LSTM.gate_names,
    state_names=("h", "c"),
    options={},
    projection=False,
    cache=PeepholeLSTMCache,
    step=step,
    step_backward=step_backward,
    activations=LSTM.activations,
    report=LSTM.report,
    compiled="rnnkit.kernels.fast.peephole",
    shapes=shapes,
    doc="LSTM with peepholes: i, f see c_{t-1}, o sees c_t (Gers & Schmidhuber 2000; Graves 2013)",
)
