"""Vanilla RNN, compiled: the same signatures and results as ``kernels/rnn_ref.py`` (the
cache tuple has one more element, ``hx_all``; a cache goes back to the kernels that made it).

Per step: one product written into ``out[t]``, then one fused pass
``h_t = f(s + b (+ x_proj_t))`` in place (``rnn_seq.step_rows``; the layer passes
``b = b_ih + b_hh`` as ``bias`` rather than adding it to x_proj). Backward: one fused pass
``da = (d_out_t + g) f'(h_t)`` (``rnn_seq.grad_rows``) and one product ``g = da @ W_hh``
per step; the weight gradients are one GEMM over all steps after the loop.

Two ways to run the loop:
- serial (float64, OpenBLAS at one thread, or B * H under 512 cells): the loops below, the whole
  sequence in one compiled call, the per-step products ``s = h_{t-1} @ W_hh.T`` by OpenBLAS
  (no Python in between, see ``_blas``); called with ``x`` and ``W_ih`` (the layer's call), it
  first computes ``x_proj = x @ W_ih.T`` in one GEMM, and ``dx = d_x_proj @ W_ih`` and ``db``
  after the backward;
- row-split (float32 when ``_pool.threads_for`` gives 2 or more threads): the batch rows
  are split over OpenBLAS's own threads and each thread runs every step of its rows
  (``rnn_seq.forward_rows``/``backward_rows``, workers in ``rnn_workers``), with no
  synchronisation until the end, its products by the packed-weight kernel of ``_gemm``.
  Called with ``x`` and ``W_ih``, as the LSTM:

      s_t = [x_t | h_{t-1}] @ [W_ih | W_hh].T     (gemm_packed2; no (T, B, H) x_proj array)
      dx_t = da_t @ W_ih ; db += da_t             (in the backward loop, while da_t is in cache)
      [dW_ih | dW_hh] = d_x_proj.T @ hx_all       (one GEMM; hx_all (T, B, I + H) = [x_t | h_{t-1}])

  Measured on 2 cores (idle, ``rnnkit bench --cells RNN``, two runs each) against the same
  path with x_proj made by the layer and dx, db, dW_ih by separate GEMMs: training
  S 0.52-0.55 -> 0.51 ms, M 3.2-3.3 -> 3.0 ms, L 24.7 -> 24.2-25.0 ms, XL 96-99 -> 89-90 ms
  (80-82% -> 88% of the float32 GEMM rate); inference S 0.20 -> 0.16, M 1.1 -> 0.9,
  L 8.0 -> 7.7, XL 30.5 -> 29.2 ms. (The row split itself, against the serial loop, was
  1.1x-1.5x.) The elementwise arithmetic is the same code (``rnn_seq``); only the order of
  the sums inside the products differs.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_shape
from rnnkit.kernels import _workspace as workspace
from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._gemm import PANEL, pack, pack_transposed
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._pool import context, run_rows, split_threads
from rnnkit.kernels.fast.rnn_seq import carry_rows, grad_rows, step_rows

_ACT_CODES = {"tanh": 0, "relu": 1, "sigmoid": 2}
NO_LENGTHS = np.zeros(0, np.int64)


@kernel
def _forward_loop(x_proj, bias, W_hh, h, lens, reverse, act, keep, out, h_prev_all):
    """h (B, H) holds h0 on entry and h_n on exit; out (T, B, H) also serves as workspace;
    bias (H,) is added to x_proj in the step pass."""
    T, B, H = x_proj.shape
    zero = x_proj.dtype.type(0.0)
    for k in range(T):
        t = T - 1 - k if reverse else k
        if keep:
            h_prev_all[t] = h
        mm_nt(h, W_hh, out[t], zero)                          # (B, H) = h_{t-1} @ W_hh.T
        step_rows(0, B, t, x_proj[t], True, bias, out[t], act, lens, h)


@kernel
def _backward_loop(d_out, dh, W_hh, hx_all, h_last, lens, reverse, act, d_x_proj, tmp):
    """dh (B, H) holds dL/dh_n on entry and dL/dh0 on exit; fills d_x_proj (T, B, H).

    h_t, whose f'(a_t) is needed, is the state before the next step in processing order,
    ``h_prev_all[t + 1]`` (``[t - 1]`` in reverse), or ``h_last`` after the final step; on a
    sequence's last real step that is its carried final state, equal to h_t. ``h_prev_all``
    is the last H columns of hx_all (T, B, I + H) (I = 0 unless the forward kept x_t too).
    """
    T, B, H = d_x_proj.shape
    Ix = hx_all.shape[2] - H
    zero = d_x_proj.dtype.type(0.0)
    for k in range(T):
        t = k if reverse else T - 1 - k
        nxt = t - 1 if reverse else t + 1
        last = nxt < 0 or nxt >= T
        h_t = h_last if last else hx_all[nxt]                # (B, I + H): h_t in the last H columns
        grad_rows(0, B, t, d_out[t], dh, h_t, 0 if last else Ix, act, d_x_proj[t], lens)
        mm_nn(d_x_proj[t], W_hh, tmp, zero)                   # (B, H) = da @ W_hh
        carry_rows(0, B, t, tmp, None, dh, lens)


def _lengths(lengths):
    return NO_LENGTHS if lengths is None else np.ascontiguousarray(lengths, dtype=np.int64)


def rnn_forward(x_proj, W_hh, h0, lengths, reverse, activation, keep, bias=None, x=None, W_ih=None):
    """See :func:`rnnkit.kernels.rnn_ref.rnn_forward`. ``bias`` (H,) or None is added in the
    step pass. With ``x_proj=None``, ``x`` (T, B, I) and ``W_ih`` (H, I) are given instead:
    the row-split path does the input projection inside its step products (no (T, B, H)
    x_proj array is written) and keeps ``[x_t | h_{t-1}]``; the serial path computes x_proj
    first. The cache is the reference's tuple plus ``hx_all`` (T, B, I + H), whose last H
    columns are ``h_prev_all`` (I = 0 unless the row-split forward did the projection)."""
    fused = x_proj is None
    if fused:
        x = np.ascontiguousarray(x)
        dt = x.dtype
        T, B, _ = x.shape
        H = W_ih.shape[0]
    else:
        x_proj = np.ascontiguousarray(x_proj)
        dt = x_proj.dtype
        T, B, H = x_proj.shape
    if fused:                                 # the packed product reads by these shapes: check them
        check_shape("x", x, (T, B, np.shape(W_ih)[1]))
    check_shape("W_hh", np.asarray(W_hh), (H, H))
    check_shape("h0", np.asarray(h0), (B, H))
    nth = split_threads(dt, B, H)
    if fused and nth == 1:
        x_proj = workspace.empty((T, B, H), dt)
        np.matmul(x.reshape(T * B, -1), np.asarray(W_ih, dtype=dt).T, out=x_proj.reshape(T * B, H))
        fused = False
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    bias = np.zeros(H, dt) if bias is None else np.ascontiguousarray(bias, dtype=dt)
    h = np.array(h0, dtype=dt, copy=True, order="C")         # (B, H), becomes h_n
    out = workspace.empty((T, B, H), dt)
    Ix = x.shape[2] if (fused and keep) else 0                # [x_t | h_{t-1}] kept for one dW GEMM
    hx_all = workspace.empty((T if keep else 0, B, Ix + H), dt)
    h_prev_all = hx_all[:, :, Ix:] if Ix else hx_all          # (T, B, H)
    lens = _lengths(lengths)
    act = _ACT_CODES[activation]
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.rnn_workers import forward_worker

        if fused:                                             # (ceil(H/16), I + H, 16)
            Wp = pack_transposed(W_ih, W_hh)
            x3, xp = x, out                                   # (xp: not read)
        else:                                                 # (ceil(H/16), H, 16)
            Wp = pack_transposed(W_hh, W_hh[:, :0])
            x3, xp = np.zeros((T, B, 0), dt), x_proj
        scalars = (T, B, H, hx_all.shape[0], lens.shape[0], bool(reverse), bool(keep), act, Wp.shape[0],
                   x3.shape[2], fused, hx_all.shape[2])
        arrays = (xp, Wp, h, lens, out, hx_all, bias, x3)
        run_rows(forward_worker.address, context(scalars, arrays), B, nth)
    else:
        _forward_loop(x_proj, bias, W_hh, h, lens, bool(reverse), act, bool(keep), out, h_prev_all)
    # h_t for f'(a_t) is derived from h_prev_all and h_n in backward: the cache holds no array the
    # caller gets (out, h_n are theirs to write into)
    cache = (h_prev_all, h.copy(), lengths, reverse, activation, hx_all) if keep else None
    return out, h, cache


def rnn_backward(d_out, dh_n, W_hh, cache, W_ih=None):
    """See :func:`rnnkit.kernels.rnn_ref.rnn_backward` (with ``W_ih``: also ``dx`` and ``db``,
    made inside the loop on the row-split path, and ``dW_ih`` when the forward kept
    ``[x_t | h_{t-1}]``, else None: ``[dW_ih | dW_hh]`` is then one GEMM)."""
    h_prev_all, h_last, lengths, reverse, activation, hx_all = cache
    T, B, H = h_prev_all.shape
    Ix = hx_all.shape[2] - H
    dt = h_prev_all.dtype
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh = np.zeros((B, H), dt) if dh_n is None else np.array(dh_n, dtype=dt, copy=True, order="C")
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    h_last = np.ascontiguousarray(h_last, dtype=dt)
    d_x_proj = workspace.empty((T, B, H), dt)
    lens = _lengths(lengths)
    act = _ACT_CODES[activation]
    dh_new = np.empty((B, H), dt)
    nth = split_threads(dt, B, H)
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.rnn_workers import backward_worker

        Wbp = pack(W_hh)                                      # (ceil(H/16), H, 16)
        with_x = W_ih is not None
        I = W_ih.shape[1] if with_x else 0
        Wip = pack(np.asarray(W_ih, dtype=dt)) if with_x else np.zeros((1, H, PANEL), dt)   # (ceil(I/16), H, 16)
        dx = workspace.empty((T, B, I), dt)
        db_rows = np.zeros((B, H), dt)
        scalars = (T, B, H, T, lens.shape[0], bool(reverse), True, act, Wbp.shape[0], Ix, with_x, Wip.shape[0], I)
        arrays = (d_out, dh, Wbp, hx_all, h_last, lens, d_x_proj, dh_new, Wip, dx, db_rows)
        run_rows(backward_worker.address, context(scalars, arrays), B, nth)
    else:
        _backward_loop(d_out, dh, W_hh, hx_all, h_last, lens, bool(reverse), act, d_x_proj, dh_new)
    dW_cat = d_x_proj.reshape(-1, H).T @ hx_all.reshape(-1, Ix + H)       # (H, Ix + H), one GEMM
    dW_hh, dW_ih = dW_cat[:, Ix:], (dW_cat[:, :Ix] if Ix else None)
    if W_ih is None:
        return d_x_proj, dh, dW_hh
    if nth > 1:
        db = db_rows.sum(axis=0)                                          # (H,)
    else:
        dxp = d_x_proj.reshape(T * B, H)
        dx = workspace.empty((T, B, W_ih.shape[1]), dt)
        np.matmul(dxp, np.asarray(W_ih, dtype=dt), out=dx.reshape(T * B, -1))    # (T, B, I)
        db = dxp.sum(axis=0)
    return d_x_proj, dh, dW_hh, dx, db, dW_ih
