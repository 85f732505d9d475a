"""The compiled twin of the input-gated kinds (minGRU, minLSTM): ``h_t = a_t * h_{t-1} + b_t``
with ``(log a_t, a_t, b_t)`` from ``x_proj_t`` alone (the kind's ``coefficients``).

All matrix work is outside the time loop: ``x_proj = x @ W_ih.T + b_ih`` is one GEMM, the
coefficients one vectorised pass over (T, B, H), and after the backward ``dx = d_x_proj @ W_ih``
and ``dW_ih = d_x_proj.T @ x`` one GEMM each. Between them the recurrence, by the option
``algorithm``:

- 'loop': one compiled call, ``h = a_t * h + b_t`` per step (and ``G = d_t + a_{t+1} G`` back);
- 'scan': the parallel log-space scan of ``kernels/_linear_scan.py`` (float64 inside).

Padded steps (``t >= lengths[b]``) get ``a = 1, b = 0`` (the state carries), output zero and
give zero gradients; the backward's ``d`` is ``d_out`` masked the same way.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._kind import Forward, Grads
from rnnkit.kernels._linear_scan import scan, scan_backward
from rnnkit.kernels._min_common import MinCache
from rnnkit.kernels.fast._jit import kernel

__all__ = ["build"]


@kernel
def _loop(a, b, h):
    """a, b (T, B, H) in processing order; h (B, H) holds h0 on entry. Returns hs (T, B, H)."""
    T, B, H = b.shape
    hs = np.empty_like(b)
    for k in range(T):
        for i in range(B):
            for j in range(H):
                h[i, j] = a[k, i, j] * h[i, j] + b[k, i, j]
                hs[k, i, j] = h[i, j]
    return hs


@kernel
def _loop_backward(a, d, g):
    """a, d (T, B, H) in processing order; g (B, H) holds dL/dh_n on entry. Returns G (T, B, H)."""
    T, B, H = d.shape
    G = np.empty_like(d)
    for k in range(T - 1, -1, -1):
        for i in range(B):
            for j in range(H):
                if k < T - 1:
                    g[i, j] *= a[k + 1, i, j]
                g[i, j] += d[k, i, j]
                G[k, i, j] = g[i, j]
    return G


def _mask(lengths, T, dt):
    """(T, B, 1) 1.0 for real steps, or None (every sequence is full)."""
    return None if lengths is None else (np.arange(T)[:, None] < np.asarray(lengths)[None, :]).astype(dt)[:, :, None]


def _coefficients(coefficients, xp, m, with_log):
    log_a, a, b = coefficients(xp, with_log)                        # log a only for the scan
    if m is not None:
        log_a = None if log_a is None else log_a * m
        a, b = np.where(m > 0, a, 1), b * m                          # padded: a = 1, b = 0
    return log_a, a, b


def _order(v, reverse):
    return v[::-1] if reverse else v


def build(coefficients, coefficients_backward):
    """``forward, backward, step`` with the kernel contract for a kind's coefficient functions."""

    def forward(x, w, state0, lengths, reverse, keep, options):
        x = np.ascontiguousarray(x)
        dt = x.dtype
        T, B, I = x.shape
        xp = (x.reshape(T * B, I) @ np.asarray(w.W_ih, dtype=dt).T).reshape(T, B, -1)   # one GEMM
        if w.b_ih is not None:
            xp += w.b_ih
        m = _mask(lengths, T, dt)
        log_a, a, b = _coefficients(coefficients, xp, m, options["algorithm"] == "scan")
        h0 = np.array(state0[0], dtype=dt, copy=True, order="C")
        if options["algorithm"] == "loop":
            hs = _order(_loop(np.ascontiguousarray(_order(a, reverse)), np.ascontiguousarray(_order(b, reverse)),
                              h0.copy()), reverse)
        else:
            hs = _order(scan(_order(log_a, reverse), _order(b, reverse), h0), reverse).astype(dt)
        h_n = (hs[0] if reverse else hs[-1]).copy()
        out = hs * m if m is not None else np.ascontiguousarray(hs)
        cache = None
        if keep:
            h_prev = np.empty_like(hs)
            if reverse:
                h_prev[-1], h_prev[:-1] = h0, hs[1:]
            else:
                h_prev[0], h_prev[1:] = h0, hs[:-1]
            cache = MinCache(x, xp, h_prev, h_n.copy(), lengths, reverse, options["algorithm"])
        return Forward(out, (h_n,), cache)

    def backward(d_out, d_state, w, cache: MinCache):
        x, xp, reverse = cache.x, cache.x_proj, cache.reverse
        dt = x.dtype
        T, B, I = x.shape
        H = cache.h_prev.shape[2]
        m = _mask(cache.lengths, T, dt)
        log_a, a, _ = _coefficients(coefficients, xp, m, cache.algorithm == "scan")
        d = np.asarray(d_out, dtype=dt) if m is None else d_out * m
        g_n = np.zeros((B, H), dt) if d_state[0] is None else np.array(d_state[0], dtype=dt, copy=True, order="C")
        if cache.algorithm == "loop":
            G = _order(_loop_backward(np.ascontiguousarray(_order(a, reverse)),
                                      np.ascontiguousarray(_order(d, reverse)), g_n.copy()), reverse)
        else:
            G = _order(scan_backward(_order(log_a, reverse), _order(d, reverse), g_n), reverse).astype(dt)
        first = T - 1 if reverse else 0
        dh0 = a[first] * G[first]                                    # (B, H)
        d_xp = coefficients_backward(G if m is None else G * m, cache.h_prev, xp)   # (T, B, G*H)
        flat = d_xp.reshape(T * B, -1)
        dx = (flat @ np.asarray(w.W_ih, dtype=dt)).reshape(T, B, I)
        dW_ih = flat.T @ x.reshape(T * B, I)
        db = flat.sum(axis=0) if w.b_ih is not None else None
        return Grads(dx, (dh0.astype(dt, copy=False),), dW_ih, None, db, None, None)

    def step(x, state, w, options):
        (h,) = state
        xp = x @ np.asarray(w.W_ih, dtype=h.dtype).T
        if w.b_ih is not None:
            xp = xp + w.b_ih
        _, a, b = coefficients(xp)
        return (a * h + b,)

    return forward, backward, step
