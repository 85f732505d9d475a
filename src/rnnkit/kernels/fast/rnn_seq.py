"""The vanilla RNN's elementwise step on a range of batch rows ``[r0, r1)``, and a whole
sequence on such a range for one worker of ``_pool``: the compiled form of the step of
``kernels/rnn_ref.py``.

The row functions (``step_rows``, ``grad_rows``, ``carry_rows``) are called with
``r0, r1 = 0, B`` by the serial kernels of ``rnn.py``, with a worker's range by
``forward_rows``/``backward_rows`` below, and by the one-step ``rnn.step``, so the
arithmetic is one piece of code. Row b::

    forward   h_t = f(s + b (+ x_proj_t))   s in out_t on entry: [x_t | h_{t-1}] @ [W_ih | W_hh].T
                                           (row split, input projection inside the product) or
                                           h_{t-1} @ W_hh.T (serial: x_proj made first)
    backward  da_t = (d_out_t + dh) f'(a_t)  (f' from h_t: 1 - h^2, [h > 0], h (1 - h))
              dh <- da_t @ W_hh            (carry_rows, after the product)
              dx_t = da_t @ W_ih ; db += da_t   (row split, while da_t is in cache)

A row past its length (``t >= lens[b]``) outputs zero, keeps its state, gets ``da = 0``
and keeps ``dh``.

Each worker runs the complete time loop on its own rows, with no synchronisation between
threads until the end; its per-step products use ``_gemm.gemm_packed2``/``gemm_packed`` on
weights packed once per call (a worker must not call BLAS), so each row's result is the
serial kernel's up to the order of the sums inside the products. With ``keep`` the forward
stores ``[x_t | h_{t-1}]`` in one array ``hx_all`` (T, B, I + H), so that
``[dW_ih | dW_hh] = sum_t da_t.T @ [x_t | h_{t-1}]`` is one GEMM after the backward; the
backward reads ``h_t`` for f' from its last H columns.
"""

from __future__ import annotations

from rnnkit.kernels.fast._gemm import gemm_packed, gemm_packed2
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._vmath import sigmoid, tanh


@kernel
def step_rows(r0, r1, t, x_t, add_x, bias, out_t, act, lens, h):
    """out_t (B, H) holds the step's product on entry and the output on exit; x_t (B, H)
    x_proj at step t, added when ``add_x`` (else the product already holds the input part);
    bias (H,) added; h (B, H) <- h_t. ``act``: 0 tanh, 1 relu, 2 sigmoid."""
    H = h.shape[1]
    zero = h.dtype.type(0.0)
    has_len = lens.shape[0] > 0
    for b in range(r0, r1):
        if has_len and t >= lens[b]:
            for j in range(H):
                out_t[b, j] = zero                            # padded: state carried
            continue
        if add_x:
            for j in range(H):
                out_t[b, j] += x_t[b, j]
        if act == 0:
            for j in range(H):
                out_t[b, j] = tanh(bias[j] + out_t[b, j])
        elif act == 1:
            for j in range(H):
                a = bias[j] + out_t[b, j]
                out_t[b, j] = zero if a < zero else a           # NaN stays NaN (a max would drop it)
        else:
            for j in range(H):
                out_t[b, j] = sigmoid(bias[j] + out_t[b, j])
        for j in range(H):
            h[b, j] = out_t[b, j]


@kernel
def grad_rows(r0, r1, t, d_out_t, dh, h_t, off, act, da_t, lens):
    """da_t (B, H) = (d_out_t + dh) f'(a_t), from h_t = f(a_t), which is ``h_t[:, off:off + H]``
    (a step of ``hx_all`` holds [x_t | h_{t-1}]); zero past the length."""
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
                h = h_t[b, off + j]
                da_t[b, j] = (d_out_t[b, j] + dh[b, j]) * (one - h * h)
        elif act == 1:
            for j in range(H):
                da_t[b, j] = d_out_t[b, j] + dh[b, j] if h_t[b, off + j] > zero else zero
        else:
            for j in range(H):
                h = h_t[b, off + j]
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
def forward_rows(r0, r1, x, bias, Wp, h, lens, reverse, act, keep, out, hx_all):
    """Arrays as in ``rnn._forward_loop``; the input projection is done here, per step:
    x (T, B, I), Wp = pack([W_ih | W_hh].T). With ``keep`` hx_all (T, B, I + H) stores
    [x_t | h_{t-1}]."""
    T, B, H = out.shape
    Ix = x.shape[2]
    for k in range(T):
        t = T - 1 - k if reverse else k
        if keep:
            hx_all[t, r0:r1, :Ix] = x[t, r0:r1]
            hx_all[t, r0:r1, Ix:] = h[r0:r1]
        gemm_packed2(x[t, r0:r1], h[r0:r1], Wp, out[t, r0:r1], H)     # (rows, H) = [x | h] @ [W_ih | W_hh].T
        step_rows(r0, r1, t, out[t], False, bias, out[t], act, lens, h)


@kernel
def backward_rows(r0, r1, d_out, dh, Wbp, hx_all, h_last, lens, reverse, act, d_x_proj, dh_new, Wip, dx, db_rows):
    """Arrays as in ``rnn._backward_loop``; Wbp = pack(W_hh). Also, per step,
    ``dx_t = da_t @ W_ih`` (Wip = pack(W_ih), dx (T, B, I)) and ``db_rows[b] += da_t[b]``
    (B, H), while da_t is in cache."""
    T, B, H = d_x_proj.shape
    Ix = hx_all.shape[2] - H
    for k in range(T):
        t = k if reverse else T - 1 - k
        nxt = t - 1 if reverse else t + 1
        last = nxt < 0 or nxt >= T
        h_t = h_last if last else hx_all[nxt]
        grad_rows(r0, r1, t, d_out[t], dh, h_t, 0 if last else Ix, act, d_x_proj[t], lens)
        gemm_packed(d_x_proj[t, r0:r1], Wbp, dh_new[r0:r1], H)         # (rows, H) = da @ W_hh
        gemm_packed(d_x_proj[t, r0:r1], Wip, dx[t, r0:r1], dx.shape[2])  # (rows, I) = da @ W_ih
        for b in range(r0, r1):
            for j in range(H):
                db_rows[b, j] += d_x_proj[t, b, j]
        carry_rows(r0, r1, t, dh_new, None, dh, lens)
