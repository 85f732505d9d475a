"""GRU (gates r, z, n; both reset forms), compiled: the kernel contract of :mod:`rnnkit.kernels`
for the equations of ``kernels/gru_ref.py`` (``forward``, ``backward``, ``step``; the cache is
``GRUCache``).

The input projection is one GEMM before the loop, ``x_proj = x @ W_ih.T + b`` with
``b = b_ih + [b_hr, b_hz, 0]`` (b_hn stays inside ``r * (.)``), and ``dx``, ``dW_ih`` are two
GEMMs after the backward. Per step, forward with ``reset_after`` (PyTorch): one product
``s = h @ W_hh.T`` (B, 3H) written into the gate store, then the row passes
(``gru_seq.rz_rows``, ``n_rows``: ``r, z = sig(x + s)``, ``n = tanh(x_n + r (s_n + b_hn))``,
``h_t = (1 - z) n + z h``). With ``reset_after=False`` (Cho et al.): ``s = h @ W_hh[:2H].T``
into the r, z blocks, the r, z pass (also ``r * h``), the product ``(r * h) @ W_hn.T`` (B, H)
and the n pass (``n = tanh(x_n + (r h) W_hn^T + b_hn)``). Backward mirrors these products
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
  (weights packed once per call). The elementwise arithmetic is the same code (``gru_seq``);
  only the order of the sums inside the products differs.

``step`` (one step, no cache) is one compiled call: the two products (``_matvec.products``)
and the same ``rz_rows``/``n_rows``. Gate arrays carry a gate axis, (T, B, 3, H).
Measurements: ``benchmarks/results/kernels_notes.md``.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels import _workspace as workspace
from rnnkit.kernels._kind import Forward, Grads
from rnnkit.kernels._recurrent_mask import check_mask, mask_option
from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._gemm import PANEL, pack
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._mask import mask_inplace, mask_into
from rnnkit.kernels.fast._matvec import matvec_rows, products
from rnnkit.kernels.fast._pool import run_rows, shift, split_threads
from rnnkit.kernels.fast.gru_seq import grad_rows, n_rows, reset_rows, rz_rows
from rnnkit.kernels.fast.rnn import NO_LENGTHS, lengths_array
from rnnkit.kernels.fast.rnn_seq import carry_rows
from rnnkit.kernels.gru_ref import GRUCache

__all__ = ["forward", "backward", "step"]


@kernel
def _forward_loop(x4, W_hh, W_rz, W_n, b_hn, h, lens, reverse, reset_after, keep, out,
                  h_prev_all, gates_all, g4_all, s_all, r_ws, sn, rmask, hm):
    """h (B, H): h0 on entry, h_n on exit. gates_all (T, B, 3H) and g4_all (T, B, 3, H) are
    views of one store; without ``keep`` the stores are one scratch step (1, B, ...).
    rmask (B, H): the recurrent mask (None: off), hm (B, H) <- m * h_{t-1}, what the products
    and ``r * h`` read (the carry ``z * h`` reads h)."""
    T, B, _, H = x4.shape
    zero = x4.dtype.type(0.0)
    for k in range(T):
        t = T - 1 - k if reverse else k
        tk = t if keep else 0
        if keep:
            h_prev_all[t] = h
        a2 = gates_all[tk]                                    # (B, 3H)
        hv = h
        if rmask is not None:
            mask_into(h, rmask, hm)
            hv = hm
        if reset_after:
            mm_nt(hv, W_hh, a2, zero)                         # (B, 3H) = h @ W_hh.T
        else:
            mm_nt(hv, W_rz, a2[:, :2 * H], zero)              # (B, 2H) = h @ W_hh[:2H].T
        rz_rows(0, B, x4[t], g4_all[tk], hv, r_ws, reset_after)
        if not reset_after:
            mm_nt(r_ws, W_n, sn, zero)                        # (B, H) = (r * h) @ W_hn.T
        n_rows(0, B, t, x4[t], g4_all[tk], b_hn, r_ws, sn, s_all[tk], reset_after, lens, out[t], h)


@kernel
def _backward_loop(d_out, dh, W_hh, W_rz, W_n, h_prev_all, g4_all, s_all, lens, reverse, reset_after,
                   d_x_proj, d4, d_s_all, ws, ws4, g_ws, dhz, tmp, rmask):
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
            if rmask is not None:
                mask_inplace(tmp, rmask)                      # d(r * m * h) reaches h through m
            reset_rows(0, B, t, tmp, g4_all[t], h_prev_all[t], d4[t], dhz, lens)
            mm_nn(d_x_proj[t][:, :2 * H], W_rz, tmp, zero)    # (B, H) = [dr, dz] @ W_hh[:2H]
        if rmask is not None:
            mask_inplace(tmp, rmask)                          # m * (the products' gradient)
        carry_rows(0, B, t, tmp, dhz, dh, lens)


def _project(x, w):
    """x_proj = x @ W_ih.T + b_ih + [b_hr, b_hz, 0] (T, B, 3H), one GEMM."""
    T, B, I = x.shape
    GH = w.W_ih.shape[0]
    x_proj = workspace.empty((T, B, GH), x.dtype)                 # (T, B, 3H)
    np.matmul(x.reshape(T * B, I), w.W_ih.T, out=x_proj.reshape(T * B, GH))
    if w.b_ih is not None:
        bias = w.b_ih + w.b_hh
        bias[2 * (GH // 3):] = w.b_ih[2 * (GH // 3):]            # b_hn stays inside r * (.)
        x_proj += bias
    return x_proj


def forward(x, w, state0, lengths, reverse, keep, options):
    """The contract's forward (see :mod:`rnnkit.kernels`)."""
    reset_after = bool(options["reset_after"])
    x_proj = _project(x, w)
    dt = x_proj.dtype
    T, B, G3 = x_proj.shape
    H = G3 // 3
    W_hh = np.ascontiguousarray(w.W_hh, dtype=dt)
    b_hn = np.ascontiguousarray(w.b_hh[2 * H:] if w.b_hh is not None else np.zeros(H, dt), dtype=dt)
    h = np.array(state0[0], dtype=dt, copy=True, order="C")   # (B, H), becomes h_n
    out = np.empty((T, B, H), dt)
    Tk = T if keep else 1                                     # one scratch step when not keeping
    h_prev_all = np.empty((Tk, B, H), dt)
    gates_all = np.empty((Tk, B, G3), dt)                     # r, z, n after activation
    s_all = np.empty((Tk, B, H), dt)                          # reset_after: s_n + b_hn; else r * h
    lens = lengths_array(lengths)
    x4, g4_all = x_proj.reshape(T, B, 3, H), gates_all.reshape(Tk, B, 3, H)
    r_ws, sn = np.empty((B, H), dt), np.empty((B, H), dt)
    rmask = check_mask(mask_option(options), B, H, dt)
    nth = split_threads(dt, B, H) if rmask is None else 1    # a recurrent mask runs the serial loop
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.gru_workers import FORWARD, forward_worker

        if reset_after:
            Wp1, Wp2 = pack(W_hh.T), np.zeros((1, H, PANEL), dt)          # (ceil(3H/16), H, 16)
        else:
            Wp1, Wp2 = pack(W_hh[:2 * H].T), pack(W_hh[2 * H:].T)       # (ceil(2H/16), H, 16), (ceil(H/16), ...)
        ctx = FORWARD.build(shift(), reverse=bool(reverse), keep=bool(keep), reset_after=reset_after, x4=x4,
                            Wp1=Wp1, Wp2=Wp2, b_hn=b_hn, h=h, lens=lens, out=out, h_prev_all=h_prev_all,
                            g4_all=g4_all, gates_all=gates_all, s_all=s_all, r_ws=r_ws, sn=sn)
        run_rows(forward_worker.address, ctx, B, nth)
    else:
        _forward_loop(x4, W_hh, W_hh[:2 * H], W_hh[2 * H:], b_hn, h, lens, bool(reverse), reset_after,
                      bool(keep), out, h_prev_all, gates_all, g4_all, s_all, r_ws, sn, rmask,
                      None if rmask is None else np.empty((B, H), dt))
    cache = None
    if keep:
        cache = GRUCache(x, h_prev_all, gates_all.reshape(T, B, 3, H), s_all, lengths, reverse, reset_after, rmask)
    return Forward(out, (h,), cache)


