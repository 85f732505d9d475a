"""LayerNorm GRU, compiled: the kernel contract of :mod:`rnnkit.kernels` for the equations of
``kernels/lngru_ref.py`` (``forward``, ``backward``, ``step``; the cache is ``LNGRUCache``).

As ``fast/lnlstm.py``: the input side ``LN_ih(x @ W_ih.T)`` is one GEMM and one vectorised
normalisation over the whole sequence (its backward after the loop); the loop is one compiled
call, per step ``h @ W_hh.T`` (B, 3H) by BLAS, then per batch row the normalisation of that
row, the gates and the new state in one pass. The backward loop forms ``dv @ W_hh`` by BLAS
per step; ``dW_hh`` is one GEMM after the loop. Padded rows are computed (the cache holds what
the reference keeps) but output zero, keep the state and pass the gradient through.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._kind import Forward, Grads
from rnnkit.kernels._layernorm import ln_grads
from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._ln import gain_shift, input_backward, ln_row, ln_row_backward, project_ln
from rnnkit.kernels.fast._ln import sigmoid as _sig
from rnnkit.kernels.fast.rnn import lengths_array
from rnnkit.kernels.lngru_ref import LNGRUCache
from rnnkit.kernels.lnlstm_ref import LN_HH, LN_IH

__all__ = ["forward", "backward", "step"]


@kernel
def _forward_loop(ax, W_hh, g_hh, b_hh, eps, h, lens, reverse, keep, out, h_prev, gates, s_n, n_hh, r_hh, s):
    """h (B, H): h0 on entry, h_n on exit. ax (T, B, 3H) = LN_ih(x_proj). Without ``keep`` the
    cache arrays are one scratch step (1, B, ...). s (B, 3H) workspace."""
    T, B, G = ax.shape
    H = G // 3
    zero = ax.dtype.type(0.0)
    one = ax.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = T - 1 - k if reverse else k
        tk = t if keep else 0
        h_prev[tk] = h
        mm_nt(h, W_hh, s, zero)                               # (B, 3H) = h @ W_hh.T
        for b in range(B):
            r_hh[tk, b, 0] = ln_row(s[b], g_hh, b_hh, eps, n_hh[tk, b], s[b])
            real = not (has_len and t >= lens[b])
            for j in range(H):
                r = _sig(ax[t, b, j] + s[b, j])
                z = _sig(ax[t, b, H + j] + s[b, H + j])
                sn = s[b, 2 * H + j]
                n = np.tanh(ax[t, b, 2 * H + j] + r * sn)
                gates[tk, b, 0, j] = r
                gates[tk, b, 1, j] = z
                gates[tk, b, 2, j] = n
                s_n[tk, b, j] = sn
                if real:
                    hj = (one - z) * n + z * h[b, j]
                    out[t, b, j] = hj
                    h[b, j] = hj
                else:
                    out[t, b, j] = zero                       # padded: state carried


@kernel
def _backward_loop(d_out, dh, W_hh, g_hh, gates, h_prev, s_n, n_hh, r_hh, lens, reverse, d_ax, d_s, dv, dhz,
                   tmp):
    """dh (B, H): dL/dh_n on entry, dL/dh0 on exit. Fills d_ax (T, B, 3H) (dL/dLN_ih), d_s
    (dL/dLN_hh) and dv (dL/d(h @ W_hh.T)). dhz, tmp (B, H) workspaces."""
    T, B, G = d_ax.shape
    H = G // 3
    zero = d_out.dtype.type(0.0)
    one = d_out.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = k if reverse else T - 1 - k
        for b in range(B):
            if has_len and t >= lens[b]:
                for j in range(G):
                    d_ax[t, b, j] = zero
                    d_s[t, b, j] = zero
                    dv[t, b, j] = zero
                continue
            for j in range(H):
                r = gates[t, b, 0, j]
                z = gates[t, b, 1, j]
                n = gates[t, b, 2, j]
                g = d_out[t, b, j] + dh[b, j]
                dn = g * (one - z) * (one - n * n)
                dz = g * (h_prev[t, b, j] - n) * z * (one - z)
                dr = dn * s_n[t, b, j] * r * (one - r)
                d_ax[t, b, j] = dr
                d_ax[t, b, H + j] = dz
                d_ax[t, b, 2 * H + j] = dn
                d_s[t, b, j] = dr
                d_s[t, b, H + j] = dz
                d_s[t, b, 2 * H + j] = dn * r
                dhz[b, j] = g * z
            ln_row_backward(d_s[t, b], n_hh[t, b], r_hh[t, b, 0], g_hh, dv[t, b])
        mm_nn(dv[t], W_hh, tmp, zero)                         # (B, H) = dv @ W_hh
        for b in range(B):
            if has_len and t >= lens[b]:
                continue                                      # dh passes through
            for j in range(H):
                dh[b, j] = dhz[b, j] + tmp[b, j]


def _run(x, w, state0, lengths, reverse, keep, options):
    dt = x.dtype
    T, B, _ = x.shape
    H = w.W_ih.shape[0] // 3
    e = w.extra or {}
    g_hh, b_hh = gain_shift(e, LN_HH, 3 * H, dt)
    ax, n_ih, r_ih = project_ln(x, w.W_ih, e, LN_IH, options["eps"])
    h = np.array(state0[0], dtype=dt, copy=True, order="C")
    S = T if keep else 1
    arrays = dict(h_prev=np.empty((S, B, H), dt), gates=np.empty((S, B, 3, H), dt), s_n=np.empty((S, B, H), dt),
                  n_hh=np.empty((S, B, 3 * H), dt), rstd_hh=np.empty((S, B, 1), dt))
    out = np.empty((T, B, H), dt)
    _forward_loop(ax, np.ascontiguousarray(w.W_hh, dtype=dt), g_hh, b_hh, dt.type(options["eps"]), h,
                  lengths_array(lengths), bool(reverse), bool(keep), out, arrays["h_prev"], arrays["gates"],
                  arrays["s_n"], arrays["n_hh"], arrays["rstd_hh"], np.empty((B, 3 * H), dt))
    cache = None
    if keep:
        cache = LNGRUCache(x, n_ih=n_ih, rstd_ih=r_ih, lengths=lengths, reverse=reverse, eps=options["eps"], **arrays)
    return Forward(out, (h,), cache)


def forward(x, w, state0, lengths, reverse, keep, options):
    """The contract's forward (see :mod:`rnnkit.kernels`)."""
    return _run(np.ascontiguousarray(x), w, state0, lengths, reverse, keep, options)


