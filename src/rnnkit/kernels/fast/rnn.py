"""Vanilla RNN, compiled: the same signatures and results as ``kernels/rnn_ref.py``.

Per step: one product ``s = h_{t-1} @ W_hh.T`` written into ``out[t]``, then one fused
pass ``h_t = f(x_proj_t + s)`` in place (``rnn_seq.step_rows``). Backward: one fused pass
``da = (d_out_t + g) f'(h_t)`` (``rnn_seq.grad_rows``) and one product ``g = da @ W_hh``
per step; ``dW_hh`` is one GEMM over all steps after the loop.

Two ways to run the loop:
- serial (float64, OpenBLAS at one thread, or B * H under 512 cells): the loops below, the whole
  sequence in one compiled call, the per-step products by OpenBLAS (no Python in between,
  see ``_blas``);
- row-split (float32 when ``_pool.threads_for`` gives 2 or more threads): the batch rows
  are split over OpenBLAS's own threads and each thread runs every step of its rows
  (``rnn_seq.forward_rows``/``backward_rows``, workers in ``rnn_workers``), with no
  synchronisation until the end, its products by the packed-weight kernel of ``_gemm``.
  Measured on 2 cores (idle) against the serial loop, the layer in float32: inference 1.24x
  faster on S, 1.48x on M, 1.20x on L, 1.18x on XL; training (forward + backward) 1.17x,
  1.30x, 1.13x, 1.10x. The elementwise arithmetic is the same code (``rnn_seq``); only the
  order of the sums inside the products differs.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels.fast import _pool
from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._gemm import pack
from rnnkit.kernels.fast._jit import FASTMATH, kernel
from rnnkit.kernels.fast._pool import run_rows
from rnnkit.kernels.fast.rnn_seq import carry_rows, grad_rows, step_rows

_ACT_CODES = {"tanh": 0, "relu": 1, "sigmoid": 2}
NO_LENGTHS = np.zeros(0, np.int64)
CTX_SIZE = 40
# the cfunc options of the pool workers (those of ``lstm_workers``)
WORKER_OPTS = {"nopython": True, "cache": True, "error_model": "numpy", "fastmath": FASTMATH}


@kernel
def _forward_loop(x_proj, W_hh, h, lens, reverse, act, keep, out, h_prev_all):
    """h (B, H) holds h0 on entry and h_n on exit; out (T, B, H) also serves as workspace."""
    T, B, H = x_proj.shape
    zero = x_proj.dtype.type(0.0)
    for k in range(T):
        t = T - 1 - k if reverse else k
        if keep:
            h_prev_all[t] = h
        mm_nt(h, W_hh, out[t], zero)                          # (B, H) = h_{t-1} @ W_hh.T
        step_rows(0, B, t, x_proj[t], out[t], act, lens, h)


@kernel
def _backward_loop(d_out, dh, W_hh, h_prev_all, h_last, lens, reverse, act, d_x_proj, tmp):
    """dh (B, H) holds dL/dh_n on entry and dL/dh0 on exit; fills d_x_proj (T, B, H).

    h_t, whose f'(a_t) is needed, is the state before the next step in processing order,
    ``h_prev_all[t + 1]`` (``[t - 1]`` in reverse), or ``h_last`` after the final step; on a
    sequence's last real step that is its carried final state, equal to h_t.
    """
    T, B, H = d_x_proj.shape
    zero = d_x_proj.dtype.type(0.0)
    for k in range(T):
        t = k if reverse else T - 1 - k
        nxt = t - 1 if reverse else t + 1
        h_t = h_last if (nxt < 0 or nxt >= T) else h_prev_all[nxt]      # (B, H)
        grad_rows(0, B, t, d_out[t], dh, h_t, act, d_x_proj[t], lens)
        mm_nn(d_x_proj[t], W_hh, tmp, zero)                   # (B, H) = da @ W_hh
        carry_rows(0, B, t, tmp, None, dh, lens)


def _context(scalars, arrays):
    """The int64 context array of a pool worker: ``[0]`` the shift of ``_pool``, scalars from
    ``[1]``, array addresses from ``[16]`` (the layout of ``lstm._context``, which is not
    used here because it loads the LSTM workers). The GRU uses it too."""
    ctx = np.zeros(CTX_SIZE, np.int64)
    ctx[0] = _pool.shift()
    ctx[1:1 + len(scalars)] = [int(v) for v in scalars]
    for i, arr in enumerate(arrays):
        assert arr.flags.c_contiguous
        ctx[16 + i] = arr.ctypes.data
    return ctx


def _pool_threads(dt, B, H):
    """Threads for the row-split sequence (float32 only; float64 takes the serial kernel)."""
    return _pool.threads_for(B, B * H) if dt == np.float32 else 1


def _lengths(lengths):
    return NO_LENGTHS if lengths is None else np.ascontiguousarray(lengths, dtype=np.int64)


def rnn_forward(x_proj, W_hh, h0, lengths, reverse, activation, keep):
    """See :func:`rnnkit.kernels.rnn_ref.rnn_forward`; the cache is the same tuple."""
    x_proj = np.ascontiguousarray(x_proj)
    dt = x_proj.dtype
    T, B, H = x_proj.shape
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    h = np.array(h0, dtype=dt, copy=True, order="C")         # (B, H), becomes h_n
    out = np.empty_like(x_proj)                               # (T, B, H)
    h_prev_all = np.empty_like(x_proj) if keep else x_proj[:0]
    lens = _lengths(lengths)
    act = _ACT_CODES[activation]
    nth = _pool_threads(dt, B, H)
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.rnn_workers import forward_worker

        Wp = pack(W_hh.T)                                     # (ceil(H/16), H, 16)
        scalars = (T, B, H, h_prev_all.shape[0], lens.shape[0], bool(reverse), bool(keep), act, Wp.shape[0])
        arrays = (x_proj, Wp, h, lens, out, h_prev_all)
        run_rows(forward_worker.address, _context(scalars, arrays), B, nth)
    else:
        _forward_loop(x_proj, W_hh, h, lens, bool(reverse), act, bool(keep), out, h_prev_all)
    # h_t for f'(a_t) is derived from h_prev_all and h_n in backward: the cache holds no array the
    # caller gets (out, h_n are theirs to write into)
    cache = (h_prev_all, h.copy(), lengths, reverse, activation) if keep else None
    return out, h, cache


def rnn_backward(d_out, dh_n, W_hh, cache):
    """See :func:`rnnkit.kernels.rnn_ref.rnn_backward`."""
    h_prev_all, h_last, lengths, reverse, activation = cache
    T, B, H = h_prev_all.shape
    dt = h_prev_all.dtype
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh = np.zeros((B, H), dt) if dh_n is None else np.array(dh_n, dtype=dt, copy=True, order="C")
    W_hh = np.ascontiguousarray(W_hh, dtype=dt)
    d_x_proj = np.empty_like(h_prev_all)                      # (T, B, H)
    lens = _lengths(lengths)
    act = _ACT_CODES[activation]
    dh_new = np.empty((B, H), dt)
    nth = _pool_threads(dt, B, H)
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.rnn_workers import backward_worker

        Wbp = pack(W_hh)                                      # (ceil(H/16), H, 16)
        scalars = (T, B, H, T, lens.shape[0], bool(reverse), True, act, Wbp.shape[0])
        arrays = (d_out, dh, Wbp, h_prev_all, np.ascontiguousarray(h_last, dtype=dt), lens, d_x_proj, dh_new)
        run_rows(backward_worker.address, _context(scalars, arrays), B, nth)
    else:
        _backward_loop(d_out, dh, W_hh, h_prev_all, h_last, lens, bool(reverse), act, d_x_proj, dh_new)
    dW_hh = d_x_proj.reshape(-1, H).T @ h_prev_all.reshape(-1, H)   # (H, H), one GEMM
    return d_x_proj, dh, dW_hh
