"""SRU, compiled: the kernel contract of :mod:`rnnkit.kernels` for the equations of
``kernels/sru_ref.py`` (``forward``, ``backward``, ``step``; the cache is ``SRUCache``).

All matrix work is outside the time loop (the paper's point): ``x_proj = x @ W_ih.T + b_ih``
(T, B, 4H) is one GEMM before the forward loop, and ``dx = d_x_proj @ W_ih``,
``dW_ih = d_x_proj.T @ x`` one GEMM each after the backward loop. The loops are one compiled
call each, one fused elementwise pass per step and row (blocks u, p_f, p_r, x' of x_proj)::

    forward   f, r = sigmoid(p_f + v_f c), sigmoid(p_r + v_r c) ;  c <- f c + (1 - f) u ;  h = r c + (1 - r) x'
    backward  dc = g_c + g_h r ;  d_x_proj = [dc (1 - f), da_f, da_r, g_h (1 - r)] ;  g_c <- dc f + da_f v_f + da_r v_r

With ``keep`` the forward writes f and r over their pre-activations in ``x_proj``, so the
cache's candidate, forget, reset and highway are the four blocks of one (T, B, 4H) array (no
copy). Padded rows (``t >= lens[b]``) output zero and keep h and c (their f and r are still
computed, as the reference does); in the backward they give zero and pass the gradients
through. The loop is bandwidth-bound, so there is no row split over threads.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_shape
from rnnkit.kernels._kind import Forward, Grads
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast.rnn import lengths_array
from rnnkit.kernels.sru_ref import SRUCache

__all__ = ["forward", "backward", "step"]


@kernel
def _forward_loop(xp, v, h, c, lens, reverse, keep, out, h_prev_all, c_prev_all):
    """xp (T, B, 4H) = [u | p_f | p_r | x']; h, c (B, H) hold the initial state on entry and the
    final one on exit; fills out (T, B, H) (with keep: h_prev_all, c_prev_all, and f, r into xp)."""
    T, B, H = out.shape
    one = h.dtype.type(1.0)
    zero = h.dtype.type(0.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = T - 1 - k if reverse else k
        if keep:
            h_prev_all[t] = h
            c_prev_all[t] = c
        for b in range(B):
            real = not (has_len and t >= lens[b])
            row = xp[t, b]
            for j in range(H):
                cp = c[b, j]
                f = one / (one + np.exp(-(row[H + j] + v[j] * cp)))
                r = one / (one + np.exp(-(row[2 * H + j] + v[H + j] * cp)))
                u = row[j]
                cn = f * cp + (one - f) * u
                hn = r * cn + (one - r) * row[3 * H + j]
                if keep:
                    row[H + j] = f
                    row[2 * H + j] = r
                if real:
                    c[b, j] = cn
                    h[b, j] = hn
                    out[t, b, j] = hn
                else:
                    out[t, b, j] = zero


@kernel
def _backward_loop(d_out, dh, dc, v, c_prev_all, u_all, f_all, r_all, hw_all, lens, reverse, d_xp, dv):
    """dh, dc (B, H) hold dL/dh_n, dL/dc_n on entry and the gradients of h0, c0 on exit; fills
    d_xp (T, B, 4H), adds into dv (2H,)."""
    T, B, H = c_prev_all.shape
    one = dh.dtype.type(1.0)
    zero = dh.dtype.type(0.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = k if reverse else T - 1 - k
        for b in range(B):
            g = d_xp[t, b]
            if has_len and t >= lens[b]:
                for j in range(4 * H):
                    g[j] = zero                               # dh and dc pass through
                continue
            for j in range(H):
                gh = d_out[t, b, j] + dh[b, j]
                cp = c_prev_all[t, b, j]
                u = u_all[t, b, j]
                f = f_all[t, b, j]
                r = r_all[t, b, j]
                cn = f * cp + (one - f) * u
                dcc = dc[b, j] + gh * r
                da_r = gh * (cn - hw_all[t, b, j]) * r * (one - r)
                da_f = dcc * (cp - u) * f * (one - f)
                g[j] = dcc * (one - f)
                g[H + j] = da_f
                g[2 * H + j] = da_r
                g[3 * H + j] = gh * (one - r)
                dc[b, j] = dcc * f + da_f * v[j] + da_r * v[H + j]
                dh[b, j] = zero
                dv[j] += da_f * cp
                dv[H + j] += da_r * cp


def _project(x2, w, dt):
    """x2 (N, I) -> (N, 4H) = x2 @ W_ih.T + b_ih, one GEMM, C-contiguous."""
    xp = x2 @ np.asarray(w.W_ih, dtype=dt).T
    if w.b_ih is not None:
        xp += np.asarray(w.b_ih, dtype=dt)
    return np.ascontiguousarray(xp)


def forward(x, w, state0, lengths, reverse, keep, options):
    """The contract's forward (see :mod:`rnnkit.kernels`)."""
    x = np.ascontiguousarray(x)
    dt = x.dtype
    T, B, I = x.shape
    H = w.W_ih.shape[0] // 4
    check_shape("x", x, (T, B, np.shape(w.W_ih)[1]))
    check_shape("W_hh", np.asarray(w.W_hh), (2 * H,))
    check_shape("h0", np.asarray(state0[0]), (B, H))
    check_shape("c0", np.asarray(state0[1]), (B, H))
    xp = _project(x.reshape(T * B, I), w, dt).reshape(T, B, 4 * H)
    h = np.array(state0[0], dtype=dt, copy=True, order="C")     # (B, H), becomes h_n
    c = np.array(state0[1], dtype=dt, copy=True, order="C")     # (B, H), becomes c_n
    out = np.empty((T, B, H), dt)
    n = T if keep else 0
    h_prev_all, c_prev_all = np.empty((n, B, H), dt), np.empty((n, B, H), dt)
    _forward_loop(xp, np.ascontiguousarray(w.W_hh, dtype=dt), h, c, lengths_array(lengths), bool(reverse),
                  bool(keep), out, h_prev_all, c_prev_all)
    cache = None
    if keep:
        cache = SRUCache(x, h_prev_all, c_prev_all, xp[:, :, :H], xp[:, :, H:2 * H], xp[:, :, 2 * H:3 * H],
                         xp[:, :, 3 * H:], h.copy(), c.copy(), lengths, reverse)
    return Forward(out, (h, c), cache)


def _state_grad(d, shape, dt):
    return np.zeros(shape, dt) if d is None else np.array(d, dtype=dt, copy=True, order="C")


def backward(d_out, d_state, w, cache: SRUCache):
    """The contract's backward: the compiled loop, then the input-side GEMMs."""
    T, B, H = cache.c_prev.shape
    dt = cache.c_prev.dtype
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh, dc = _state_grad(d_state[0], (B, H), dt), _state_grad(d_state[1], (B, H), dt)
    W_ih = np.asarray(w.W_ih, dtype=dt)
    I = W_ih.shape[1]
    d_xp = np.empty((T, B, 4 * H), dt)
    dv = np.zeros(2 * H, dt)
    _backward_loop(d_out, dh, dc, np.ascontiguousarray(w.W_hh, dtype=dt), cache.c_prev, cache.candidate,
                   cache.forget, cache.reset, cache.highway, lengths_array(cache.lengths), bool(cache.reverse),
                   d_xp, dv)
    flat = d_xp.reshape(T * B, 4 * H)
    dx = (flat @ W_ih).reshape(T, B, I)
    dW_ih = flat.T @ cache.x.reshape(T * B, I)
    db = flat.sum(axis=0) if w.b_ih is not None else None
    return Grads(dx, (dh, dc), dW_ih, dv, db, None, None)


def step(x, state, w, options):
    """The contract's one step (no cache). x (B, I), state ``(h, c)``; arrays of one float dtype."""
    h = np.array(state[0], copy=True, order="C")
    c = np.array(state[1], dtype=h.dtype, copy=True, order="C")
    dt = h.dtype
    B, H = h.shape
    xp = _project(np.asarray(x, dtype=dt), w, dt).reshape(1, B, 4 * H)
    out = np.empty((1, B, H), dt)
    empty = np.empty((0, B, H), dt)
    _forward_loop(xp, np.ascontiguousarray(w.W_hh, dtype=dt), h, c, lengths_array(None), False, False, out,
                  empty, empty)
    return (h, c)
