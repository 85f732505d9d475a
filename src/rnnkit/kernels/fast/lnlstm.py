"""LayerNorm LSTM, compiled: the kernel contract of :mod:`rnnkit.kernels` for the equations of
``kernels/lnlstm_ref.py`` (``forward``, ``backward``, ``step``; the cache is ``LNLSTMCache``).

The input side ``LN_ih(x @ W_ih.T)`` is one GEMM and one vectorised normalisation over the
whole sequence before the loop (and its backward one pass and two GEMMs after it). The loop is
one compiled call: per step the recurrent product ``h @ W_hh.T`` (B, 4H) by BLAS, then per
batch row the normalisation of that row (``fast/_ln.ln_row``), the gates, the cell, its
normalisation and the output, in one pass. The backward loop runs the same rows in reverse
and forms ``dL/dh_{t-1} = ds @ W_hh`` by BLAS per step; ``dW_hh`` is one GEMM over the kept
``ds`` and ``h_{t-1}`` after the loop. Padded rows (``t >= lens[b]``) are computed (the cache
holds what the reference keeps) but output zero, keep the state and pass the gradient through.
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
from rnnkit.kernels.lnlstm_ref import LN_C, LN_HH, LN_IH, LNLSTMCache

__all__ = ["forward", "backward", "step"]


@kernel
def _forward_loop(ax, W_hh, g_hh, b_hh, g_c, b_c, eps, h, c, lens, reverse, keep, out, h_prev, c_prev,
                  gates, tanh_c, n_hh, r_hh, n_c, r_c, s, cn):
    """h, c (B, H): h0, c0 on entry, h_n, c_n on exit. ax (T, B, 4H) = LN_ih(x_proj). Without
    ``keep`` the cache arrays are one scratch step (1, B, ...). s (B, 4H), cn (H,) workspaces."""
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
            r_hh[tk, b, 0] = ln_row(s[b], g_hh, b_hh, eps, n_hh[tk, b], s[b])
            for j in range(H):
                gates[tk, b, 0, j] = _sig(ax[t, b, j] + s[b, j])
                gates[tk, b, 1, j] = _sig(ax[t, b, H + j] + s[b, H + j])
                gates[tk, b, 2, j] = np.tanh(ax[t, b, 2 * H + j] + s[b, 2 * H + j])
                gates[tk, b, 3, j] = _sig(ax[t, b, 3 * H + j] + s[b, 3 * H + j])
                cn[j] = gates[tk, b, 1, j] * c[b, j] + gates[tk, b, 0, j] * gates[tk, b, 2, j]
            r_c[tk, b, 0] = ln_row(cn, g_c, b_c, eps, n_c[tk, b], tanh_c[tk, b])
            real = not (has_len and t >= lens[b])
            for j in range(H):
                tc = np.tanh(tanh_c[tk, b, j])
                tanh_c[tk, b, j] = tc
                if real:
                    hj = gates[tk, b, 3, j] * tc
                    out[t, b, j] = hj
                    h[b, j] = hj
                    c[b, j] = cn[j]
                else:
                    out[t, b, j] = zero                       # padded: state carried


@kernel
def _backward_loop(d_out, dh, dc, W_hh, g_hh, g_c, gates, tanh_c, c_prev, n_hh, r_hh, n_c, r_c, lens,
                   reverse, da_all, ds_all, dw_c, db_c, dk, dcv, tmp):
    """dh, dc (B, H): dL/dh_n, dL/dc_n on entry, dL/dh0, dL/dc0 on exit. Fills da_all (T, B, 4H)
    (the gradient of the gates' pre-activations) and ds_all (T, B, 4H) (of h @ W_hh.T); adds
    the cell normalisation's gradients into dw_c, db_c (H,). dk, dcv (H,), tmp (B, H) workspaces."""
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
                    ds_all[t, b, j] = zero
                continue
            for j in range(H):
                tc = tanh_c[t, b, j]
                dk[j] = (d_out[t, b, j] + dh[b, j]) * gates[t, b, 3, j] * (one - tc * tc)
                dw_c[j] += dk[j] * n_c[t, b, j]
                db_c[j] += dk[j]
            ln_row_backward(dk, n_c[t, b], r_c[t, b, 0], g_c, dcv)
            for j in range(H):
                i = gates[t, b, 0, j]
                f = gates[t, b, 1, j]
                g = gates[t, b, 2, j]
                o = gates[t, b, 3, j]
                d = dc[b, j] + dcv[j]
                da_all[t, b, j] = d * g * i * (one - i)
                da_all[t, b, H + j] = d * c_prev[t, b, j] * f * (one - f)
                da_all[t, b, 2 * H + j] = d * i * (one - g * g)
                da_all[t, b, 3 * H + j] = (d_out[t, b, j] + dh[b, j]) * tanh_c[t, b, j] * o * (one - o)
                dc[b, j] = d * f
            ln_row_backward(da_all[t, b], n_hh[t, b], r_hh[t, b, 0], g_hh, ds_all[t, b])
        mm_nn(ds_all[t], W_hh, tmp, zero)                     # (B, H) = ds @ W_hh
        for b in range(B):
            if has_len and t >= lens[b]:
                continue                                      # dh passes through
            for j in range(H):
                dh[b, j] = tmp[b, j]


def _params(w, H, dt):
    e = w.extra or {}
    G = 4 * H
    return e, gain_shift(e, LN_HH, G, dt), gain_shift(e, LN_C, H, dt)


def _run(x, w, state0, lengths, reverse, keep, options):
    dt = x.dtype
    T, B, _ = x.shape
    H = w.W_ih.shape[0] // 4
    e, (g_hh, b_hh), (g_c, b_c) = _params(w, H, dt)
    ax, n_ih, r_ih = project_ln(x, w.W_ih, e, LN_IH, options["eps"])
    h = np.array(state0[0], dtype=dt, copy=True, order="C")
    c = np.array(state0[1], dtype=dt, copy=True, order="C")
    S = T if keep else 1
    arrays = dict(h_prev=np.empty((S, B, H), dt), c_prev=np.empty((S, B, H), dt), gates=np.empty((S, B, 4, H), dt),
                  tanh_c=np.empty((S, B, H), dt), n_hh=np.empty((S, B, 4 * H), dt), rstd_hh=np.empty((S, B, 1), dt),
                  n_c=np.empty((S, B, H), dt), rstd_c=np.empty((S, B, 1), dt))
    out = np.empty((T, B, H), dt)
    _forward_loop(ax, np.ascontiguousarray(w.W_hh, dtype=dt), g_hh, b_hh, g_c, b_c, dt.type(options["eps"]), h, c,
                  lengths_array(lengths), bool(reverse), bool(keep), out, arrays["h_prev"], arrays["c_prev"],
                  arrays["gates"], arrays["tanh_c"], arrays["n_hh"], arrays["rstd_hh"], arrays["n_c"],
                  arrays["rstd_c"], np.empty((B, 4 * H), dt), np.empty(H, dt))
    cache = None
    if keep:
        cache = LNLSTMCache(x, n_ih=n_ih, rstd_ih=r_ih, lengths=lengths, reverse=reverse, eps=options["eps"],
                            **arrays)
    return Forward(out, (h, c), cache)


def forward(x, w, state0, lengths, reverse, keep, options):
    """The contract's forward (see :mod:`rnnkit.kernels`)."""
    return _run(np.ascontiguousarray(x), w, state0, lengths, reverse, keep, options)


def backward(d_out, d_state, w, cache: LNLSTMCache):
    """The contract's backward: the compiled loop, then the input side and ``dW_hh`` by GEMM."""
    T, B, H = cache.h_prev.shape
    dt = cache.h_prev.dtype
    e, (g_hh, _), (g_c, _) = _params(w, H, dt)
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh, dc = (np.zeros((B, H), dt) if s is None else np.array(s, dtype=dt, copy=True, order="C") for s in d_state)
    da_all = np.empty((T, B, 4 * H), dt)
    ds_all = np.empty((T, B, 4 * H), dt)
    dw_c, db_c = np.zeros(H, dt), np.zeros(H, dt)
    _backward_loop(d_out, dh, dc, np.ascontiguousarray(w.W_hh, dtype=dt), g_hh, g_c, cache.gates, cache.tanh_c,
                   cache.c_prev, cache.n_hh, cache.rstd_hh, cache.n_c, cache.rstd_c, lengths_array(cache.lengths),
                   bool(cache.reverse), da_all, ds_all, dw_c, db_c, np.empty(H, dt), np.empty(H, dt),
                   np.empty((B, H), dt))
    dW_hh = ds_all.reshape(T * B, 4 * H).T @ cache.h_prev.reshape(T * B, H)
    d_extra = {}
    ln_grads(da_all, cache.n_ih, LN_IH, e, d_extra)
    ln_grads(da_all, cache.n_hh, LN_HH, e, d_extra)
    if LN_C[0] in e:
        d_extra[LN_C[0]] = dw_c
    if LN_C[1] in e:
        d_extra[LN_C[1]] = db_c
    dx, dW_ih = input_backward(da_all, cache.n_ih, cache.rstd_ih, cache.x, w.W_ih, e, LN_IH)
    return Grads(dx, (dh, dc), dW_ih, dW_hh, None, None, None, {n: d_extra[n] for n in e if n in d_extra} or None)


def step(x, state, w, options):
    """The contract's one step (no cache). x (B, I), state ``(h, c)``; arrays of one float dtype."""
    dt = np.asarray(state[0]).dtype
    fwd = _run(np.ascontiguousarray(x, dtype=dt)[None], w, state, None, False, False, options)
    return fwd.state