def backward(d_out, d_state, w, cache: GRUCache):
    """The contract's backward."""
    h_prev_all, g4_all, s_all, reset_after = cache.h_prev, cache.gates, cache.s, cache.reset_after
    T, B, H = h_prev_all.shape
    dt = h_prev_all.dtype
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    W_hh = np.ascontiguousarray(w.W_hh, dtype=dt)
    dh_n = d_state[0]
    dh = np.zeros((B, H), dt) if dh_n is None else np.array(dh_n, dtype=dt, copy=True, order="C")
    d_x_proj = np.empty((T, B, 3 * H), dt)
    d4 = d_x_proj.reshape(T, B, 3, H)
    d_s_all = np.empty((T, B, H), dt)                         # gradient of the n-block product
    ws = np.empty((B, 3 * H), dt)
    g_ws, dhz, dh_new = np.empty((B, H), dt), np.empty((B, H), dt), np.empty((B, H), dt)
    lens = lengths_array(cache.lengths)
    rmask = cache.recurrent_mask
    nth = split_threads(dt, B, H) if rmask is None else 1
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.gru_workers import BACKWARD, backward_worker

        if reset_after:
            Wbp1, Wbp2 = pack(W_hh), np.zeros((1, H, PANEL), dt)           # (ceil(H/16), 3H, 16)
        else:
            Wbp1, Wbp2 = pack(W_hh[:2 * H]), pack(W_hh[2 * H:])           # (ceil(H/16), 2H, 16), (.., H, 16)
        ctx = BACKWARD.build(shift(), reverse=bool(cache.reverse), reset_after=bool(reset_after), d_out=d_out, dh=dh,
                             Wbp1=Wbp1, Wbp2=Wbp2, h_prev_all=h_prev_all, g4_all=g4_all, s_all=s_all, lens=lens,
                             d4=d4, d_x_proj=d_x_proj, d_s_all=d_s_all, ws=ws, ws4=ws.reshape(B, 3, H), g_ws=g_ws,
                             dhz=dhz, dh_new=dh_new)
        run_rows(backward_worker.address, ctx, B, nth)
    else:
        _backward_loop(d_out, dh, W_hh, W_hh[:2 * H], W_hh[2 * H:], h_prev_all, g4_all, s_all, lens,
                       bool(cache.reverse), bool(reset_after), d_x_proj, d4, d_s_all, ws, ws.reshape(B, 3, H), g_ws,
                       dhz, dh_new, rmask)
    Hp = (h_prev_all if rmask is None else h_prev_all * rmask).reshape(-1, H)   # (T*B, H) what the products read
    dxp = d_x_proj.reshape(-1, 3 * H)                         # (T*B, 3H)
    dW_hh = np.empty((3 * H, H), dt)
    dW_hh[:2 * H] = dxp[:, :2 * H].T @ Hp
    dW_hh[2 * H:] = d_s_all.reshape(-1, H).T @ (Hp if reset_after else s_all.reshape(-1, H))
    x = cache.x
    I = x.shape[2]
    dW_ih = dxp.T @ x.reshape(T * B, I)                       # (3H, I)
    db_ih = db_hh = None
    if w.b_ih is not None:
        db_ih = dxp.sum(axis=0)                               # (3H,)
        db_hh = db_ih.copy()
        db_hh[2 * H:] = d_s_all.sum(axis=(0, 1))              # b_hn: through r * (.)
    dx = workspace.empty((T, B, I), x.dtype)                  # (T, B, I)
    np.matmul(dxp, w.W_ih, out=dx.reshape(T * B, I))
    return Grads(dx, (dh,), dW_ih, dW_hh, db_ih, db_hh, None)


