"""Peephole LSTM, compiled: the kernel contract of :mod:`rnnkit.kernels` for the equations of
``kernels/peephole_ref.py`` (``forward``, ``backward``, ``step``; the cache is ``PeepholeLSTMCache``).

The input side ``x @ W_ih.T + b_ih + b_hh`` is one GEMM over the whole sequence before the
loop. The loop is one compiled call: per step the recurrent product ``h @ W_hh.T`` (B, 4H) by
BLAS, then per batch row the gates with their peepholes (i, f on ``c_{t-1}``, o on ``c_t``),
the cell and the output in one pass. The backward loop runs the rows in reverse and forms
``dL/dh_{t-1} = da @ W_hh`` by BLAS per step; ``dW_hh``, ``dW_ih``, ``dx``, the biases and the
peephole gradients are GEMMs and sums over the kept ``da`` after the loop. Padded rows
(``t >= lens[b]``) are computed (the cache holds what the reference keeps) but output zero,
keep the state and pass the gradient through.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._kind import Forward, Grads
from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._ln import sigmoid as _sig
from rnnkit.kernels.fast.rnn import lengths_array
from rnnkit.kernels.peephole_ref import PEEPHOLES, PeepholeLSTMCache

__all__ = ["forward", "backward", "step"]


@kernel
def _forward_loop(ax, W_hh, w_ci, w_cf, w_co, h, c, lens, reverse, keep, out, h_prev, c_prev, c_new, gates,
                  tanh_c, s):
    """h, c (B, H): h0, c0 on entry, h_n, c_n on exit. ax (T, B, 4H) = x @ W_ih.T + b_ih + b_hh.
    Without ``keep`` the cache arrays are one scratch step (1, B, ...). s (B, 4H) a workspace."""
    T, B, G = ax.shape
    H = G // 4
    zero = ax.dtype.type(0.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = T - 1 - k if reverse else k
        tk = t if keep else 0
        h_prev[tk] = h
        c_prev[tk] = c
        mm_nt(h, W_hh, s, zero)                               # (B, 4H) = h @ W_hh.T
        for b in range(B):
            real = not (has_len and t >= lens[b])
            for j in range(H):
                cp = c[b, j]
                i = _sig(ax[t, b, j] + s[b, j] + w_ci[j] * cp)
                f = _sig(ax[t, b, H + j] + s[b, H + j] + w_cf[j] * cp)
                g = np.tanh(ax[t, b, 2 * H + j] + s[b, 2 * H + j])
                cn = f * cp + i * g
                o = _sig(ax[t, b, 3 * H + j] + s[b, 3 * H + j] + w_co[j] * cn)
                tc = np.tanh(cn)
                gates[tk, b, 0, j] = i
                gates[tk, b, 1, j] = f
                gates[tk, b, 2, j] = g
                gates[tk, b, 3, j] = o
                c_new[tk, b, j] = cn
                tanh_c[tk, b, j] = tc
                if real:
                    hj = o * tc
                    out[t, b, j] = hj
                    h[b, j] = hj
                    c[b, j] = cn
                else:
                    out[t, b, j] = zero                       # padded: state carried


@kernel
def _backward_loop(d_out, dh, dc, W_hh, w_ci, w_cf, w_co, gates, tanh_c, c_prev, lens, reverse, da_all, tmp):
    """dh, dc (B, H): dL/dh_n, dL/dc_n on entry, dL/dh0, dL/dc0 on exit. Fills da_all (T, B, 4H),
    the gradient of the gates' pre-activations (zero on padded rows). tmp (B, H) a workspace."""
    T, B, G = da_all.shape
    H = G // 4
    zero = d_out.dtype.type(0.0)
    one = d_out.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = k if reverse else T - 1 - k
        for b in range(B):
            if has_len and t >= lens[b]:
                for j in range(G):
                    da_all[t, b, j] = zero
                continue
            for j in range(H):
                i = gates[t, b, 0, j]
                f = gates[t, b, 1, j]
                g = gates[t, b, 2, j]
                o = gates[t, b, 3, j]
                tc = tanh_c[t, b, j]
                gh = d_out[t, b, j] + dh[b, j]
                da_o = gh * tc * o * (one - o)
                d = dc[b, j] + gh * o * (one - tc * tc) + da_o * w_co[j]
                da_i = d * g * i * (one - i)
                da_f = d * c_prev[t, b, j] * f * (one - f)
                da_all[t, b, j] = da_i
                da_all[t, b, H + j] = da_f
                da_all[t, b, 2 * H + j] = d * i * (one - g * g)
                da_all[t, b, 3 * H + j] = da_o
                dc[b, j] = d * f + da_i * w_ci[j] + da_f * w_cf[j]
        mm_nn(da_all[t], W_hh, tmp, zero)                     # (B, H) = da @ W_hh
        for b in range(B):
            if has_len and t >= lens[b]:
                continue                                      # dh passes through
            for j in range(H):
                dh[b, j] = tmp[b, j]


