"""GRU (gates r, z, n; both reset forms), compiled: same signatures and results as
``kernels/gru_ref.py``.

Per step, forward with ``reset_after`` (PyTorch): one product ``s = h @ W_hh.T`` (B, 3H)
written into the gate store, then the row passes (``gru_seq.rz_rows``, ``n_rows``:
``r, z = sig(x + s)``, ``n = tanh(x_n + r (s_n + b_hn))``, ``h_t = (1 - z) n + z h``). With
``reset_after=False`` (Cho et al.): ``s = h @ W_hh[:2H].T`` into the r, z blocks, the r, z
pass (also ``r * h``), the product ``(r * h) @ W_hn.T`` (B, H) and the n pass
(``n = tanh(x_n + (r h) W_hn^T + b_hn)``). Backward mirrors these products
(``[dr, dz, ds_n] @ W_hh``, or ``dn @ W_hn`` then ``[dr, dz] @ W_hh[:2H]``) around the
gradient passes of ``gru_seq``; ``dW_hh`` is two GEMMs over all time steps after the loop.

Two ways to run the loop:
- serial (float64, OpenBLAS at one thread, or B * H under 512 cells): the loops below, the whole
  sequence in one compiled call, the per-step products by OpenBLAS (on strided blocks in
  place);
- row-split (float32 when ``_pool.threads_for`` gives 2 or more threads): the batch rows
  are split over OpenBLAS's own threads and each thread runs every step of its rows
  (``gru_seq.forward_rows``/``backward_rows``, workers in ``gru_workers``), with no
  synchronisation until the end, its products by the packed-weight kernel of ``_gemm``
  (weights packed once per call). Measured on 2 cores (idle) against the serial loop, the
  layer in float32: inference 1.47x faster on S, 1.35x on M, 1.17x on L, 1.12x on XL;
  training (forward + backward) 1.34x, 1.28x, 1.17x, 1.09x. The elementwise arithmetic is
  the same code (``gru_seq``); only the order of the sums inside the products differs.

Gate arrays carry a gate axis, (T, B, 3, H).
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._gemm import PANEL, pack
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._pool import context, run_rows, split_threads
from rnnkit.kernels.fast.gru_seq import grad_rows, n_rows, reset_rows, rz_rows
from rnnkit.kernels.fast.rnn import _lengths
from rnnkit.kernels.fast.rnn_seq import carry_rows


@kernel
def _forward_loop(x4, W_hh, W_rz, W_n, b_hn, h, lens, reverse, reset_after, keep, out,
                  h_prev_all, gates_all, g4_all, s_all, r_ws, sn):
    """h (B, H): h0 on entry, h_n on exit. gates_all (T, B, 3H) and g4_all (T, B, 3, H) are
    views of one store; without ``keep`` the stores are one scratch step (1, B, ...)."""
    T, B, _, H = x4.shape
    zero = x4.dtype.type(0.0)
    for k in range(T):
        t = T - 1 - k if reverse else k
        tk = t if keep else 0
        if keep:
            h_prev_all[t] = h
        a2 = gates_all[tk]                                    # (B, 3H)
        if reset_after:
            mm_nt(h, W_hh, a2, zero)                          # (B, 3H) = h @ W_hh.T
        else:
            mm_nt(h, W_rz, a2[:, :2 * H], zero)               # (B, 2H) = h @ W_hh[:2H].T
        rz_rows(0, B, x4[t], g4_all[tk], h, r_ws, reset_after)
        if not reset_after:
            mm_nt(r_ws, W_n, sn, zero)                        # (B, H) = (r * h) @ W_hn.T
        n_rows(0, B, t, x4[t], g4_all[tk], b_hn, r_ws, sn, s_all[tk], reset_after, lens, out[t], h)


@kernel
def _backward_loop(d_out, dh, W_hh, W_rz, W_n, h_prev_all, g4_all, s_all, lens, reverse, reset_after,
                   d_x_proj, d4, d_s_all, ws, ws4, g_ws, dhz, tmp):
    """dh (B, H): dL/dh_n on entry, dL/dh0 on exit. d_x_proj (T, B, 3H) and d4 (T, B, 3, H)
    are views of one array; ws (B, 3H) and ws4 (B, 3, H) of one workspace."""
    T, B, _, H = d4.shape
    zero = d_out.dtype.type(0.0)
    for k in range(T):
        t = k if reverse else T - 1 - k
        grad_rows(0, B, t, d_out[t], dh, g4_all[t], h_prev_all[t], s_all[t], d4[t], d_s_all[t], ws4, g_ws, dhz,
                  lens, reset_after)
        if reset_after:
            mm_nn(ws, W_hh, tmp, zero)                        # (B, H) = [dr, dz, ds_n] @ W_hh
        else:
            mm_nn(d_x_proj[t][:, 2 * H:], W_n, tmp, zero)     # (B, H) = d(r * h) = dn @ W_hn
            reset_rows(0, B, t, tmp, g4_all[t], h_prev_all[t], d4[t], dhz, lens)
            mm_nn(d_x_proj[t][:, :2 * H], W_rz, tmp, zero)    # (B, H) = [dr, dz] @ W_hh[:2H]
        carry_rows(0, B, t, tmp, dhz, dh, lens)


def gru_forward(x_proj, W_hh, b_hn, h0, lengths, reverse, reset_after, keep):
    """See :func:`rnnkit.kernels.gru_ref.gru_forward`. The cache is the reference's tuple,
    except that the gates are stored as ``(T, B, 3, H)``."""
    x_proj = np.ascontiguousarray(x_proj)
    dt = x_proj.dtype
    T, B, G3 = x_proj.shape
    H = G3 // 3
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    b_hn = np.ascontiguousarray(b_hn, dtype=dt)
    h = np.array(h0, dtype=dt, copy=True, order="C")          # (B, H), becomes h_n
    out = np.empty((T, B, H), dt)
    Tk = T if keep else 1                                     # one scratch step when not keeping
    h_prev_all = np.empty((Tk, B, H), dt)
    gates_all = np.empty((Tk, B, G3), dt)                     # r, z, n after activation
    s_all = np.empty((Tk, B, H), dt)                          # reset_after: s_n + b_hn; else r * h
    lens = _lengths(lengths)
    x4, g4_all = x_proj.reshape(T, B, 3, H), gates_all.reshape(Tk, B, 3, H)
    r_ws, sn = np.empty((B, H), dt), np.empty((B, H), dt)
    nth = split_threads(dt, B, H)
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.gru_workers import forward_worker

        if reset_after:
            Wp1, Wp2 = pack(W_hh.T), np.zeros((1, H, PANEL), dt)          # (ceil(3H/16), H, 16)
        else:
            Wp1, Wp2 = pack(W_hh[:2 * H].T), pack(W_hh[2 * H:].T)       # (ceil(2H/16), H, 16), (ceil(H/16), ...)
        scalars = (T, B, H, Tk, lens.shape[0], bool(reverse), bool(keep), bool(reset_after), Wp1.shape[0],
                   Wp2.shape[0], Wp1.shape[1])
        arrays = (x4, Wp1, Wp2, b_hn, h, lens, out, h_prev_all, g4_all, s_all, r_ws, sn)
        run_rows(forward_worker.address, context(scalars, arrays), B, nth)
    else:
        _forward_loop(x4, W_hh, W_hh[:2 * H], W_hh[2 * H:], b_hn, h, lens, bool(reverse), bool(reset_after),
                      bool(keep), out, h_prev_all, gates_all, g4_all, s_all, r_ws, sn)
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
    d4 = d_x_proj.reshape(T, B, 3, H)
    d_s_all = np.empty((T, B, H), dt)                         # gradient of the n-block product
    ws = np.empty((B, 3 * H), dt)
    g_ws, dhz, dh_new = np.empty((B, H), dt), np.empty((B, H), dt), np.empty((B, H), dt)
    lens = _lengths(lengths)
    nth = split_threads(dt, B, H)
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.gru_workers import backward_worker

        if reset_after:
            Wbp1, Wbp2 = pack(W_hh), np.zeros((1, H, PANEL), dt)           # (ceil(H/16), 3H, 16)
        else:
            Wbp1, Wbp2 = pack(W_hh[:2 * H]), pack(W_hh[2 * H:])           # (ceil(H/16), 2H, 16), (.., H, 16)
        scalars = (T, B, H, T, lens.shape[0], bool(reverse), True, bool(reset_after), Wbp1.shape[0],
                   Wbp2.shape[0], Wbp1.shape[1])
        arrays = (d_out, dh, Wbp1, Wbp2, h_prev_all, g4_all, s_all, lens, d4, d_s_all, ws, g_ws, dhz, dh_new)
        run_rows(backward_worker.address, context(scalars, arrays), B, nth)
    else:
        _backward_loop(d_out, dh, W_hh, W_hh[:2 * H], W_hh[2 * H:], h_prev_all, g4_all, s_all, lens, bool(reverse),
                       bool(reset_after), d_x_proj, d4, d_s_all, ws, ws.reshape(B, 3, H), g_ws, dhz, dh_new)
    Hp = h_prev_all.reshape(-1, H)                            # (T*B, H)
    dxp = d_x_proj.reshape(-1, 3 * H)                         # (T*B, 3H)
    dW_hh = np.empty((3 * H, H), dt)
    dW_hh[:2 * H] = dxp[:, :2 * H].T @ Hp
    dW_hh[2 * H:] = d_s_all.reshape(-1, H).T @ (Hp if reset_after else s_all.reshape(-1, H))
    db_hn = d_s_all.sum(axis=(0, 1))
    return d_x_proj, dh, dW_hh, db_hn
