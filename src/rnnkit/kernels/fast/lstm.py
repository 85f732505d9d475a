"""LSTM (gates i, f, g, o; optional projection), compiled: same signatures and results
as ``kernels/lstm_ref.py`` (the cache tuple has one more element, ``hx_all``, and stores the
gates as (T, B, 4, H); a cache goes back to the kernels that made it).

Per step, forward: one BLAS product ``a = h_{t-1} @ W_hh.T`` (B, 4H) written straight
into the gate store, then the gate pass (``lstm_rows.gate_rows``: the activations of
``x_proj_t + bias + a`` in place, ``c_t``, ``tanh(c_t)``, ``m_t``; the layer passes
``b_ih + b_hh`` as ``bias`` rather than adding it to x_proj in a separate NumPy pass), and
with a projection one more product ``h_t = m_t @ W_hr.T``.
Backward: ``dm = g_h @ W_hr`` (projection), the gate-gradient pass
(``lstm_rows.grad_rows``: ``dc``, ``da`` (B, 4H)), one product ``g_h = da @ W_hh``.
``dW_hh`` and ``dW_hr`` are single GEMMs over all time steps after the loop.

Two ways to run the loop:
- serial (float64, or OpenBLAS at one thread, or a tiny batch): the loops below, the
  per-step products by OpenBLAS;
- row-split (float32 when ``_pool.threads_for`` gives 2 or more threads): the batch rows
  are split over OpenBLAS's own threads and each thread runs every step of its rows
  (``lstm_seq``), with no synchronisation until the end, its products by the packed-weight
  kernel of ``_gemm`` (one core at ~95 GFLOP/s here, where OpenBLAS reached 35-60 on a
  step's product of a few rows because it repacks the weight at each call). Measured on
  2 cores against the serial loop: the layer's inference 1.6x faster on S, 1.4x on M,
  1.2x on L, 1.1x on XL. The gate arithmetic is the same code (``lstm_rows``); only the
  order of the sums inside the products differs.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_shape
from rnnkit.kernels import _workspace as workspace
from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._gemm import PANEL, pack, pack_transposed
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._pool import context, run_rows, split_threads
from rnnkit.kernels.fast.lstm_rows import gate_rows, grad_rows

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
        mm_nt(h, W_hh, gates_all[tk], zero)                   # (B, 4H) = h_{t-1} @ W_hh.T
        gate_rows(0, B, t, x4[t], True, bias4, g4_all[tk], c, c_new, tanh_c_all[tk], m, lens, not has_proj, out[t],
                  h)
        if has_proj:
            mm_nt(m, W_hr, hp, zero)                          # (B, P) = m_t @ W_hr.T
            if keep:
                m_all[t] = m
            for b in range(B):
                if has_len and t >= lens[b]:
                    for p in range(P):
                        out[t, b, p] = zero
                else:
                    for p in range(P):
                        out[t, b, p] = hp[b, p]
                        h[b, p] = hp[b, p]


@kernel
def _backward_loop(d_out, dh, dc, W_hh, W_hr, has_proj, c_prev_all, g4_all, tanh_c_all, lens,
                   reverse, d_x_proj, d4, dh_out_all, gh, dm, dct, tmp):
    """dh (B, P), dc (B, H): gradients of the final state on entry, of the initial on exit.

    d_x_proj (T, B, 4H) and d4 (T, B, 4, H) are two views of one array.
    """
    T, B, _, H = d4.shape
    P = dh.shape[1]
    zero = d_out.dtype.type(0.0)
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = k if reverse else T - 1 - k
        if has_proj:
            for b in range(B):
                if has_len and t >= lens[b]:
                    for p in range(P):
                        gh[b, p] = zero
                else:
                    for p in range(P):
                        gh[b, p] = d_out[t, b, p] + dh[b, p]
            dh_out_all[t] = gh
            mm_nn(gh, W_hr, dm, zero)                         # (B, H) = g_h @ W_hr
            dmv = dm
        else:
            dmv = gh                                          # g_h, made by the row pass
        grad_rows(0, B, t, d_out[t], dh, not has_proj, gh, dmv, dc, dct, g4_all[t], c_prev_all[t],
                  tanh_c_all[t], d4[t], lens)
        mm_nn(d_x_proj[t], W_hh, tmp, zero)                   # (B, P) = da @ W_hh
        for b in range(B):
            if not (has_len and t >= lens[b]):
                for p in range(P):
                    dh[b, p] = tmp[b, p]


def lstm_forward(x_proj, W_hh, W_hr, h0, c0, lengths, reverse, keep, bias=None, x=None, W_ih=None):
    """See :func:`rnnkit.kernels.lstm_ref.lstm_forward`. The cache is the reference's
    tuple, except that the gates are stored as ``(T, B, 4, H)``. ``bias`` (4H,) or None is
    added to ``x_proj`` inside the kernel. With ``x_proj=None``, ``x`` (T, B, I) and ``W_ih``
    (4H, I) are given instead: the row-split path then does the input projection inside its
    step products (no (T, B, 4H) array is written), the serial path computes x_proj first."""
    fused = x_proj is None
    if fused:
        x = np.ascontiguousarray(x)
        dt = x.dtype
        T, B, _ = x.shape
        G4 = W_ih.shape[0]
    else:
        x_proj = np.ascontiguousarray(x_proj)
        dt = x_proj.dtype
        T, B, G4 = x_proj.shape
    H = G4 // 4
    P = h0.shape[1]
    if fused:                                 # the packed product reads by these shapes: check them
        check_shape("x", x, (T, B, np.shape(W_ih)[1]))
    check_shape("W_hh", np.asarray(W_hh), (G4, P))
    check_shape("h0", np.asarray(h0), (B, P))
    check_shape("c0", np.asarray(c0), (B, H))
    nth = split_threads(dt, B, H)
    if fused and nth == 1:
        x_proj = workspace.empty((T, B, G4), dt)
        np.matmul(x.reshape(T * B, -1), np.asarray(W_ih, dtype=dt).T, out=x_proj.reshape(T * B, G4))
        fused = False
    has_proj = W_hr is not None
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    bias = np.zeros(G4, dt) if bias is None else np.ascontiguousarray(bias, dtype=dt)
    W_hr_a = np.ascontiguousarray(W_hr, dtype=dt) if has_proj else np.zeros((P, H), dt)
    h = np.array(h0, dtype=dt, copy=True, order="C")          # (B, P), becomes h_n
    c = np.array(c0, dtype=dt, copy=True, order="C")          # (B, H), becomes c_n
    out = workspace.empty((T, B, P), dt)
    Tk = T if keep else 1                                     # one scratch step when not keeping
    Ix = x.shape[2] if fused else 0                           # [x_t | h_{t-1}] kept for one dW GEMM
    hx_all = workspace.empty((Tk, B, Ix + P), dt)
    h_prev_all = hx_all[:, :, Ix:] if Ix else hx_all          # (Tk, B, P)
    c_prev_all = workspace.empty((Tk, B, H), dt)
    gates_all = workspace.empty((Tk, B, G4), dt)              # activated i, f, g, o
    tanh_c_all = workspace.empty((Tk, B, H), dt)
    m_all = workspace.empty((Tk if has_proj else 1, B, H), dt)
    lens = NO_LENGTHS if lengths is None else np.ascontiguousarray(lengths, dtype=np.int64)
    g4_all = gates_all.reshape(Tk, B, 4, H)
    x4 = g4_all if fused else x_proj.reshape(T, B, 4, H)      # (not read when fused)
    bias4 = bias.reshape(4, H)
    m, c_new, hp = np.empty((B, H), dt), np.empty((B, H), dt), np.empty((B, P), dt)
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.lstm_workers import forward_worker

        if fused:                                             # (ceil(4H/16), I + P, 16)
            Wp = pack_transposed(W_ih, W_hh)
            x3 = x
        else:                                                 # (ceil(4H/16), P, 16)
            Wp = pack_transposed(W_hh, W_hh[:, :0])
            x3 = np.zeros((T, B, 0), dt)
        Wrp = pack(W_hr_a.T) if has_proj else np.zeros((1, H, PANEL), dt)
        scalars = (T, B, H, P, Tk, lens.shape[0], bool(reverse), bool(keep), has_proj, Wp.shape[0], Wrp.shape[0],
                   m_all.shape[0], x3.shape[2], fused)
        arrays = (x4, bias4, Wp, Wrp, h, c, lens, out, hx_all, c_prev_all, g4_all, tanh_c_all, m_all, m, hp,
                  c_new, x3)
        run_rows(forward_worker.address, context(scalars, arrays), B, nth)
    else:
        _forward_loop(x4, bias4, W_hh, W_hr_a, has_proj, h, c, lens, bool(reverse), bool(keep), out, h_prev_all,
                      c_prev_all, gates_all, g4_all, tanh_c_all, m_all, m, hp, c_new)
    cache = None
    if keep:
        cache = (h_prev_all, c_prev_all, gates_all.reshape(T, B, 4, H), tanh_c_all,
                 m_all if has_proj else None, lengths, reverse, hx_all)
    return out, h, c, cache


def lstm_backward(d_out, dh_n, dc_n, W_hh, W_hr, cache, W_ih=None):
    """See :func:`rnnkit.kernels.lstm_ref.lstm_backward` (with ``W_ih``: also ``dx`` and
    ``db``, made inside the loop on the row-split path, and ``dW_ih`` when the forward kept
    ``[x_t | h_{t-1}]``, else None). The cache has one more element than the reference's:
    ``hx_all`` (T, B, I + P) (I = 0 unless the forward did the input projection), whose last
    P columns are ``h_prev_all``."""
    h_prev_all, c_prev_all, g4_all, tanh_c_all, m_all, lengths, reverse, hx_all = cache
    T, B, P = h_prev_all.shape
    H = c_prev_all.shape[2]
    dt = h_prev_all.dtype
    has_proj = W_hr is not None
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh = np.zeros((B, P), dt) if dh_n is None else np.array(dh_n, dtype=dt, copy=True, order="C")
    dc = np.zeros((B, H), dt) if dc_n is None else np.array(dc_n, dtype=dt, copy=True, order="C")
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    W_hr_a = np.ascontiguousarray(W_hr, dtype=dt) if has_proj else np.zeros((P, H), dt)
    d_x_proj = workspace.empty((T, B, 4 * H), dt)
    dh_out_all = workspace.empty((T if has_proj else 1, B, P), dt)
    lens = NO_LENGTHS if lengths is None else np.ascontiguousarray(lengths, dtype=np.int64)
    d4 = d_x_proj.reshape(T, B, 4, H)
    gh, dm, dct, dh_new = np.empty((B, P), dt), np.empty((B, H), dt), np.empty((B, H), dt), np.empty((B, P), dt)
    nth = split_threads(dt, B, H)
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.lstm_workers import backward_worker

        Wbp = pack(W_hh)                                      # (ceil(P/16), 4H, 16)
        Wrbp = pack(W_hr_a) if has_proj else np.zeros((1, P, PANEL), dt)
        with_x = W_ih is not None
        I = W_ih.shape[1] if with_x else 0
        Wip = pack(np.asarray(W_ih, dtype=dt)) if with_x else np.zeros((1, 4 * H, PANEL), dt)
        dx = workspace.empty((T, B, I), dt)
        db_rows = np.zeros((B, 4 * H), dt)
        scalars = (T, B, H, P, T, lens.shape[0], bool(reverse), True, has_proj, Wbp.shape[0], Wrbp.shape[0],
                   dh_out_all.shape[0], I, with_x, Wip.shape[0])
        arrays = (d_out, dh, dc, Wbp, Wrbp, c_prev_all, g4_all, tanh_c_all, lens, d4, dh_out_all, gh, dm, dct,
                  dh_new, Wip, dx, db_rows)
        run_rows(backward_worker.address, context(scalars, arrays), B, nth)
    else:
        _backward_loop(d_out, dh, dc, W_hh, W_hr_a, has_proj, c_prev_all, g4_all, tanh_c_all, lens, bool(reverse),
                       d_x_proj, d4, dh_out_all, gh, dm, dct, dh_new)
    Ix = hx_all.shape[2] - P
    dW_cat = d_x_proj.reshape(-1, 4 * H).T @ hx_all.reshape(-1, Ix + P)    # (4H, Ix + P)
    dW_hh, dW_ih = dW_cat[:, Ix:], (dW_cat[:, :Ix] if Ix else None)        # dW_ih: one GEMM with dW_hh
    dW_hr = None
    if has_proj:
        dW_hr = dh_out_all.reshape(-1, P).T @ m_all.reshape(-1, H)          # (P, H)
    if W_ih is None:
        return d_x_proj, dh, dc, dW_hh, dW_hr
    if nth > 1:
        db = db_rows.sum(axis=0)                                            # (4H,)
    else:
        dxp = d_x_proj.reshape(T * B, 4 * H)
        dx = workspace.empty((T, B, W_ih.shape[1]), dt)
        np.matmul(dxp, np.asarray(W_ih, dtype=dt), out=dx.reshape(T * B, -1))    # (T, B, I)
        db = dxp.sum(axis=0)
    return d_x_proj, dh, dc, dW_hh, dW_hr, dx, db, dW_ih
