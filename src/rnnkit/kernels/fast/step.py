"""One time step of a cell in one compiled call: the streaming-inference fast path.

Stepping a cell one sample at a time (online prediction, B = 1) costs almost nothing in
arithmetic; what costs is the number of Python-level operations per call. ``cell_step``
does the whole step (both matrix-vector products, biases, gates, new state) in a single
compiled call with no cache kept, so the cell's ``forward`` can skip the layer glue::

    gx = W_ih x + b_ih ;  gh = W_hh h + b_hh                      # (B, G*H)
    RNN:   h' = f(gx + gh)
    LSTM:  i, f, g, o = gates(gx + gh) ;  c' = f c + i g ;  h' = o tanh(c')
    GRU:   r, z = sigmoid(gx + gh)[:2H] ;  n = tanh(gx_n + r (W_hn h + b_hn))        (reset_after)
                                       or  n = tanh(gx_n + W_hn (r h) + b_hn)          (reset_before)
           h' = (1 - z) n + z h

Equal to the layer path within float rounding (the dot products are summed in another order).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from rnnkit.kernels.fast._blas import mm_nt
from rnnkit.kernels.fast._jit import FASTMATH, kernel
from rnnkit.kernels.fast._vmath import sigmoid, tanh

MODE_CODES = {"RNN": 0, "GRU": 1, "LSTM": 2}
ACT_CODES = {"tanh": 0, "relu": 1, "sigmoid": 2}
_SMALL_BATCH = 4          # below this, row-by-row dot products beat a BLAS call's overhead


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH | {"reassoc"})
def _matvec_rows(W, v, out, row0, rows):
    """``out[r] += W[row0 + r] . v`` for r < rows.

    Four rows at a time (four independent vector accumulators hide the FMA latency);
    ``reassoc`` lets LLVM vectorise the dot products.
    """
    K = v.shape[0]
    zero = W.dtype.type(0.0)
    r = 0
    while r + 4 <= rows:
        a0 = a1 = a2 = a3 = zero
        q = row0 + r
        for k in range(K):
            vk = v[k]
            a0 += W[q, k] * vk
            a1 += W[q + 1, k] * vk
            a2 += W[q + 2, k] * vk
            a3 += W[q + 3, k] * vk
        out[r] += a0
        out[r + 1] += a1
        out[r + 2] += a2
        out[r + 3] += a3
        r += 4
    while r < rows:
        acc = zero
        for k in range(K):
            acc += W[row0 + r, k] * v[k]
        out[r] += acc
        r += 1


@kernel
def _products(x, h, W_ih, W_hh, b_ih, b_hh, has_bias, gh_rows, gx, gh):
    """gx = x @ W_ih.T + b_ih (B, GH); gh[:, :gh_rows] = h @ W_hh[:gh_rows].T + b_hh."""
    B, GH = gx.shape
    zero = gx.dtype.type(0.0)
    for b in range(B):
        for r in range(GH):
            gx[b, r] = b_ih[r] if has_bias else zero
            gh[b, r] = b_hh[r] if has_bias else zero
    if B < _SMALL_BATCH:
        for b in range(B):
            _matvec_rows(W_ih, x[b], gx[b], 0, GH)
            _matvec_rows(W_hh, h[b], gh[b], 0, gh_rows)
    else:
        mm_nt(x, W_ih, gx, gx.dtype.type(1.0))
        mm_nt(h, W_hh[:gh_rows], gh[:, :gh_rows], gx.dtype.type(1.0))


@kernel
def cell_step(mode, act, reset_after, x, h, c, W_ih, W_hh, b_ih, b_hh, has_bias):
    """x (B, I), h (B, H), c (B, H) (ignored unless LSTM). Returns ``h' (B, H), c' (B, H)``."""
    B = x.shape[0]
    H = h.shape[1]
    GH = W_ih.shape[0]
    dt = x.dtype
    zero = dt.type(0.0)
    one = dt.type(1.0)
    gx = np.empty((B, GH), dt)
    gh = np.empty((B, GH), dt)
    h_new = np.empty((B, H), dt)
    c_new = np.empty((B, H), dt) if mode == 2 else c
    gh_rows = 2 * H if (mode == 1 and not reset_after) else GH
    _products(x, h, W_ih, W_hh, b_ih, b_hh, has_bias, gh_rows, gx, gh)
    for b in range(B):
        if mode == 0:
            for j in range(H):
                a = gx[b, j] + gh[b, j]
                if act == 0:
                    h_new[b, j] = tanh(a)
                elif act == 1:
                    h_new[b, j] = a if a > zero else zero
                else:
                    h_new[b, j] = sigmoid(a)
        elif mode == 2:
            for j in range(H):
                i = sigmoid(gx[b, j] + gh[b, j])
                f = sigmoid(gx[b, H + j] + gh[b, H + j])
                g = tanh(gx[b, 2 * H + j] + gh[b, 2 * H + j])
                o = sigmoid(gx[b, 3 * H + j] + gh[b, 3 * H + j])
                cn = f * c[b, j] + i * g
                c_new[b, j] = cn
                h_new[b, j] = o * tanh(cn)
        else:
            rh = h_new[b]                                     # scratch for r * h (reset_before)
            for j in range(H):
                r = sigmoid(gx[b, j] + gh[b, j])
                gx[b, j] = r
                rh[j] = r * h[b, j]
            if reset_after:
                for j in range(H):
                    gx[b, 2 * H + j] = tanh(gx[b, 2 * H + j] + gx[b, j] * gh[b, 2 * H + j])
            else:
                for j in range(H):
                    gh[b, 2 * H + j] = b_hh[2 * H + j] if has_bias else zero
                _matvec_rows(W_hh, rh, gh[b, 2 * H:], 2 * H, H)
                for j in range(H):
                    gx[b, 2 * H + j] = tanh(gx[b, 2 * H + j] + gh[b, 2 * H + j])
            for j in range(H):
                z = sigmoid(gx[b, H + j] + gh[b, H + j])
                n = gx[b, 2 * H + j]
                h_new[b, j] = (one - z) * n + z * h[b, j]
    return h_new, c_new
