"""Vanilla RNN, compiled: the kernel contract of :mod:`rnnkit.kernels` for the equations of
``kernels/rnn_ref.py`` (``forward``, ``backward``, ``step``; the cache is ``RNNCache``).

Per step: one product written into ``out[t]``, then one fused pass ``h_t = f(s + b (+ x_proj_t))``
in place (``rnn_seq.step_rows``, with ``b = b_ih + b_hh``). Backward: one fused pass
``da = (d_out_t + g) f'(h_t)`` (``rnn_seq.grad_rows``) and one product ``g = da @ W_hh`` per
step; the weight gradients are one GEMM over all steps after the loop.

Two ways to run the loop:
- serial (float64, OpenBLAS at one thread, or B * H under 512 cells): ``x_proj = x @ W_ih.T``
  first (one GEMM), then the loops below, the whole sequence in one compiled call, the
  per-step products ``s = h_{t-1} @ W_hh.T`` by OpenBLAS (no Python in between, see ``_blas``);
  ``dx = d_x_proj @ W_ih``, ``db`` and ``dW_ih = d_x_proj.T @ x`` after the backward;
- row-split (float32 when ``_pool.threads_for`` gives 2 or more threads): the batch rows
  are split over OpenBLAS's own threads and each thread runs every step of its rows
  (``rnn_seq.forward_rows``/``backward_rows``, workers in ``rnn_workers``), with no
  synchronisation until the end, its products by the packed-weight kernel of ``_gemm``, the
  input projection inside them::

      s_t = [x_t | h_{t-1}] @ [W_ih | W_hh].T     (gemm_packed2; no (T, B, H) x_proj array)
      dx_t = da_t @ W_ih ; db += da_t             (in the backward loop, while da_t is in cache)
      [dW_ih | dW_hh] = d_x_proj.T @ hx_all       (one GEMM; hx_all (T, B, I + H) = [x_t | h_{t-1}])

  The elementwise arithmetic is the same code (``rnn_seq``); only the order of the sums inside
  the products differs.

``step`` (one step, no cache: streaming inference) is one compiled call: the two products
(``_matvec.products``) and the same ``step_rows``. Measurements: ``benchmarks/results/kernels_notes.md``.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_shape
from rnnkit.kernels import _workspace as workspace
from rnnkit.kernels._kind import Forward, Grads
from rnnkit.kernels._recurrent_mask import check_mask, mask_option
from rnnkit.kernels.fast._blas import mm_nn, mm_nt
from rnnkit.kernels.fast._gemm import pack, pack_transposed
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._mask import mask_inplace, mask_into
from rnnkit.kernels.fast._matvec import products
from rnnkit.kernels.fast._pool import run_rows, shift, split_threads
from rnnkit.kernels.fast.rnn_seq import carry_rows, grad_rows, step_rows
from rnnkit.kernels.rnn_ref import RNNCache

__all__ = ["forward", "backward", "step", "ACT_CODES", "lengths_array"]

ACT_CODES = {"tanh": 0, "relu": 1, "sigmoid": 2}       # the ``act`` of rnn_seq
NO_LENGTHS = np.zeros(0, np.int64)


@kernel
def _forward_loop(x_proj, bias, W_hh, h, lens, reverse, act, keep, out, h_prev_all, rmask, hm):
    """h (B, H) holds h0 on entry and h_n on exit; out (T, B, H) also serves as workspace;
    bias (H,) is added to x_proj in the step pass. rmask (B, H) the recurrent mask (None: off;
    hm (B, H) its workspace)."""
    T, B, H = x_proj.shape
    zero = x_proj.dtype.type(0.0)
    for k in range(T):
        t = T - 1 - k if reverse else k
        if keep:
            h_prev_all[t] = h
        if rmask is None:
            mm_nt(h, W_hh, out[t], zero)                      # (B, H) = h_{t-1} @ W_hh.T
        else:
            mask_into(h, rmask, hm)
            mm_nt(hm, W_hh, out[t], zero)                     # (B, H) = (m * h_{t-1}) @ W_hh.T
        step_rows(0, B, t, x_proj[t], True, bias, out[t], act, lens, h)


@kernel
def _backward_loop(d_out, dh, W_hh, hx_all, h_last, lens, reverse, act, d_x_proj, tmp, rmask):
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
        if rmask is not None:
            mask_inplace(tmp, rmask)                          # m * (da @ W_hh)
        carry_rows(0, B, t, tmp, None, dh, lens)


def lengths_array(lengths):
    """``lengths`` as the kernels' int64 array, empty for "every sequence is full"."""
    return NO_LENGTHS if lengths is None else np.ascontiguousarray(lengths, dtype=np.int64)


