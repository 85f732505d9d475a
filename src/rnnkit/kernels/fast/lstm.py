"""LSTM (gates i, f, g, o; optional projection), compiled: the kernel contract of
:mod:`rnnkit.kernels` for the equations of ``kernels/lstm_ref.py`` (``forward``, ``backward``,
``step``; the cache is ``LSTMCache``, its gates stored as (T, B, 4, H)).

Per step, forward: one BLAS product ``a = h_{t-1} @ W_hh.T`` (B, 4H) written straight
into the gate store, then the gate pass (``lstm_rows.gate_rows``: the activations of
``x_proj_t + b + a`` in place, ``c_t``, ``tanh(c_t)``, ``m_t``; ``b = b_ih + b_hh`` is added
here rather than to x_proj in a separate pass), and with a projection one more product
``h_t = m_t @ W_hr.T``. Backward: ``dm = g_h @ W_hr`` (projection), the gate-gradient pass
(``lstm_rows.grad_rows``: ``dc``, ``da`` (B, 4H)), one product ``g_h = da @ W_hh``.
``dW_hh`` and ``dW_hr`` are single GEMMs over all time steps after the loop.

Two ways to run the loop:
- serial (float64, or OpenBLAS at one thread, or a tiny batch): ``x_proj = x @ W_ih.T`` first
  (one GEMM), the loops below, the per-step products by OpenBLAS; ``dx``, ``db`` and
  ``dW_ih`` by GEMMs after the backward;
- row-split (float32 when ``_pool.threads_for`` gives 2 or more threads): the batch rows
  are split over OpenBLAS's own threads and each thread runs every step of its rows
  (``lstm_seq``), with no synchronisation until the end, its products by the packed-weight
  kernel of ``_gemm`` (OpenBLAS repacks the weight at each call of a step's product of a few
  rows). The input projection is inside the step products,
  ``a = [x_t | h_{t-1}] @ [W_ih | W_hh].T`` (no (T, B, 4H) x_proj array is written), ``dx`` and
  ``db`` are made in the backward loop, and ``[dW_ih | dW_hh] = d_x_proj.T @ [x_t | h_{t-1}]``
  is one GEMM. The gate arithmetic is the same code (``lstm_rows``); only the order of the
  sums inside the products differs.

``step`` (one step, no cache: streaming inference) is one compiled call: the two products
(``_matvec.products``) and the same ``gate_rows``. Measurements: ``benchmarks/results/kernels_notes.md``.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_shape
from rnnkit.kernels import _workspace as workspace
from rnnkit.kernels._kind import Forward, Grads
from rnnkit.kernels._recurrent_mask import check_mask, mask_option
from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._gemm import PANEL, pack, pack_transposed
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._mask import mask_inplace, mask_into
from rnnkit.kernels.fast._matvec import products
from rnnkit.kernels.fast._pool import run_rows, shift, split_threads
from rnnkit.kernels.fast.lstm_rows import gate_rows, grad_rows
from rnnkit.kernels.fast.rnn import NO_LENGTHS, lengths_array
from rnnkit.kernels.lstm_ref import LSTMCache

__all__ = ["forward", "backward", "step"]


@kernel
def _forward_loop(x4, bias4, W_hh, W_hr, has_proj, h, c, lens, reverse, keep, out,
                  h_prev_all, c_prev_all, gates_all, g4_all, tanh_c_all, m_all, m, hp, c_new, rmask, hm):
    """The whole sequence in one call.

    x4 (T, B, 4, H) is x_proj with a gate axis, bias4 (4, H) the bias added to it (b_ih + b_hh,
    added here instead of in a separate NumPy pass). h (B, P), c (B, H): initial state on entry,
    final state on exit. gates_all (T, B, 4H) and g4_all (T, B, 4, H) are two views of the
    store of activated gates; without ``keep`` all stores are one scratch step (1, B, ...).
    rmask (B, P): the recurrent mask (None: off; hm (B, P) its workspace).
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
        if rmask is None:
            mm_nt(h, W_hh, gates_all[tk], zero)               # (B, 4H) = h_{t-1} @ W_hh.T
        else:
            mask_into(h, rmask, hm)
            mm_nt(hm, W_hh, gates_all[tk], zero)              # (B, 4H) = (m * h_{t-1}) @ W_hh.T
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
                   reverse, d_x_proj, d4, dh_out_all, gh, dm, dct, tmp, rmask):
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
        if rmask is not None:
            mask_inplace(tmp, rmask)                          # m * (da @ W_hh)
        for b in range(B):
            if not (has_len and t >= lens[b]):
                for p in range(P):
                    dh[b, p] = tmp[b, p]


