"""The vanilla RNN's elementwise step on a range of batch rows ``[r0, r1)``, and a whole
sequence on such a range for one worker of ``_pool``.

The row functions (``step_rows``, ``grad_rows``, ``carry_rows``) are called with
``r0, r1 = 0, B`` by the serial kernels of ``rnn.py`` and with a worker's range by
``forward_rows``/``backward_rows`` below, so the arithmetic is one piece of code. Row b::

    forward   h_t = f(x_proj_t + s)        s = h_{t-1} @ W_hh.T, in out_t on entry
    backward  da_t = (d_out_t + dh) f'(a_t)  (f' from h_t: 1 - h^2, [h > 0], h (1 - h))
              dh <- da_t @ W_hh            (carry_rows, after the product)

A row past its length (``t >= lens[b]``) outputs zero, keeps its state, gets ``da = 0``
and keeps ``dh``.

Each worker runs the complete time loop on its own rows, with no synchronisation between
threads until the end; its per-step products use ``_gemm.gemm_packed`` on weights packed
once per call (a worker must not call BLAS), so each row's result is the serial kernel's up
to the order of the sums inside the products.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels.fast._gemm import gemm_packed
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._vmath import sigmoid, tanh


@kernel
def step_rows(r0, r1, t, x_t, out_t, act, lens, h):
    """x_t (B, H) x_proj at step t; out_t (B, H) holds ``h_{t-1} @ W_hh.T`` on entry and the
    output on exit; h (B, H) <- h_t. ``act``: 0 tanh, 1 relu, 2 sigmoid."""
    H = h.shape[1]
    zero = h.dtype.type(0.0)
    has_len = lens.shape[0] > 0
    for b in range(r0, r1):
        if has_len and t >= lens[b]:
            for j in range(H):
                out_t[b, j] = zero                            # padded: state carried
            continue
        if act == 0:
            for j in range(H):
                out_t[b, j] = tanh(x_t[b, j] + out_t[b, j])
        elif act == 1:
            for j in range(H):
                a = x_t[b, j] + out_t[b, j]
                out_t[b, j] = a if a > zero else zero
        else:
            for j in range(H):
                out_t[b, j] = sigmoid(x_t[b, j] + out_t[b, j])
        for j in range(H):
            h[b, j] = out_t[b, j]


@kernel
def grad_rows(r0, r1, t, d_out_t, dh, h_t, act, da_t, lens):
    """da_t (B, H) = (d_out_t + dh) f'(a_t), from h_t (B, H) = f(a_t); zero past the length."""
    H = dh.shape[1]
    zero = dh.dtype.type(0.0)
    one = dh.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for b in range(r0, r1):
        if has_len and t >= lens[b]:
            for j in range(H):
                da_t[b, j] = zero
            continue
        if act == 0:
            for j in range(H):
                h = h_t[b, j]
                da_t[b, j] = (d_out_t[b, j] + dh[b, j]) * (one - h * h)
        elif act == 1:
            for j in range(H):
                da_t[b, j] = d_out_t[b, j] + dh[b, j] if h_t[b, j] > zero else zero
        else:
            for j in range(H):
                h = h_t[b, j]
                da_t[b, j] = (d_out_t[b, j] + dh[b, j]) * (h * (one - h))


@kernel
def carry_rows(r0, r1, t, g, dhz, dh, lens):
    """dh <- g (B, H), the product through W_hh, plus dhz (B, H), the GRU's other paths
    (None for the vanilla RNN), on the rows within their length (a padded step passes dh
    through)."""
    H = dh.shape[1]
    has_len = lens.shape[0] > 0
    for b in range(r0, r1):
        if has_len and t >= lens[b]:
            continue
        if dhz is None:
            for j in range(H):
                dh[b, j] = g[b, j]
        else:
            for j in range(H):
                dh[b, j] = dhz[b, j] + g[b, j]


@kernel
def forward_rows(r0, r1, x_proj, Wp, h, lens, reverse, act, keep, out, h_prev_all):
    """Arrays as in ``rnn._forward_loop``; Wp = pack(W_hh.T)."""
    T, B, H = x_proj.shape
    tmp = np.empty((6, 16), np.float32)
    for k in range(T):
        t = T - 1 - k if reverse else k
        if keep:
            h_prev_all[t, r0:r1] = h[r0:r1]
        gemm_packed(h[r0:r1], Wp, out[t, r0:r1], H, tmp)                    # (rows, H) = h @ W_hh.T
        step_rows(r0, r1, t, x_proj[t], out[t], act, lens, h)


@kernel
def backward_rows(r0, r1, d_out, dh, Wbp, h_prev_all, h_last, lens, reverse, act, d_x_proj, dh_new):
    """Arrays as in ``rnn._backward_loop``; Wbp = pack(W_hh)."""
    T, B, H = d_x_proj.shape
    tmp = np.empty((6, 16), np.float32)
    for k in range(T):
        t = k if reverse else T - 1 - k
        nxt = t - 1 if reverse else t + 1
        h_t = h_last if (nxt < 0 or nxt >= T) else h_prev_all[nxt]
        grad_rows(r0, r1, t, d_out[t], dh, h_t, act, d_x_proj[t], lens)
        gemm_packed(d_x_proj[t, r0:r1], Wbp, dh_new[r0:r1], H, tmp)         # (rows, H) = da @ W_hh
        carry_rows(r0, r1, t, dh_new, None, dh, lens)