def _peepholes(w, H, dt):
    e = w.extra or {}
    return tuple(np.ascontiguousarray(e[n], dtype=dt) if n in e else np.zeros(H, dt) for n in PEEPHOLES)


def _run(x, w, state0, lengths, reverse, keep):
    dt = x.dtype
    T, B, I = x.shape
    H = w.W_ih.shape[0] // 4
    ax = (x.reshape(T * B, I) @ np.asarray(w.W_ih, dtype=dt).T).reshape(T, B, 4 * H)
    for b in (w.b_ih, w.b_hh):
        if b is not None:
            ax += np.asarray(b, dtype=dt)
    h = np.array(state0[0], dtype=dt, copy=True, order="C")
    c = np.array(state0[1], dtype=dt, copy=True, order="C")
    S = T if keep else 1
    arrays = dict(h_prev=np.empty((S, B, H), dt), c_prev=np.empty((S, B, H), dt), c=np.empty((S, B, H), dt),
                  gates=np.empty((S, B, 4, H), dt), tanh_c=np.empty((S, B, H), dt))
    out = np.empty((T, B, H), dt)
    _forward_loop(np.ascontiguousarray(ax), np.ascontiguousarray(w.W_hh, dtype=dt), *_peepholes(w, H, dt), h, c,
                  lengths_array(lengths), bool(reverse), bool(keep), out, arrays["h_prev"], arrays["c_prev"],
                  arrays["c"], arrays["gates"], arrays["tanh_c"], np.empty((B, 4 * H), dt))
    cache = PeepholeLSTMCache(x, lengths=lengths, reverse=reverse, **arrays) if keep else None
    return Forward(out, (h, c), cache)


def forward(x, w, state0, lengths, reverse, keep, options):
    """The contract's forward (see :mod:`rnnkit.kernels`)."""
    return _run(np.ascontiguousarray(x), w, state0, lengths, reverse, keep)


def backward(d_out, d_state, w, cache: PeepholeLSTMCache):
    """The contract's backward: the compiled loop, then the weights' gradients and ``dx`` by GEMM."""
    T, B, H = cache.h_prev.shape
    dt = cache.h_prev.dtype
    I = cache.x.shape[2]
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh, dc = (np.zeros((B, H), dt) if s is None else np.array(s, dtype=dt, copy=True, order="C") for s in d_state)
    da_all = np.empty((T, B, 4 * H), dt)
    _backward_loop(d_out, dh, dc, np.ascontiguousarray(w.W_hh, dtype=dt), *_peepholes(w, H, dt), cache.gates,
                   cache.tanh_c, cache.c_prev, lengths_array(cache.lengths), bool(cache.reverse), da_all,
                   np.empty((B, H), dt))
    flat = da_all.reshape(T * B, 4 * H)
    dW_hh = flat.T @ cache.h_prev.reshape(T * B, H)
    dW_ih = flat.T @ np.asarray(cache.x, dtype=dt).reshape(T * B, I)
    dx = (flat @ np.asarray(w.W_ih, dtype=dt)).reshape(T, B, I)
    has_bias = w.b_ih is not None
    db = flat.sum(axis=0) if has_bias else None
    e = w.extra or {}
    sums = {"weight_ci": (da_all[:, :, :H] * cache.c_prev).sum(axis=(0, 1)),
            "weight_cf": (da_all[:, :, H:2 * H] * cache.c_prev).sum(axis=(0, 1)),
            "weight_co": (da_all[:, :, 3 * H:] * cache.c).sum(axis=(0, 1))}
    d_extra = {n: sums[n] for n in PEEPHOLES if n in e} or None
    return Grads(dx, (dh, dc), dW_ih, dW_hh, db, None if db is None else db.copy(), None, d_extra)


def step(x, state, w, options):
    """The contract's one step (no cache). x (B, I), state ``(h, c)``; arrays of one float dtype."""
    dt = np.asarray(state[0]).dtype
    fwd = _run(np.ascontiguousarray(x, dtype=dt)[None], w, state, None, False, False)
    return fwd.state