def forward(x, w, state0, lengths, reverse, keep, options):
    """The contract's forward (see :mod:`rnnkit.kernels`); bias b_ih + b_hh is added in the gate pass."""
    x = np.ascontiguousarray(x)
    dt = x.dtype
    T, B, _ = x.shape
    W_ih, W_hr = w.W_ih, w.W_hr
    G4 = W_ih.shape[0]
    H = G4 // 4
    h0, c0 = state0
    P = h0.shape[1]
    check_shape("x", x, (T, B, np.shape(W_ih)[1]))     # the packed product reads by these shapes
    check_shape("W_hh", np.asarray(w.W_hh), (G4, P))
    check_shape("h0", np.asarray(h0), (B, P))
    check_shape("c0", np.asarray(c0), (B, H))
    rmask = check_mask(mask_option(options), B, P, dt)
    nth = split_threads(dt, B, H) if rmask is None else 1    # a recurrent mask runs the serial loop
    fused = nth > 1                                           # the input projection inside the step products
    if not fused:
        x_proj = workspace.empty((T, B, G4), dt)
        np.matmul(x.reshape(T * B, -1), np.asarray(W_ih, dtype=dt).T, out=x_proj.reshape(T * B, G4))
    has_proj = W_hr is not None
    W_hh = np.ascontiguousarray(w.W_hh, dtype=dt)
    bias = np.zeros(G4, dt) if w.b_ih is None else np.ascontiguousarray(w.b_ih + w.b_hh, dtype=dt)
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
    lens = lengths_array(lengths)
    g4_all = gates_all.reshape(Tk, B, 4, H)
    bias4 = bias.reshape(4, H)
    m, c_new, hp = np.empty((B, H), dt), np.empty((B, H), dt), np.empty((B, P), dt)
    if fused:                                                 # each thread runs all steps of its rows
        from rnnkit.kernels.fast.lstm_workers import FORWARD, forward_worker

        Wrp = pack(W_hr_a.T) if has_proj else np.zeros((1, H, PANEL), dt)
        ctx = FORWARD.build(shift(), reverse=bool(reverse), keep=bool(keep), has_proj=has_proj, x=x, bias4=bias4,
                            Wp=pack_transposed(W_ih, W_hh), Wrp=Wrp, h=h, c=c, lens=lens, out=out,
                            hx_all=hx_all, c_prev_all=c_prev_all, g4_all=g4_all, gates_all=gates_all,
                            tanh_c_all=tanh_c_all, m_all=m_all, m=m, hp=hp, c_new=c_new)
        run_rows(forward_worker.address, ctx, B, nth)
    else:
        _forward_loop(x_proj.reshape(T, B, 4, H), bias4, W_hh, W_hr_a, has_proj, h, c, lens, bool(reverse),
                      bool(keep), out, h_prev_all, c_prev_all, gates_all, g4_all, tanh_c_all, m_all, m, hp, c_new,
                      rmask, None if rmask is None else np.empty((B, P), dt))
    cache = None
    if keep:
        cache = LSTMCache(x, h_prev_all, c_prev_all, gates_all.reshape(T, B, 4, H), tanh_c_all,
                          m_all if has_proj else None, hx_all if Ix else None, lengths, reverse, rmask)
    return Forward(out, (h, c), cache)


