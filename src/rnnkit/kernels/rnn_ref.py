"""Vanilla (Elman) RNN over a sequence: the readable NumPy reference.

Forward, for each time step t (in reverse order when ``reverse``)::

    a_t = x_proj_t + h_{t-1} @ W_hh.T        # x_proj = x @ W_ih.T + b_ih + b_hh   (B, H)
    h_t = f(a_t)                             # f in {tanh, relu, sigmoid}

(the layer passes ``x_proj=None`` with ``x``, ``W_ih`` and the bias ``b_ih + b_hh``: x_proj is
then formed here; the compiled row-split kernel forms it inside its step products.)

Backward through time, with g_t = dL/dh_t from the output and from step t+1::

    da_t      = g_t * f'(a_t)                # tanh: 1 - h^2, relu: [h > 0], sigmoid: h (1 - h)
    g_{t-1}  += da_t @ W_hh                  # the path back through time
    dW_hh     = sum_t da_t.T @ h_{t-1}       # one GEMM after the loop
    dx_proj_t = da_t                         # the layer turns this into dx, dW_ih, db
    dx_t      = da_t @ W_ih ; db = sum_t,b da_t        # (with W_ih given)

Padded steps (``t >= lengths[b]``) output zeros, carry the state unchanged and pass the
state gradient through untouched. The backward needs ``h_t`` for ``f'(a_t)``: it is the state
before the next step (``h_prev_all``), or ``h_n`` after the last one, so the cache holds no
array returned to the caller.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._common import blend, sigmoid, step_mask, time_order

ACTIVATIONS = ("tanh", "relu", "sigmoid")


def _act(a: np.ndarray, activation: str) -> np.ndarray:
    if activation == "tanh":
        return np.tanh(a)
    if activation == "relu":
        return np.maximum(a, 0)
    return sigmoid(a)


def _act_grad(h: np.ndarray, activation: str) -> np.ndarray:
    """f'(a) written in terms of h = f(a)."""
    if activation == "tanh":
        return 1 - h * h
    if activation == "relu":
        return (h > 0).astype(h.dtype)
    return h * (1 - h)


def rnn_forward(x_proj, W_hh, h0, lengths, reverse, activation, keep, bias=None, x=None, W_ih=None):
    """Run the recurrence.

    x_proj (T, B, H), W_hh (H, H), h0 (B, H), lengths (B,) int64 or None, bias (H,) or None:
    added to x_proj first (the layer passes b_ih + b_hh here).
    ``x_proj=None``: x (T, B, I) and W_ih (H, I) are given and x_proj = x @ W_ih.T.
    Returns ``out (T, B, H), h_n (B, H), cache`` (cache is None unless ``keep``).
    """
    if x_proj is None:
        x_proj = x @ W_ih.T                            # (T, B, H)
    if bias is not None:
        x_proj = x_proj + bias                         # (T, B, H)
    T, B, H = x_proj.shape
    out = np.zeros_like(x_proj)                        # (T, B, H)
    h_prev_all = np.empty_like(x_proj) if keep else None
    h = h0.copy()                                      # (B, H)
    for t in time_order(T, reverse):
        if keep:
            h_prev_all[t] = h
        h_new = _act(x_proj[t] + h @ W_hh.T, activation)   # (B, H)
        m = step_mask(lengths, t, B, h.dtype)
        out[t] = h_new if m is None else h_new * m
        h = blend(m, h_new, h)
    # h_t is derived in backward from h_prev_all and h_n: nothing the caller gets is cached
    cache = (h_prev_all, h.copy(), lengths, reverse, activation) if keep else None
    return out, h, cache


def rnn_backward(d_out, dh_n, W_hh, cache, W_ih=None):
    """BPTT. d_out (T, B, H), dh_n (B, H) or None.

    Returns ``d_x_proj (T, B, H), dh0 (B, H), dW_hh (H, H)``, and with ``W_ih`` (H, I) also
    ``dx = d_x_proj @ W_ih`` (T, B, I), ``db`` (H,), the sum of d_x_proj over time and batch
    (the gradient of b_ih and of b_hh), and ``dW_ih`` as None (the caller, which has x,
    computes it; the compiled kernel may return it).
    """
    h_prev_all, h_last, lengths, reverse, activation = cache
    T, B, H = h_prev_all.shape
    dt = h_prev_all.dtype
    dh = np.zeros((B, H), dt) if dh_n is None else dh_n.copy()
    d_x_proj = np.zeros_like(h_prev_all)
    for t in reversed(time_order(T, reverse)):
        m = step_mask(lengths, t, B, dt)
        g = d_out[t] + dh if m is None else d_out[t] * m + dh   # (B, H)
        nxt = t - 1 if reverse else t + 1                      # the next step in processing order
        h_t = h_last if not 0 <= nxt < T else h_prev_all[nxt]  # the state after step t (B, H)
        da = g * _act_grad(h_t, activation)
        if m is not None:
            da *= m
        d_x_proj[t] = da
        dh = blend(m, da @ W_hh, dh)
    dW_hh = d_x_proj.reshape(-1, H).T @ h_prev_all.reshape(-1, H)   # (H, H)
    if W_ih is not None:
        return d_x_proj, dh, dW_hh, d_x_proj @ W_ih, d_x_proj.sum(axis=(0, 1)), None
    return d_x_proj, dh, dW_hh
