"""LSTM (PyTorch's gate order i, f, g, o; optional projection): the record of the kind and its
readable NumPy step.

One step, with ``x_proj_t = x_t @ W_ih.T + b_ih`` (B, 4H)::

    [a_i, a_f, a_g, a_o] = x_proj_t + h_{t-1} @ W_hh.T + b_hh   # (B, 4H)
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)         # input, forget, output gates
    g       = tanh(a_g)                                        # candidate cell
    c_t     = f * c_{t-1} + i * g                              # cell state (B, H)
    m_t     = o * tanh(c_t)                                    # (B, H)
    h_t     = m_t @ W_hr.T  with a projection, else m_t        # (B, P), P = proj_size or H

Its backward, with ``g_h = dL/dh_t`` and ``g_c = dL/dc_t`` (from the output and step t+1)::

    dm  = g_h @ W_hr (projection) or g_h ;  dW_hr += g_h.T @ m_t
    dc  = g_c + dm * o * (1 - tanh(c_t)^2)
    da  = [dc g i (1 - i), dc c_{t-1} f (1 - f), dc i (1 - g^2), dm tanh(c_t) o (1 - o)]   # (B, 4H)
    dL/dh_{t-1} = da @ W_hh ;  dL/dc_{t-1} = dc * f
    dW_hh += da.T @ h_{t-1} ;  db_hh += sum_b da ;  d_x_proj_t = da

With a variational recurrent mask ``m`` (B, P) (``kernels/_recurrent_mask.py``) the product
reads ``(m * h_{t-1}) @ W_hh.T``, ``dL/dh_{t-1} = m * (da @ W_hh)`` and
``dW_hh += da.T @ (m * h_{t-1})``.

:mod:`rnnkit.kernels.reference` runs the step over a sequence.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.kernels._common import sigmoid
from rnnkit.kernels._kind import CellKind
from rnnkit.kernels._recurrent_mask import mask_option, masked

__all__ = ["LSTM", "LSTMCache", "step", "step_backward"]


class LSTMCache(NamedTuple):
    """What the forward keeps for the backward (both backends)."""

    x: np.ndarray                # (T, B, I) the input
    h_prev: np.ndarray           # (T, B, P) the state each step starts from
    c_prev: np.ndarray           # (T, B, H)
    gates: np.ndarray            # (T, B, 4, H) i, f, g, o after their activations
    tanh_c: np.ndarray           # (T, B, H) tanh(c_t)
    m: np.ndarray | None         # (T, B, H) o * tanh(c_t) with a projection, else None (it is h_t)
    hx: np.ndarray | None        # (T, B, I + P) [x_t | h_{t-1}] (compiled row split; h_prev is a view), else None
    lengths: np.ndarray | None   # (B,) or None
    reverse: bool
    recurrent_mask: np.ndarray | None = None   # (B, P) the variational recurrent mask, or None


def step(xp, state, w, options):
    """xp (B, 4H) = x_t @ W_ih.T + b_ih; state ``(h_{t-1}, c_{t-1})``. Returns ``(h_t, c_t), saved``."""
    h, c = state
    H = c.shape[1]
    a = xp + masked(h, mask_option(options)) @ w.W_hh.T     # (B, 4H)
    if w.b_hh is not None:
        a = a + w.b_hh
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    g = np.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:])
    c_new = f * c + i * g                                    # (B, H)
    tanh_c = np.tanh(c_new)
    m = o * tanh_c                                           # (B, H)
    saved = {"h_prev": h, "c_prev": c, "gates": np.stack([i, f, g, o], axis=1), "tanh_c": tanh_c}
    if w.W_hr is None:
        return (m, c_new), saved
    saved["m"] = m
    return (m @ w.W_hr.T, c_new), saved                      # h_t (B, P)


def step_backward(grad, cache: LSTMCache, t: int, w):
    """grad ``(dL/dh_t (B, P), dL/dc_t (B, H))``. Returns ``d_x_proj_t (B, 4H),
    (dL/dh_{t-1}, dL/dc_{t-1}), {W_hh, b_hh (, W_hr)}``."""
    g_h, g_c = grad
    gates, tanh_c = cache.gates[t], cache.tanh_c[t]
    i, f, g, o = gates[:, 0], gates[:, 1], gates[:, 2], gates[:, 3]
    dW = {}
    if w.W_hr is not None:
        dm = g_h @ w.W_hr                                    # (B, H)
        dW["W_hr"] = g_h.T @ cache.m[t]                      # (P, H)
    else:
        dm = g_h
    dc = g_c + dm * o * (1 - tanh_c * tanh_c)
    da = np.concatenate([dc * g * i * (1 - i),
                         dc * cache.c_prev[t] * f * (1 - f),
                         dc * i * (1 - g * g),
                         dm * tanh_c * o * (1 - o)], axis=1)  # (B, 4H)
    mask = cache.recurrent_mask
    dW["W_hh"] = da.T @ masked(cache.h_prev[t], mask)
    dW["b_hh"] = da.sum(axis=0)
    return da, (masked(da @ w.W_hh, mask), dc * f), dW


LSTM = CellKind(
    name="LSTM",
    gates=4,
    gate_names=("input", "forget", "cell", "output"),
    state_names=("h", "c"),
    options={},
    projection=True,
    cache=LSTMCache,
    step=step,
    step_backward=step_backward,
    activations=lambda options: (("input", "sigmoid"), ("forget", "sigmoid"), ("cell", "tanh"),
                                 ("output", "sigmoid"), ("tanh_c", "tanh")),
    report=lambda state, saved, options: {
        "input": saved["gates"][:, 0], "forget": saved["gates"][:, 1], "cell": saved["gates"][:, 2],
        "output": saved["gates"][:, 3], "tanh_c": saved["tanh_c"]},
    compiled="rnnkit.kernels.fast.lstm",
    doc="LSTM: c_t = f c_{t-1} + i g, h_t = o tanh(c_t) (then W_hr h_t with proj_size)",
)