def forward(x, w, state0, lengths, reverse, keep, options):
    """The contract's forward (see :mod:`rnnkit.kernels`); bias b_ih + b_hh is added in the step pass."""
    x = np.ascontiguousarray(x)
    dt = x.dtype
    T, B, _ = x.shape
    W_ih = w.W_ih
    H = W_ih.shape[0]
    check_shape("x", x, (T, B, np.shape(W_ih)[1]))     # the packed product reads by these shapes
    check_shape("W_hh", np.asarray(w.W_hh), (H, H))
    check_shape("h0", np.asarray(state0[0]), (B, H))
    rmask = check_mask(mask_option(options), B, H, dt)
    nth = split_threads(dt, B, H) if rmask is None else 1    # a recurrent mask runs the serial loop
    if nth == 1:
        x_proj = workspace.empty((T, B, H), dt)
        np.matmul(x.reshape(T * B, -1), np.asarray(W_ih, dtype=dt).T, out=x_proj.reshape(T * B, H))
    W_hh = np.ascontiguousarray(w.W_hh, dtype=dt)
    bias = np.zeros(H, dt) if w.b_ih is None else np.ascontiguousarray(w.b_ih + w.b_hh, dtype=dt)
    h = np.array(state0[0], dtype=dt, copy=True, order="C")  # (B, H), becomes h_n
    out = workspace.empty((T, B, H), dt)
    Ix = x.shape[2] if (nth > 1 and keep) else 0             # [x_t | h_{t-1}] kept for one dW GEMM
    hx_all = workspace.empty((T if keep else 0, B, Ix + H), dt)
    h_prev_all = hx_all[:, :, Ix:] if Ix else hx_all          # (T, B, H)
    lens = lengths_array(lengths)
    act = ACT_CODES[options["nonlinearity"]]
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.rnn_workers import FORWARD, forward_worker

        ctx = FORWARD.build(shift(), reverse=bool(reverse), keep=bool(keep), act=act, x=x,
                            Wp=pack_transposed(W_ih, W_hh), h=h, lens=lens, out=out, hx_all=hx_all, bias=bias)
        run_rows(forward_worker.address, ctx, B, nth)
    else:
        _forward_loop(x_proj, bias, W_hh, h, lens, bool(reverse), act, bool(keep), out, h_prev_all, rmask,
                      None if rmask is None else np.empty((B, H), dt))
    # h_t for f'(a_t) is derived from h_prev and h_n in backward: the cache holds no array the
    # caller gets (out, h_n are theirs to write into)
    cache = None
    if keep:
        cache = RNNCache(x, h_prev_all, h.copy(), hx_all if Ix else None, lengths, reverse, options["nonlinearity"],
                         rmask)
    return Forward(out, (h,), cache)


