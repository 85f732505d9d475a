"""GRU (gates r, z, n; both reset forms), compiled: same signatures and results as
``kernels/gru_ref.py``.

Per step, forward with ``reset_after`` (PyTorch): one BLAS product ``s = h @ W_hh.T``
(B, 3H) written into the gate store, then one pass per gate block. With
``reset_after=False`` (Cho et al.): ``s = h @ W_hh[:2H].T`` into the r, z blocks, a pass for
r, z and ``r * h``, the product ``(r * h) @ W_hn.T`` (B, H) and a pass for n. Backward
mirrors these products (``[dr, dz, ds_n] @ W_hh``, or ``dn @ W_hn`` then
``[dr, dz] @ W_hh[:2H]``, each a BLAS call on strided blocks in place); ``dW_hh`` is two
GEMMs over all time steps after the loop.

Gate arrays carry a gate axis, (T, B, 3, H); every inner loop writes one gate block of an
array only, so that LLVM vectorises it (see ``lstm.py``).
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._vmath import sigmoid, tanh

NO_LENGTHS = np.zeros(0, np.int64)


@kernel
def _forward_loop(x4, W_hh, W_rz, W_n, b_hn, h, lens, reverse, reset_after, keep, out,
                  h_prev_all, gates_all, g4_all, s_all, r_ws, sn):
    """h (B, H): h0 on entry, h_n on exit. gates_all (T, B, 3H) and g4_all (T, B, 3, H) are
    views of one store; without ``keep`` the stores are one scratch step (1, B, ...)."""
    T, B, _, H = x4.shape
    zero = x4.dtype.type(0.0)
    one = x4.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = T - 1 - k if reverse else k
        tk = t if keep else 0
        if keep:
            h_prev_all[t] = h
        a2, a4 = gates_all[tk], g4_all[tk]                    # (B, 3H), (B, 3, H)
        if reset_after:
            mm_nt(h, W_hh, a2, zero)                          # (B, 3H) = h @ W_hh.T
        else:
            mm_nt(h, W_rz, a2[:, :2 * H], zero)               # (B, 2H) = h @ W_hh[:2H].T
        for b in range(B):
            for j in range(H):
                r = sigmoid(x4[t, b, 0, j] + a4[b, 0, j])
                a4[b, 0, j] = r
                r_ws[b, j] = r if reset_after else r * h[b, j]   # r, or r * h_{t-1}
            for j in range(H):
                a4[b, 1, j] = sigmoid(x4[t, b, 1, j] + a4[b, 1, j])    # z
        if not reset_after:
            mm_nt(r_ws, W_n, sn, zero)                        # (B, H) = (r * h) @ W_hn.T
        for b in range(B):
            if reset_after:
                for j in range(H):
                    s_n = a4[b, 2, j] + b_hn[j]
                    s_all[tk, b, j] = s_n
                    a4[b, 2, j] = tanh(x4[t, b, 2, j] + r_ws[b, j] * s_n)   # n
            else:
                for j in range(H):
                    s_all[tk, b, j] = r_ws[b, j]
                    a4[b, 2, j] = tanh(x4[t, b, 2, j] + sn[b, j] + b_hn[j])  # n
            if has_len and t >= lens[b]:
                for j in range(H):
                    out[t, b, j] = zero
            else:
                for j in range(H):
                    z, n = a4[b, 1, j], a4[b, 2, j]
                    h_new = (one - z) * n + z * h[b, j]
                    out[t, b, j] = h_new
                    h[b, j] = h_new


@kernel
def _backward_loop(d_out, dh, W_hh, W_rz, W_n, h_prev_all, g4_all, s_all, lens, reverse, reset_after,
                   d_x_proj, d4, d_s_all, ws, ws4, g_ws, dhz, tmp):
    """dh (B, H): dL/dh_n on entry, dL/dh0 on exit. d_x_proj (T, B, 3H) and d4 (T, B, 3, H)
    are views of one array; ws (B, 3H) and ws4 (B, 3, H) of one workspace."""
    T, B, _, H = d4.shape
    zero = d_out.dtype.type(0.0)
    one = d_out.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = k if reverse else T - 1 - k
        a4 = g4_all[t]                                        # (B, 3, H) r, z, n
        for b in range(B):
            if has_len and t >= lens[b]:
                for q in range(3):
                    for j in range(H):
                        d4[t, b, q, j] = zero
                        ws4[b, q, j] = zero
                for j in range(H):
                    d_s_all[t, b, j] = zero
                continue
            for j in range(H):
                g = d_out[t, b, j] + dh[b, j]
                g_ws[b, j] = g
                dhz[b, j] = g * a4[b, 1, j]                   # the direct path g z
            for j in range(H):                                # dn_pre = g (1 - z)(1 - n^2)
                z, n = a4[b, 1, j], a4[b, 2, j]
                d4[t, b, 2, j] = g_ws[b, j] * (one - z) * (one - n * n)
            for j in range(H):                                # dz_pre = g (h - n) z (1 - z)
                z, n = a4[b, 1, j], a4[b, 2, j]
                d4[t, b, 1, j] = g_ws[b, j] * (h_prev_all[t, b, j] - n) * (z * (one - z))
            if reset_after:
                for j in range(H):
                    r = a4[b, 0, j]
                    d4[t, b, 0, j] = d4[t, b, 2, j] * s_all[t, b, j] * (r * (one - r))
                for j in range(H):
                    d_s_all[t, b, j] = d4[t, b, 2, j] * a4[b, 0, j]
            else:
                for j in range(H):
                    d_s_all[t, b, j] = d4[t, b, 2, j]
        if reset_after:
            for b in range(B):
                for j in range(H):
                    ws4[b, 0, j] = d4[t, b, 0, j]
                for j in range(H):
                    ws4[b, 1, j] = d4[t, b, 1, j]
                for j in range(H):
                    ws4[b, 2, j] = d_s_all[t, b, j]
            mm_nn(ws, W_hh, tmp, zero)                        # (B, H) = [dr, dz, ds_n] @ W_hh
        else:
            mm_nn(d_x_proj[t][:, 2 * H:], W_n, tmp, zero)     # (B, H) = d(r * h) = dn @ W_hn
            for b in range(B):
                if has_len and t >= lens[b]:
                    continue
                for j in range(H):
                    r = a4[b, 0, j]
                    d4[t, b, 0, j] = tmp[b, j] * h_prev_all[t, b, j] * (r * (one - r))
                for j in range(H):
                    dhz[b, j] += tmp[b, j] * a4[b, 0, j]
            mm_nn(d_x_proj[t][:, :2 * H], W_rz, tmp, zero)    # (B, H) = [dr, dz] @ W_hh[:2H]
        for b in range(B):
            if not (has_len and t >= lens[b]):
                for j in range(H):
                    dh[b, j] = dhz[b, j] + tmp[b, j]


def gru_forward(x_proj, W_hh, b_hn, h0, lengths, reverse, reset_after, keep):
    """See :func:`rnnkit.kernels.gru_ref.gru_forward`. The cache is the reference's tuple,
    except that the gates are stored as ``(T, B, 3, H)``."""
    x_proj = np.ascontiguousarray(x_proj)
    dt = x_proj.dtype
    T, B, G3 = x_proj.shape
    H = G3 // 3
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    h = np.array(h0, dtype=dt, copy=True, order="C")          # (B, H), becomes h_n
    out = np.empty((T, B, H), dt)
    Tk = T if keep else 1                                     # one scratch step when not keeping
    h_prev_all = np.empty((Tk, B, H), dt)
    gates_all = np.empty((Tk, B, G3), dt)                     # r, z, n after activation
    s_all = np.empty((Tk, B, H), dt)                          # reset_after: s_n + b_hn; else r * h
    lens = NO_LENGTHS if lengths is None else lengths
    _forward_loop(x_proj.reshape(T, B, 3, H), W_hh, W_hh[:2 * H], W_hh[2 * H:], np.ascontiguousarray(b_hn, dtype=dt),
                  h, lens, bool(reverse), bool(reset_after), bool(keep), out, h_prev_all, gates_all,
                  gates_all.reshape(Tk, B, 3, H), s_all, np.empty((B, H), dt), np.empty((B, H), dt))
    cache = None
    if keep:
        cache = (h_prev_all, gates_all.reshape(T, B, 3, H), s_all, lengths, reverse, reset_after)
    return out, h, cache


def gru_backward(d_out, dh_n, W_hh, cache):
    """See :func:`rnnkit.kernels.gru_ref.gru_backward`."""
    h_prev_all, g4_all, s_all, lengths, reverse, reset_after = cache
    T, B, H = h_prev_all.shape
    dt = h_prev_all.dtype
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    dh = np.zeros((B, H), dt) if dh_n is None else np.array(dh_n, dtype=dt, copy=True, order="C")
    d_x_proj = np.empty((T, B, 3 * H), dt)
    d_s_all = np.empty((T, B, H), dt)                         # gradient of the n-block product
    ws = np.empty((B, 3 * H), dt)
    lens = NO_LENGTHS if lengths is None else lengths
    _backward_loop(d_out, dh, W_hh, W_hh[:2 * H], W_hh[2 * H:], h_prev_all, g4_all, s_all, lens, bool(reverse),
                   bool(reset_after), d_x_proj, d_x_proj.reshape(T, B, 3, H), d_s_all, ws, ws.reshape(B, 3, H),
                   np.empty((B, H), dt), np.empty((B, H), dt), np.empty((B, H), dt))
    Hp = h_prev_all.reshape(-1, H)                            # (T*B, H)
    dxp = d_x_proj.reshape(-1, 3 * H)                         # (T*B, 3H)
    dW_hh = np.empty((3 * H, H), dt)
    dW_hh[:2 * H] = dxp[:, :2 * H].T @ Hp
    dW_hh[2 * H:] = d_s_all.reshape(-1, H).T @ (Hp if reset_after else s_all.reshape(-1, H))
    db_hn = d_s_all.sum(axis=(0, 1))
    return d_x_proj, dh, dW_hh, db_hn
