"""The GRU's elementwise step on a range of batch rows ``[r0, r1)``, and a whole sequence on
such a range for one worker of ``_pool``: the compiled form of the step of ``kernels/gru_ref.py``.

The row functions are called with ``r0, r1 = 0, B`` by the serial kernels of ``gru.py``,
with a worker's range by ``forward_rows``/``backward_rows`` below, and by the one-step
``gru.step``, so the arithmetic is one piece of code. Row b, forward (``a`` the gate store, (B, 3, H))::

    rz_rows   r = sig(x_r + s_r), z = sig(x_z + s_z)    a[r, z] hold h_{t-1} @ W_hh[:2H].T on entry
              r_ws = r (reset_after) or r * h_{t-1}
    n_rows    reset_after:  n = tanh(x_n + r (s_n + b_hn))   a[n] holds s_n = h_{t-1} @ W_hn.T
              reset_before: n = tanh(x_n + sn + b_hn)       sn = (r * h_{t-1}) @ W_hn.T
              h_t = (1 - z) n + z h_{t-1}

Backward, with g = d_out_t + dh::

    grad_rows   dn = g (1 - z)(1 - n^2), dz = g (h_{t-1} - n) z (1 - z), dhz = g z;
                reset_after: dr = dn (s_n + b_hn) r (1 - r), ds_n = dn r, ws = [dr, dz, ds_n]
    reset_rows  (reset_before, d_rh = dn @ W_hn) dr = d_rh h_{t-1} r (1 - r), dhz += d_rh r
    carry_rows  (rnn_seq) dh = dhz + [dr, dz, ds_n] @ W_hh   (reset_before: [dr, dz] @ W_hh[:2H])

A row past its length outputs zero, keeps its state, gets zero gradients and keeps ``dh``.
Every inner loop writes one gate block of one array only, so that LLVM vectorises it.

Each worker runs the complete time loop on its own rows, with no synchronisation between
threads until the end; its per-step products use ``_gemm.gemm_packed`` on weights packed
once per call (a worker must not call BLAS), so each row's result is the serial kernel's up
to the order of the sums inside the products.
"""

from __future__ import annotations

from rnnkit.kernels.fast._gemm import gemm_packed
from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._vmath import sigmoid, tanh
from rnnkit.kernels.fast.rnn_seq import carry_rows


@kernel
def rz_rows(r0, r1, x4_t, a4, h, r_ws, reset_after):
    """x4_t (B, 3, H) x_proj at step t; a4 (B, 3, H) the gates (r, z in place); r_ws (B, H)."""
    H = h.shape[1]
    for b in range(r0, r1):
        for j in range(H):
            r = sigmoid(x4_t[b, 0, j] + a4[b, 0, j])
            a4[b, 0, j] = r
            r_ws[b, j] = r if reset_after else r * h[b, j]    # r, or r * h_{t-1}
        for j in range(H):
            a4[b, 1, j] = sigmoid(x4_t[b, 1, j] + a4[b, 1, j])    # z


@kernel
def n_rows(r0, r1, t, x4_t, a4, b_hn, r_ws, sn, s_t, reset_after, lens, out_t, h):
    """The n gate (a4[:, 2] in place), s_t (B, H) <- s_n + b_hn (reset_after) or r * h;
    out_t (B, H) and h (B, H) <- h_t (``out_t`` zero past the length, ``h`` kept)."""
    H = h.shape[1]
    zero = h.dtype.type(0.0)
    one = h.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for b in range(r0, r1):
        if reset_after:
            for j in range(H):
                s_n = a4[b, 2, j] + b_hn[j]
                s_t[b, j] = s_n
                a4[b, 2, j] = tanh(x4_t[b, 2, j] + r_ws[b, j] * s_n)     # n
        else:
            for j in range(H):
                s_t[b, j] = r_ws[b, j]
                a4[b, 2, j] = tanh(x4_t[b, 2, j] + sn[b, j] + b_hn[j])    # n
        if has_len and t >= lens[b]:
            for j in range(H):
                out_t[b, j] = zero
        else:
            for j in range(H):
                z, n = a4[b, 1, j], a4[b, 2, j]
                h_new = (one - z) * n + z * h[b, j]
                out_t[b, j] = h_new
                h[b, j] = h_new