def backward(d_out, d_state, w, cache: LSTMCache):
    """The contract's backward. On the row-split path dx and db are made inside the loop, and
    ``[dW_ih | dW_hh]`` is one GEMM when the forward kept ``[x_t | h_{t-1}]``."""
    h_prev_all, c_prev_all, g4_all, tanh_c_all, m_all = cache.h_prev, cache.c_prev, cache.gates, cache.tanh_c, cache.m
    hx_all = h_prev_all if cache.hx is None else cache.hx     # (T, B, Ix + P)
    T, B, P = h_prev_all.shape
    H = c_prev_all.shape[2]
    dt = h_prev_all.dtype
    W_hr = w.W_hr
    has_proj = W_hr is not None
    dh_n, dc_n = d_state
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh = np.zeros((B, P), dt) if dh_n is None else np.array(dh_n, dtype=dt, copy=True, order="C")
    dc = np.zeros((B, H), dt) if dc_n is None else np.array(dc_n, dtype=dt, copy=True, order="C")
    W_hh = np.ascontiguousarray(w.W_hh, dtype=dt)
    W_ih = np.asarray(w.W_ih, dtype=dt)
    I = W_ih.shape[1]
    W_hr_a = np.ascontiguousarray(W_hr, dtype=dt) if has_proj else np.zeros((P, H), dt)
    d_x_proj = workspace.empty((T, B, 4 * H), dt)
    dh_out_all = workspace.empty((T if has_proj else 1, B, P), dt)
    lens = lengths_array(cache.lengths)
    d4 = d_x_proj.reshape(T, B, 4, H)
    gh, dm, dct, dh_new = np.empty((B, P), dt), np.empty((B, H), dt), np.empty((B, H), dt), np.empty((B, P), dt)
    rmask = cache.recurrent_mask
    nth = split_threads(dt, B, H) if rmask is None else 1
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.lstm_workers import BACKWARD, backward_worker

        dx = workspace.empty((T, B, I), dt)
        db_rows = np.zeros((B, 4 * H), dt)
        ctx = BACKWARD.build(shift(), reverse=bool(cache.reverse), has_proj=has_proj, d_out=d_out, dh=dh, dc=dc,
                             Wbp=pack(W_hh), Wrbp=pack(W_hr_a) if has_proj else np.zeros((1, P, PANEL), dt),
                             c_prev_all=c_prev_all, g4_all=g4_all, tanh_c_all=tanh_c_all, lens=lens, d4=d4,
                             d_x_proj=d_x_proj, dh_out_all=dh_out_all, gh=gh, dm=dm, dct=dct, dh_new=dh_new,
                             Wip=pack(W_ih), dx=dx, db_rows=db_rows)
        run_rows(backward_worker.address, ctx, B, nth)
    else:
        _backward_loop(d_out, dh, dc, W_hh, W_hr_a, has_proj, c_prev_all, g4_all, tanh_c_all, lens,
                       bool(cache.reverse), d_x_proj, d4, dh_out_all, gh, dm, dct, dh_new, rmask)
    Ix = hx_all.shape[2] - P
    if rmask is not None:
        hx_all = hx_all * rmask                                             # (T, B, P) m * h_{t-1} (Ix = 0)
    dW_cat = d_x_proj.reshape(-1, 4 * H).T @ hx_all.reshape(-1, Ix + P)    # (4H, Ix + P)
    dW_hh = dW_cat[:, Ix:]
    dW_hr = None
    if has_proj:
        dW_hr = dh_out_all.reshape(-1, P).T @ m_all.reshape(-1, H)          # (P, H)
    dxp = d_x_proj.reshape(T * B, 4 * H)
    if nth > 1:
        db = db_rows.sum(axis=0)                                            # (4H,)
    else:
        dx = workspace.empty((T, B, I), dt)
        np.matmul(dxp, W_ih, out=dx.reshape(T * B, -1))                     # (T, B, I)
        db = dxp.sum(axis=0)
    dW_ih = dW_cat[:, :Ix] if Ix else dxp.T @ cache.x.reshape(T * B, I)     # (4H, I)
    db = db if w.b_ih is not None else None
    return Grads(dx, (dh, dc), dW_ih, dW_hh, db, db, dW_hr)


@kernel
def _step(x, h, c, W_ih, W_hh, b_ih, b_hh, has_bias):
    """x (B, I), h, c (B, H) -> m, c' (B, H): the two products, then ``lstm_rows.gate_rows``
    (the biases are in the products, so the gate pass gets a zero bias)."""
    B, H = h.shape
    dt = x.dtype
    g2 = np.empty((2, B, 4 * H), dt)                          # x @ W_ih.T + b_ih, h @ W_hh.T + b_hh
    products(x, h, W_ih, W_hh, b_ih, b_hh, has_bias, 4 * H, g2[0], g2[1])
    s = np.empty((5, B, H), dt)                               # c_t (in place), m_t, scratch: distinct arrays vectorise
    s[0] = c
    gate_rows(0, B, 0, g2[0].reshape((B, 4, H)), True, np.zeros((4, H), dt), g2[1].reshape((B, 4, H)), s[0],
              s[2], s[3], s[1], NO_LENGTHS, True, s[4], s[1])
    return s[1], s[0]


def step(x, state, w, options):
    """The contract's one step (no cache). x (B, I), state ``(h, c)``; arrays of one float dtype."""
    if mask_option(options) is not None:                      # a recurrent mask: a one-step forward
        return forward(x[None], w, state, None, False, False, options).state
    W_ih, W_hh, b_ih, b_hh, W_hr, _ = w
    has_bias = b_ih is not None
    if not has_bias:
        b_ih = b_hh = W_ih[0]                                 # (not read)
    m, c = _step(x, state[0], state[1], W_ih, W_hh, b_ih, b_hh, has_bias)
    return (m, c) if W_hr is None else (m @ W_hr.T, c)        # h_t (B, P)