def backward(d_out, d_state, w, cache: RNNCache):
    """The contract's backward. On the row-split path dx and db are made inside the loop, and
    ``[dW_ih | dW_hh]`` is one GEMM when the forward kept ``[x_t | h_{t-1}]``."""
    h_prev_all, h_last = cache.h_prev, cache.h_n
    hx_all = h_prev_all if cache.hx is None else cache.hx     # (T, B, Ix + H)
    T, B, H = h_prev_all.shape
    Ix = hx_all.shape[2] - H
    dt = h_prev_all.dtype
    d_out = np.ascontiguousarray(d_out, dtype=dt)
    dh_n = d_state[0]
    dh = np.zeros((B, H), dt) if dh_n is None else np.array(dh_n, dtype=dt, copy=True, order="C")
    W_hh = np.ascontiguousarray(w.W_hh, dtype=dt)
    W_ih = np.asarray(w.W_ih, dtype=dt)
    I = W_ih.shape[1]
    h_last = np.ascontiguousarray(h_last, dtype=dt)
    d_x_proj = workspace.empty((T, B, H), dt)
    lens = lengths_array(cache.lengths)
    act = ACT_CODES[cache.nonlinearity]
    dh_new = np.empty((B, H), dt)
    rmask = cache.recurrent_mask
    nth = split_threads(dt, B, H) if rmask is None else 1
    if nth > 1:                                               # each thread runs all steps of its rows
        from rnnkit.kernels.fast.rnn_workers import BACKWARD, backward_worker

        dx = workspace.empty((T, B, I), dt)
        db_rows = np.zeros((B, H), dt)
        ctx = BACKWARD.build(shift(), reverse=bool(cache.reverse), act=act, d_out=d_out, dh=dh, Wbp=pack(W_hh),
                             hx_all=hx_all, h_last=h_last, lens=lens, d_x_proj=d_x_proj, dh_new=dh_new,
                             Wip=pack(W_ih), dx=dx, db_rows=db_rows)   # Wip (ceil(I/16), H, 16)
        run_rows(backward_worker.address, ctx, B, nth)
    else:
        _backward_loop(d_out, dh, W_hh, hx_all, h_last, lens, bool(cache.reverse), act, d_x_proj, dh_new, rmask)
    if rmask is not None:
        hx_all = hx_all * rmask                                           # (T, B, H) m * h_{t-1} (Ix = 0)
    dW_cat = d_x_proj.reshape(-1, H).T @ hx_all.reshape(-1, Ix + H)       # (H, Ix + H), one GEMM
    dW_hh = dW_cat[:, Ix:]
    dxp = d_x_proj.reshape(T * B, H)
    if nth > 1:
        db = db_rows.sum(axis=0)                                          # (H,)
    else:
        dx = workspace.empty((T, B, I), dt)
        np.matmul(dxp, W_ih, out=dx.reshape(T * B, -1))                   # (T, B, I)
        db = dxp.sum(axis=0)
    dW_ih = dW_cat[:, :Ix] if Ix else dxp.T @ cache.x.reshape(T * B, I)   # (H, I)
    db = db if w.b_ih is not None else None
    return Grads(dx, (dh,), dW_ih, dW_hh, db, db, None)


@kernel
def _step(x, h, W_ih, W_hh, b_ih, b_hh, has_bias, act):
    """x (B, I), h (B, H) -> h' (B, H): the two products, then ``rnn_seq.step_rows``."""
    B, H = h.shape
    dt = x.dtype
    gx = np.empty((B, H), dt)
    gh = np.empty((B, H), dt)
    h_new = np.empty((B, H), dt)
    products(x, h, W_ih, W_hh, b_ih, b_hh, has_bias, H, gx, gh)
    step_rows(0, B, 0, gx, True, np.zeros(H, dt), gh, act, NO_LENGTHS, h_new)   # gh <- gh + gx, h' = f(gh)
    return h_new


def step(x, state, w, options):
    """The contract's one step (no cache). x (B, I), state ``(h,)``; arrays of one float dtype."""
    if mask_option(options) is not None:                      # a recurrent mask: a one-step forward
        return forward(x[None], w, state, None, False, False, options).state
    W_ih, W_hh, b_ih, b_hh, _, _ = w
    has_bias = b_ih is not None
    if not has_bias:
        b_ih = b_hh = W_ih[0]                                 # (not read)
    return (_step(x, state[0], W_ih, W_hh, b_ih, b_hh, has_bias, ACT_CODES[options["nonlinearity"]]),)