@kernel
def grad_rows(r0, r1, t, d_out_t, dh, a4, h_prev, s_t, d4_t, d_s_t, ws4, g_ws, dhz, lens, reset_after):
    """a4 (B, 3, H) r, z, n of step t, h_prev (B, H) h_{t-1}, s_t (B, H) as stored by n_rows.
    Out: d4_t (B, 3, H) the gate gradients (dr only with reset_after), d_s_t (B, H) the
    gradient of the n-block product, dhz (B, H) the direct path g z, and with reset_after
    ws4 (B, 3, H) = [dr, dz, ds_n]. g_ws (B, H) scratch."""
    H = dh.shape[1]
    zero = dh.dtype.type(0.0)
    one = dh.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for b in range(r0, r1):
        if has_len and t >= lens[b]:
            for q in range(3):
                for j in range(H):
                    d4_t[b, q, j] = zero
                    ws4[b, q, j] = zero
            for j in range(H):
                d_s_t[b, j] = zero
            continue
        for j in range(H):
            g = d_out_t[b, j] + dh[b, j]
            g_ws[b, j] = g
            dhz[b, j] = g * a4[b, 1, j]                       # the direct path g z
        for j in range(H):                                    # dn_pre = g (1 - z)(1 - n^2)
            z, n = a4[b, 1, j], a4[b, 2, j]
            d4_t[b, 2, j] = g_ws[b, j] * (one - z) * (one - n * n)
        for j in range(H):                                    # dz_pre = g (h - n) z (1 - z)
            z, n = a4[b, 1, j], a4[b, 2, j]
            d4_t[b, 1, j] = g_ws[b, j] * (h_prev[b, j] - n) * (z * (one - z))
        if reset_after:
            for j in range(H):
                r = a4[b, 0, j]
                d4_t[b, 0, j] = d4_t[b, 2, j] * s_t[b, j] * (r * (one - r))
            for j in range(H):
                d_s_t[b, j] = d4_t[b, 2, j] * a4[b, 0, j]
            for j in range(H):
                ws4[b, 0, j] = d4_t[b, 0, j]
            for j in range(H):
                ws4[b, 1, j] = d4_t[b, 1, j]
            for j in range(H):
                ws4[b, 2, j] = d_s_t[b, j]
        else:
            for j in range(H):
                d_s_t[b, j] = d4_t[b, 2, j]


@kernel
def reset_rows(r0, r1, t, d_rh, a4, h_prev, d4_t, dhz, lens):
    """reset_before, after ``d_rh = dn @ W_hn`` (B, H): dr into d4_t[:, 0], dhz += d_rh r."""
    H = dhz.shape[1]
    one = dhz.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for b in range(r0, r1):
        if has_len and t >= lens[b]:
            continue
        for j in range(H):
            r = a4[b, 0, j]
            d4_t[b, 0, j] = d_rh[b, j] * h_prev[b, j] * (r * (one - r))
        for j in range(H):
            dhz[b, j] += d_rh[b, j] * a4[b, 0, j]


@kernel
def forward_rows(r0, r1, x4, Wp1, Wp2, b_hn, h, lens, reverse, reset_after, keep, out, h_prev_all, gates_all,
                 g4_all, s_all, r_ws, sn):
    """Arrays as in ``gru._forward_loop``; reset_after: Wp1 = pack(W_hh.T); else
    Wp1 = pack(W_hh[:2H].T), Wp2 = pack(W_hh[2H:].T)."""
    T, B, _, H = x4.shape
    for k in range(T):
        t = T - 1 - k if reverse else k
        tk = t if keep else 0
        if keep:
            h_prev_all[t, r0:r1] = h[r0:r1]
        if reset_after:
            gemm_packed(h[r0:r1], Wp1, gates_all[tk, r0:r1], 3 * H)       # (rows, 3H) = h @ W_hh.T
        else:
            gemm_packed(h[r0:r1], Wp1, gates_all[tk, r0:r1], 2 * H)       # (rows, 2H) = h @ W_hh[:2H].T
        rz_rows(r0, r1, x4[t], g4_all[tk], h, r_ws, reset_after)
        if not reset_after:
            gemm_packed(r_ws[r0:r1], Wp2, sn[r0:r1], H)                  # (rows, H) = (r * h) @ W_hn.T
        n_rows(r0, r1, t, x4[t], g4_all[tk], b_hn, r_ws, sn, s_all[tk], reset_after, lens, out[t], h)


@kernel
def backward_rows(r0, r1, d_out, dh, Wbp1, Wbp2, h_prev_all, g4_all, s_all, lens, reverse, reset_after, d_x_proj,
                  d4, d_s_all, ws, ws4, g_ws, dhz, dh_new):
    """Arrays as in ``gru._backward_loop``; reset_after: Wbp1 = pack(W_hh); else
    Wbp1 = pack(W_hh[:2H]), Wbp2 = pack(W_hh[2H:])."""
    T, B, _, H = d4.shape
    for k in range(T):
        t = k if reverse else T - 1 - k
        grad_rows(r0, r1, t, d_out[t], dh, g4_all[t], h_prev_all[t], s_all[t], d4[t], d_s_all[t], ws4, g_ws, dhz,
                  lens, reset_after)
        if reset_after:
            gemm_packed(ws[r0:r1], Wbp1, dh_new[r0:r1], H)                # [dr, dz, ds_n] @ W_hh
        else:
            gemm_packed(d_x_proj[t, r0:r1, 2 * H:], Wbp2, dh_new[r0:r1], H)     # d(r * h) = dn @ W_hn
            reset_rows(r0, r1, t, dh_new, g4_all[t], h_prev_all[t], d4[t], dhz, lens)
            gemm_packed(d_x_proj[t, r0:r1, :2 * H], Wbp1, dh_new[r0:r1], H)     # [dr, dz] @ W_hh[:2H]
        carry_rows(r0, r1, t, dh_new, dhz, dh, lens)