def backward(d_out, d_state, w, cache: LNGRUCache):
    """The contract's backward: the compiled loop, then the input side and ``dW_hh`` by GEMM."""
    T, B, H = cache.h_prev.shape
    dt = cache.h_prev.dtype
    e = w.extra or {}
    g_hh, _ = gain_shift(e, LN_HH, 3 * H, dt)
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh = np.zeros((B, H), dt) if d_state[0] is None else np.array(d_state[0], dtype=dt, copy=True, order="C")
    d_ax, d_s, dv = (np.empty((T, B, 3 * H), dt) for _ in range(3))
    _backward_loop(d_out, dh, np.ascontiguousarray(w.W_hh, dtype=dt), g_hh, cache.gates, cache.h_prev, cache.s_n,
                   cache.n_hh, cache.rstd_hh, lengths_array(cache.lengths), bool(cache.reverse), d_ax, d_s, dv,
                   np.empty((B, H), dt), np.empty((B, H), dt))
    dW_hh = dv.reshape(T * B, 3 * H).T @ cache.h_prev.reshape(T * B, H)
    d_extra = {}
    ln_grads(d_ax, cache.n_ih, LN_IH, e, d_extra)
    ln_grads(d_s, cache.n_hh, LN_HH, e, d_extra)
    dx, dW_ih = input_backward(d_ax, cache.n_ih, cache.rstd_ih, cache.x, w.W_ih, e, LN_IH)
    return Grads(dx, (dh,), dW_ih, dW_hh, None, None, None, {n: d_extra[n] for n in e if n in d_extra} or None)


def step(x, state, w, options):
    """The contract's one step (no cache). x (B, I), state ``(h,)``; arrays of one float dtype."""
    dt = np.asarray(state[0]).dtype
    return _run(np.ascontiguousarray(x, dtype=dt)[None], w, state, None, False, False, options).state
