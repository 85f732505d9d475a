"""LSTM (gates i, f, g, o; optional projection), compiled: same signatures and results
as ``kernels/lstm_ref.py``.

Per step, forward: one BLAS product ``a = h_{t-1} @ W_hh.T`` (B, 4H) written straight
into the gate store, the gate activations in place (of ``x_proj_t + bias + a``: the layer
passes ``b_ih + b_hh`` as ``bias`` rather than adding it to x_proj in a separate NumPy
pass, 0.04 ms on S to 4 ms on XL saved), one fused pass for ``c_t``,
``tanh(c_t)`` and ``m_t``, and with a projection one more product ``h_t = m_t @ W_hr.T``.
Backward: ``dm = g_h @ W_hr`` (projection), a pass for the cell gradient, one pass per
gate block for ``da`` (B, 4H), one product ``g_h = da @ W_hh``. ``dW_hh`` and ``dW_hr`` are
single GEMMs over all time steps after the loop.

Every inner loop runs over ``j < H`` and writes one gate block of an array only: a loop
writing two blocks of the same array does not vectorise (LLVM cannot prove that blocks
``H`` apart do not overlap).
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._vmath import sigmoid, tanh

NO_LENGTHS = np.zeros(0, np.int64)


@kernel
def _forward_loop(x4, bias4, W_hh, W_hr, has_proj, h, c, lens, reverse, keep, out,
                  h_prev_all, c_prev_all, gates_all, g4_all, tanh_c_all, m_all, m, hp, c_new):
    """The whole sequence in one call.

    x4 (T, B, 4, H) is x_proj with a gate axis, bias4 (4, H) the bias added to it (b_ih + b_hh,
    added here instead of in a separate NumPy pass). h (B, P), c (B, H): initial state on entry,
    final state on exit. gates_all (T, B, 4H) and g4_all (T, B, 4, H) are two views of the
    store of activated gates; without ``keep`` all stores are one scratch step (1, B, ...).
    """
    T, B, _, H = x4.shape
    P = h.shape[1]
    zero = x4.dtype.type(0.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = T - 1 - k if reverse else k
        tk = t if keep else 0
        if keep:
            h_prev_all[t] = h
            c_prev_all[t] = c
        a4 = g4_all[tk]                                       # (B, 4, H)
        mm_nt(h, W_hh, gates_all[tk], zero)                   # (B, 4H) = h_{t-1} @ W_hh.T
        for b in range(B):
            for j in range(H):
                a4[b, 0, j] = sigmoid(x4[t, b, 0, j] + bias4[0, j] + a4[b, 0, j])    # i
            for j in range(H):
                a4[b, 1, j] = sigmoid(x4[t, b, 1, j] + bias4[1, j] + a4[b, 1, j])    # f
            for j in range(H):
                a4[b, 2, j] = tanh(x4[t, b, 2, j] + bias4[2, j] + a4[b, 2, j])      # g
            for j in range(H):
                a4[b, 3, j] = sigmoid(x4[t, b, 3, j] + bias4[3, j] + a4[b, 3, j])    # o
            for j in range(H):
                cn = a4[b, 1, j] * c[b, j] + a4[b, 0, j] * a4[b, 2, j]  # c_t = f c + i g
                tc = tanh(cn)
                c_new[b, j] = cn
                tanh_c_all[tk, b, j] = tc
                m[b, j] = a4[b, 3, j] * tc                               # m_t = o tanh(c_t)
            if not (has_len and t >= lens[b]):
                for j in range(H):
                    c[b, j] = c_new[b, j]
        if has_proj:
            mm_nt(m, W_hr, hp, zero)                          # (B, P)
            if keep:
                m_all[t] = m
            h_new = hp
        else:
            h_new = m
        for b in range(B):
            if has_len and t >= lens[b]:
                for p in range(P):
                    out[t, b, p] = zero
            else:
                for p in range(P):
                    out[t, b, p] = h_new[b, p]
                    h[b, p] = h_new[b, p]


@kernel
def _backward_loop(d_out, dh, dc, W_hh, W_hr, has_proj, c_prev_all, g4_all, tanh_c_all, lens,
                   reverse, d_x_proj, d4, dh_out_all, gh, dm, dct, tmp):
    """dh (B, P), dc (B, H): gradients of the final state on entry, of the initial on exit.

    d_x_proj (T, B, 4H) and d4 (T, B, 4, H) are two views of one array.
    """
    T, B, _, H = d4.shape
    P = dh.shape[1]
    zero = d_out.dtype.type(0.0)
    one = d_out.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = k if reverse else T - 1 - k
        for b in range(B):
            if has_len and t >= lens[b]:
                for p in range(P):
                    gh[b, p] = zero
            else:
                for p in range(P):
                    gh[b, p] = d_out[t, b, p] + dh[b, p]
        if has_proj:
            dh_out_all[t] = gh
            mm_nn(gh, W_hr, dm, zero)                         # (B, H) = g_h @ W_hr
            dmv = dm
        else:
            dmv = gh
        a4 = g4_all[t]                                        # (B, 4, H) activated i, f, g, o
        for b in range(B):
            if has_len and t >= lens[b]:
                for q in range(4):
                    for j in range(H):
                        d4[t, b, q, j] = zero
                continue
            for j in range(H):
                tc = tanh_c_all[t, b, j]
                d = dc[b, j] + dmv[b, j] * a4[b, 3, j] * (one - tc * tc)
                dct[b, j] = d                                 # dL/dc_t
                dc[b, j] = d * a4[b, 1, j]                    # to c_{t-1}
            for j in range(H):
                i = a4[b, 0, j]
                d4[t, b, 0, j] = dct[b, j] * a4[b, 2, j] * (i * (one - i))
            for j in range(H):
                f = a4[b, 1, j]
                d4[t, b, 1, j] = dct[b, j] * c_prev_all[t, b, j] * (f * (one - f))
            for j in range(H):
                g = a4[b, 2, j]
                d4[t, b, 2, j] = dct[b, j] * a4[b, 0, j] * (one - g * g)
            for j in range(H):
                o = a4[b, 3, j]
                d4[t, b, 3, j] = dmv[b, j] * tanh_c_all[t, b, j] * (o * (one - o))
        mm_nn(d_x_proj[t], W_hh, tmp, zero)                   # (B, P) = da @ W_hh
        for b in range(B):
            if not (has_len and t >= lens[b]):
                for p in range(P):
                    dh[b, p] = tmp[b, p]


def lstm_forward(x_proj, W_hh, W_hr, h0, c0, lengths, reverse, keep, bias=None):
    """See :func:`rnnkit.kernels.lstm_ref.lstm_forward`. The cache is the reference's
    tuple, except that the gates are stored as ``(T, B, 4, H)``. ``bias`` (4H,) or None is
    added to ``x_proj`` inside the kernel."""
    x_proj = np.ascontiguousarray(x_proj)
    dt = x_proj.dtype
    T, B, G4 = x_proj.shape
    H = G4 // 4
    P = h0.shape[1]
    has_proj = W_hr is not None
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    bias = np.zeros(G4, dt) if bias is None else np.ascontiguousarray(bias, dtype=dt)
    W_hr_a = np.ascontiguousarray(W_hr, dtype=dt) if has_proj else np.zeros((P, H), dt)
    h = np.array(h0, dtype=dt, copy=True, order="C")          # (B, P), becomes h_n
    c = np.array(c0, dtype=dt, copy=True, order="C")          # (B, H), becomes c_n
    out = np.empty((T, B, P), dt)
    Tk = T if keep else 1                                     # one scratch step when not keeping
    h_prev_all = np.empty((Tk, B, P), dt)
    c_prev_all = np.empty((Tk, B, H), dt)
    gates_all = np.empty((Tk, B, G4), dt)                     # activated i, f, g, o
    tanh_c_all = np.empty((Tk, B, H), dt)
    m_all = np.empty((Tk if has_proj else 1, B, H), dt)
    lens = NO_LENGTHS if lengths is None else lengths
    _forward_loop(x_proj.reshape(T, B, 4, H), bias.reshape(4, H), W_hh, W_hr_a, has_proj, h, c, lens, bool(reverse),
                  bool(keep), out, h_prev_all, c_prev_all, gates_all, gates_all.reshape(Tk, B, 4, H), tanh_c_all,
                  m_all, np.empty((B, H), dt), np.empty((B, P), dt), np.empty((B, H), dt))
    cache = None
    if keep:
        cache = (h_prev_all, c_prev_all, gates_all.reshape(T, B, 4, H), tanh_c_all,
                 m_all if has_proj else None, lengths, reverse)
    return out, h, c, cache


def lstm_backward(d_out, dh_n, dc_n, W_hh, W_hr, cache):
    """See :func:`rnnkit.kernels.lstm_ref.lstm_backward`."""
    h_prev_all, c_prev_all, g4_all, tanh_c_all, m_all, lengths, reverse = cache
    T, B, P = h_prev_all.shape
    H = c_prev_all.shape[2]
    dt = h_prev_all.dtype
    has_proj = W_hr is not None
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh = np.zeros((B, P), dt) if dh_n is None else np.array(dh_n, dtype=dt, copy=True, order="C")
    dc = np.zeros((B, H), dt) if dc_n is None else np.array(dc_n, dtype=dt, copy=True, order="C")
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    W_hr_a = np.ascontiguousarray(W_hr, dtype=dt) if has_proj else np.zeros((P, H), dt)
    d_x_proj = np.empty((T, B, 4 * H), dt)
    dh_out_all = np.empty((T if has_proj else 1, B, P), dt)
    lens = NO_LENGTHS if lengths is None else lengths
    _backward_loop(d_out, dh, dc, W_hh, W_hr_a, has_proj, c_prev_all, g4_all,
                   tanh_c_all, lens, bool(reverse), d_x_proj, d_x_proj.reshape(T, B, 4, H), dh_out_all,
                   np.empty((B, P), dt), np.empty((B, H), dt), np.empty((B, H), dt), np.empty((B, P), dt))
    dW_hh = d_x_proj.reshape(-1, 4 * H).T @ h_prev_all.reshape(-1, P)      # (4H, P)
    dW_hr = None
    if has_proj:
        dW_hr = dh_out_all.reshape(-1, P).T @ m_all.reshape(-1, H)          # (P, H)
    return d_x_proj, dh, dc, dW_hh, dW_hr
