"""Vanilla RNN, compiled: the same signatures and results as ``kernels/rnn_ref.py``.

The whole time loop runs in one compiled call. Per step: one BLAS product
``s = h_{t-1} @ W_hh.T`` written into ``out[t]`` (no Python in between, see ``_blas``), then
one fused pass ``h_t = f(x_proj_t + s)`` in place. Backward: one fused pass ``da = (d_out_t + g) f'(h_t)`` and one
product ``g = da @ W_hh`` per step; ``dW_hh`` is one GEMM over all steps after the loop.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._vmath import sigmoid, tanh

_ACT_CODES = {"tanh": 0, "relu": 1, "sigmoid": 2}
NO_LENGTHS = np.zeros(0, np.int64)


@kernel
def _forward_loop(x_proj, W_hh, h, lens, reverse, act, keep, out, h_prev_all):
    """h (B, H) holds h0 on entry and h_n on exit; out (T, B, H) also serves as workspace."""
    T, B, H = x_proj.shape
    zero = x_proj.dtype.type(0.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = T - 1 - k if reverse else k
        if keep:
            h_prev_all[t] = h
        mm_nt(h, W_hh, out[t], zero)                          # (B, H) = h_{t-1} @ W_hh.T
        for b in range(B):
            if has_len and t >= lens[b]:
                for j in range(H):
                    out[t, b, j] = zero                       # padded: state carried
                continue
            if act == 0:
                for j in range(H):
                    out[t, b, j] = tanh(x_proj[t, b, j] + out[t, b, j])
            elif act == 1:
                for j in range(H):
                    a = x_proj[t, b, j] + out[t, b, j]
                    out[t, b, j] = a if a > zero else zero
            else:
                for j in range(H):
                    out[t, b, j] = sigmoid(x_proj[t, b, j] + out[t, b, j])
            for j in range(H):
                h[b, j] = out[t, b, j]


@kernel
def _backward_loop(d_out, dh, W_hh, h_prev_all, h_last, lens, reverse, act, d_x_proj, tmp):
    """dh (B, H) holds dL/dh_n on entry and dL/dh0 on exit; fills d_x_proj (T, B, H).

    h_t, whose f'(a_t) is needed, is the state before the next step in processing order,
    ``h_prev_all[t + 1]`` (``[t - 1]`` in reverse), or ``h_last`` after the final step; on a
    sequence's last real step that is its carried final state, equal to h_t.
    """
    T, B, H = d_x_proj.shape
    zero = d_x_proj.dtype.type(0.0)
    one = d_x_proj.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = k if reverse else T - 1 - k
        nxt = t - 1 if reverse else t + 1
        out = h_last if (nxt < 0 or nxt >= T) else h_prev_all[nxt]      # (B, H) = h_t
        for b in range(B):
            if has_len and t >= lens[b]:
                for j in range(H):
                    d_x_proj[t, b, j] = zero
                continue
            if act == 0:
                for j in range(H):
                    h = out[b, j]
                    d_x_proj[t, b, j] = (d_out[t, b, j] + dh[b, j]) * (one - h * h)
            elif act == 1:
                for j in range(H):
                    d_x_proj[t, b, j] = d_out[t, b, j] + dh[b, j] if out[b, j] > zero else zero
            else:
                for j in range(H):
                    h = out[b, j]
                    d_x_proj[t, b, j] = (d_out[t, b, j] + dh[b, j]) * (h * (one - h))
        mm_nn(d_x_proj[t], W_hh, tmp, zero)                   # (B, H) = da @ W_hh
        for b in range(B):
            if not (has_len and t >= lens[b]):
                for j in range(H):
                    dh[b, j] = tmp[b, j]


def rnn_forward(x_proj, W_hh, h0, lengths, reverse, activation, keep):
    """See :func:`rnnkit.kernels.rnn_ref.rnn_forward`; the cache is the same tuple."""
    x_proj = np.ascontiguousarray(x_proj)
    dt = x_proj.dtype
    T, B, H = x_proj.shape
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    h = np.array(h0, dtype=dt, copy=True, order="C")         # (B, H), becomes h_n
    out = np.empty_like(x_proj)                               # (T, B, H)
    h_prev_all = np.empty_like(x_proj) if keep else x_proj[:0]
    lens = NO_LENGTHS if lengths is None else lengths
    _forward_loop(x_proj, W_hh, h, lens, bool(reverse), _ACT_CODES[activation], bool(keep), out,
                  h_prev_all)
    # h_t for f'(a_t) is derived from h_prev_all and h_n in backward: the cache holds no array the
    # caller gets (out, h_n are theirs to write into)
    cache = (h_prev_all, h.copy(), lengths, reverse, activation) if keep else None
    return out, h, cache


def rnn_backward(d_out, dh_n, W_hh, cache):
    """See :func:`rnnkit.kernels.rnn_ref.rnn_backward`."""
    h_prev_all, h_last, lengths, reverse, activation = cache
    T, B, H = h_prev_all.shape
    dt = h_prev_all.dtype
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh = np.zeros((B, H), dt) if dh_n is None else np.array(dh_n, dtype=dt, copy=True, order="C")
    d_x_proj = np.empty_like(h_prev_all)                      # (T, B, H)
    lens = NO_LENGTHS if lengths is None else lengths
    _backward_loop(d_out, dh, np.ascontiguousarray(W_hh, dtype=dt), h_prev_all, h_last, lens, bool(reverse),
                   _ACT_CODES[activation], d_x_proj, np.empty((B, H), dt))
    dW_hh = d_x_proj.reshape(-1, H).T @ h_prev_all.reshape(-1, H)   # (H, H), one GEMM
    return d_x_proj, dh, dW_hh