@kernel
def _step(x, h, W_ih, W_hh, b_ih, b_hh, has_bias, reset_after):
    """x (B, I), h (B, H) -> h' (B, H): the two products, then ``rz_rows`` and ``n_rows`` (b_hn is
    already in the products, so the row passes get a zero bias)."""
    B, H = h.shape
    dt = x.dtype
    gx = np.empty((B, 3 * H), dt)
    gh = np.empty((B, 3 * H), dt)
    products(x, h, W_ih, W_hh, b_ih, b_hh, has_bias, 3 * H if reset_after else 2 * H, gx, gh)
    gx4, gh4 = gx.reshape((B, 3, H)), gh.reshape((B, 3, H))
    h_new = h.copy()                                          # h_{t-1} -> h_t in place
    r_ws, sn, s_t = np.empty((B, H), dt), np.empty((B, H), dt), np.empty((B, H), dt)
    rz_rows(0, B, gx4, gh4, h_new, r_ws, reset_after)
    if not reset_after:
        for b in range(B):                                    # sn = b_hn + (r * h) @ W_hn.T
            for j in range(H):
                sn[b, j] = b_hh[2 * H + j] if has_bias else dt.type(0.0)
            matvec_rows(W_hh, r_ws[b], sn[b], 2 * H, H)
    n_rows(0, B, 0, gx4, gh4, np.zeros(H, dt), r_ws, sn, s_t, reset_after, NO_LENGTHS, np.empty((B, H), dt), h_new)
    return h_new


def step(x, state, w, options):
    """The contract's one step (no cache). x (B, I), state ``(h,)``; arrays of one float dtype."""
    if mask_option(options) is not None:                      # a recurrent mask: a one-step forward
        return forward(x[None], w, state, None, False, False, options).state
    W_ih, W_hh, b_ih, b_hh, _, _ = w
    has_bias = b_ih is not None
    if not has_bias:
        b_ih = b_hh = W_ih[0]                                 # (not read)
    return (_step(x, state[0], W_ih, W_hh, b_ih, b_hh, has_bias, bool(options["reset_after"])),)
