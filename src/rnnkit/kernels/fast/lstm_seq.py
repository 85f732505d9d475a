"""A whole LSTM sequence on a range of batch rows ``[r0, r1)``, for one worker of ``_pool``
(the row split of ``lstm.py``; the step's arithmetic is ``lstm_rows``).

The rows of different sequences never interact, so each of the ``_pool`` threads runs the
complete time loop on its own rows, with no synchronisation between threads until the end.
The per-step products use ``_gemm.gemm_packed`` on weights packed once per call (a worker
must not call BLAS), and the elementwise work is ``lstm_rows`` (the code of the serial
kernels), so each row's result is the serial kernel's up to the order of the sums inside
the products.

Forward, per step (rows r0..r1 only)::

    a = [x_t | h_{t-1}] @ [W_ih | W_hh].T       (the input projection inside the step product)
    gates, c_t, m_t (lstm_rows.gate_rows) ; h_t = m_t (@ W_hr.T)

Backward, per step::

    g_h = d_out_t + dh (; dm = g_h @ W_hr) ; dc, da (lstm_rows.grad_rows) ; dh = da @ W_hh
    dx_t = da @ W_ih ; db += da                  (while da is in cache)
"""

from __future__ import annotations

from rnnkit.kernels.fast._gemm import gemm_packed, gemm_packed2
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast.lstm_rows import gate_rows, grad_rows


@kernel
def forward_rows(r0, r1, x, bias4, Wp, Wrp, has_proj, h, c, lens, reverse, keep, out, hx_all, c_prev_all,
                 gates_all, g4_all, tanh_c_all, m_all, m, hp, c_new):
    """Arrays as in ``lstm._forward_loop``; Wrp = pack(W_hr.T). The input projection is done
    here, per step: x (T, B, I), Wp = pack([W_ih | W_hh].T). With ``keep`` hx_all (T, B, I + P)
    stores [x_t | h_{t-1}], for one weight-gradient GEMM in backward."""
    T = out.shape[0]
    H = c.shape[1]
    P = h.shape[1]
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = T - 1 - k if reverse else k
        tk = t if keep else 0
        if keep:
            Ix = x.shape[2]
            hx_all[t, r0:r1, :Ix] = x[t, r0:r1]
            hx_all[t, r0:r1, Ix:] = h[r0:r1]
            c_prev_all[t, r0:r1] = c[r0:r1]
        gemm_packed2(x[t, r0:r1], h[r0:r1], Wp, gates_all[tk, r0:r1], 4 * H)   # (rows, 4H)
        gate_rows(r0, r1, t, g4_all[tk], False, bias4, g4_all[tk], c, c_new, tanh_c_all[tk], m, lens, not has_proj,
                  out[t], h)
        if has_proj:
            gemm_packed(m[r0:r1], Wrp, hp[r0:r1], P)                    # (rows, P)
            if keep:
                m_all[t, r0:r1] = m[r0:r1]
            for b in range(r0, r1):
                if has_len and t >= lens[b]:
                    for p in range(P):
                        out[t, b, p] = 0.0
                else:
                    for p in range(P):
                        out[t, b, p] = hp[b, p]
                        h[b, p] = hp[b, p]


@kernel
def backward_rows(r0, r1, d_out, dh, dc, Wbp, Wrbp, has_proj, c_prev_all, g4_all, tanh_c_all, lens, reverse,
                  d_x_proj, d4, dh_out_all, gh, dm, dct, dh_new, Wip, dx, db_rows):
    """Arrays as in ``lstm._backward_loop``; Wbp = pack(W_hh), Wrbp = pack(W_hr). Also, per
    step, ``dx_t = da_t @ W_ih`` (Wip = pack(W_ih), dx (T, B, I)) and ``db_rows[b] += da_t[b]``
    (B, 4H), while da_t is in cache."""
    T, B, _, H = d4.shape
    P = dh.shape[1]
    has_len = lens.shape[0] > 0
    for k in range(T):
        t = k if reverse else T - 1 - k
        if has_proj:
            for b in range(r0, r1):
                if has_len and t >= lens[b]:
                    for p in range(P):
                        gh[b, p] = 0.0
                else:
                    for p in range(P):
                        gh[b, p] = d_out[t, b, p] + dh[b, p]
            dh_out_all[t, r0:r1] = gh[r0:r1]
            gemm_packed(gh[r0:r1], Wrbp, dm[r0:r1], H)                  # (rows, H) = g_h @ W_hr
            dmv = dm
        else:
            dmv = gh
        grad_rows(r0, r1, t, d_out[t], dh, not has_proj, gh, dmv, dc, dct, g4_all[t], c_prev_all[t],
                  tanh_c_all[t], d4[t], lens)
        gemm_packed(d_x_proj[t, r0:r1], Wbp, dh_new[r0:r1], P)          # (rows, P) = da @ W_hh
        gemm_packed(d_x_proj[t, r0:r1], Wip, dx[t, r0:r1], dx.shape[2])  # (rows, I) = da @ W_ih
        for b in range(r0, r1):
            for q in range(4 * H):
                db_rows[b, q] += d_x_proj[t, b, q]
        for b in range(r0, r1):
            if not (has_len and t >= lens[b]):
                for p in range(P):
                    dh[b, p] = dh_new[b, p]
