"""IndRNN, compiled: the kernel contract of :mod:`rnnkit.kernels` for the equations of
``kernels/indrnn_ref.py`` (``forward``, ``backward``, ``step``; the cache is ``IndRNNCache``).

The recurrence has no matrix product, so all matrix work is outside the time loop:
``x_proj = x @ W_ih.T`` is one GEMM before the forward loop, and ``dx = d_x_proj @ W_ih``,
``dW_ih = d_x_proj.T @ x`` one GEMM each after the backward loop. The loops are one compiled
call each, one fused elementwise pass per step and row::

    forward   h_t = f(x_proj_t + b + u * h_{t-1})             b = b_ih + b_hh
    backward  da_t = (d_out_t + dh) f'(h_t) ;  du += da_t * h_{t-1} ;  dh <- da_t * u

Padded rows (``t >= lens[b]``) output zero, keep h, give ``da = 0`` and keep ``dh``. The
loop is bandwidth-bound (a few flops per element), so there is no row split over threads.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_shape
from rnnkit.kernels._kind import Forward, Grads
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast.rnn import lengths_array
from rnnkit.kernels.indrnn_ref import IndRNNCache

__all__ = ["forward", "backward", "step", "ACT_CODES"]

ACT_CODES = {"relu": 0, "tanh": 1}


@kernel
def _act_rows(t, xp_t, bias, u, h, act, lens, out_t):
    """One step on every row: out_t (B, H) <- f(xp_t + bias + u * h); h (B, H) <- out_t (real rows)."""
    B, H = h.shape
    zero = h.dtype.type(0.0)
    has_len = lens.shape[0] > 0
    for b in range(B):
        if has_len and t >= lens[b]:
            for j in range(H):
                out_t[b, j] = zero                            # padded: state carried
            continue
        for j in range(H):
            a = xp_t[b, j] + bias[j] + u[j] * h[b, j]
            if act == 0:
                a = zero if a < zero else a                   # NaN stays NaN
            else:
                a = np.tanh(a)
            out_t[b, j] = a
            h[b, j] = a


@kernel
def _forward_loop(x_proj, bias, u, h, lens, reverse, act, keep, out, h_prev_all):
    """h (B, H) holds h0 on entry and h_n on exit; fills out (T, B, H) (and h_prev_all with keep)."""
    T = x_proj.shape[0]
    for k in range(T):
        t = T - 1 - k if reverse else k
        if keep:
            h_prev_all[t] = h
        _act_rows(t, x_proj[t], bias, u, h, act, lens, out[t])


@kernel
def _backward_loop(d_out, dh, u, h_prev_all, h_last, lens, reverse, act, d_x_proj, du):
    """dh (B, H) holds dL/dh_n on entry and dL/dh0 on exit; fills d_x_proj (T, B, H), adds into du (H,)."""
    T, B, H = d_x_proj.shape
    zero = dh.dtype.type(0.0)
    one = dh.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = k if reverse else T - 1 - k
        nxt = t - 1 if reverse else t + 1
        h_t = h_last if (nxt < 0 or nxt >= T) else h_prev_all[nxt]       # (B, H) the state after step t
        for b in range(B):
            if has_len and t >= lens[b]:
                for j in range(H):
                    d_x_proj[t, b, j] = zero                  # dh passes through
                continue
            for j in range(H):
                hj = h_t[b, j]
                if act == 0:
                    d = one if hj > zero else zero
                else:
                    d = one - hj * hj
                da = (d_out[t, b, j] + dh[b, j]) * d
                d_x_proj[t, b, j] = da
                du[j] += da * h_prev_all[t, b, j]
                dh[b, j] = da * u[j]


def _bias(w, H, dt):
    return np.zeros(H, dt) if w.b_ih is None else np.ascontiguousarray(w.b_ih + w.b_hh, dtype=dt)


def forward(x, w, state0, lengths, reverse, keep, options):
    """The contract's forward (see :mod:`rnnkit.kernels`)."""
    x = np.ascontiguousarray(x)
    dt = x.dtype
    T, B, I = x.shape
    H = w.W_ih.shape[0]
    check_shape("x", x, (T, B, np.shape(w.W_ih)[1]))
    check_shape("W_hh", np.asarray(w.W_hh), (H,))
    check_shape("h0", np.asarray(state0[0]), (B, H))
    x_proj = (x.reshape(T * B, I) @ np.asarray(w.W_ih, dtype=dt).T).reshape(T, B, H)   # one GEMM
    u = np.ascontiguousarray(w.W_hh, dtype=dt)
    h = np.array(state0[0], dtype=dt, copy=True, order="C")  # (B, H), becomes h_n
    out = np.empty((T, B, H), dt)
    h_prev_all = np.empty((T if keep else 0, B, H), dt)
    lens = lengths_array(lengths)
    _forward_loop(x_proj, _bias(w, H, dt), u, h, lens, bool(reverse), ACT_CODES[options["nonlinearity"]],
                  bool(keep), out, h_prev_all)
    cache = None
    if keep:
        cache = IndRNNCache(x, h_prev_all, h.copy(), lengths, reverse, options["nonlinearity"])
    return Forward(out, (h,), cache)


def backward(d_out, d_state, w, cache: IndRNNCache):
    """The contract's backward: the compiled loop, then the input-side GEMMs."""
    h_prev_all = cache.h_prev
    T, B, H = h_prev_all.shape
    dt = h_prev_all.dtype
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh = np.zeros((B, H), dt) if d_state[0] is None else np.array(d_state[0], dtype=dt, copy=True, order="C")
    u = np.ascontiguousarray(w.W_hh, dtype=dt)
    W_ih = np.asarray(w.W_ih, dtype=dt)
    I = W_ih.shape[1]
    d_x_proj = np.empty((T, B, H), dt)
    du = np.zeros(H, dt)
    _backward_loop(d_out, dh, u, h_prev_all, np.ascontiguousarray(cache.h_n, dtype=dt), lengths_array(cache.lengths),
                   bool(cache.reverse), ACT_CODES[cache.nonlinearity], d_x_proj, du)
    dxp = d_x_proj.reshape(T * B, H)
    dx = (dxp @ W_ih).reshape(T, B, I)
    dW_ih = dxp.T @ cache.x.reshape(T * B, I)
    db = dxp.sum(axis=0) if w.b_ih is not None else None
    return Grads(dx, (dh,), dW_ih, du, db, db, None)


def step(x, state, w, options):
    """The contract's one step (no cache). x (B, I), state ``(h,)``; arrays of one float dtype."""
    h = np.array(state[0], copy=True, order="C")
    dt = h.dtype
    xp = np.ascontiguousarray(x @ np.asarray(w.W_ih, dtype=dt).T)            # (B, H)
    out = np.empty_like(h)
    _act_rows(0, xp, _bias(w, h.shape[1], dt), np.ascontiguousarray(w.W_hh, dtype=dt), h,
              ACT_CODES[options["nonlinearity"]], lengths_array(None), out)
    return (out,)
