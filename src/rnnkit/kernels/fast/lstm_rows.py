"""The elementwise work of one LSTM step on a range of batch rows ``[r0, r1)``: the compiled
form of the step of ``kernels/lstm_ref.py``.

Rows of different sequences never interact inside a step, so a step's gate pass can be
split by rows over threads (``lstm_seq``, ``lstm_workers``) or run whole (``r0, r1 = 0, B``)
in the serial kernels and the one-step ``step`` of ``lstm.py``; all of them call these
functions, so the arithmetic is one piece of code.

Forward, row b (``a`` holds ``h_{t-1} @ W_hh.T`` on entry, the activated gates on exit)::

    i, f, g, o = sig(x + b + a_i), sig(x + b + a_f), tanh(x + b + a_g), sig(x + b + a_o)
    c_t = f c_{t-1} + i g ;  m_t = o tanh(c_t)          (h_t = m_t without a projection)

Backward, row b (``dm = dL/dm_t``, ``dc`` holds ``dL/dc_t`` from step t+1 on entry)::

    dc_t  = dc + dm o (1 - tanh(c_t)^2) ;  dc <- dc_t f            (to c_{t-1})
    da_i = dc_t g i (1 - i) ; da_f = dc_t c_{t-1} f (1 - f) ; da_g = dc_t i (1 - g^2)
    da_o = dm tanh(c_t) o (1 - o)

Every inner loop runs over ``j < H`` and writes one gate block of an array only: a loop
writing two blocks of the same array does not vectorise (LLVM cannot prove that blocks
``H`` apart do not overlap).
"""

from __future__ import annotations

from rnnkit.kernels.fast._jit import kernel
from rnnkit.kernels.fast._vmath import sigmoid, tanh


@kernel
def gate_rows(r0, r1, t, x4_t, add_x, bias4, a4, c, c_new, tanh_c, m, lens, write_h, out_t, h):
    """x4_t (B, 4, H) x_proj at step t (added when ``add_x``; else ``a4`` already holds the
    input part), bias4 (4, H), a4 (B, 4, H) gates (in place),
    c (B, H) c_{t-1} -> c_t (rows past their length keep it), tanh_c (B, H), m (B, H).
    With ``write_h`` (no projection) also ``out_t`` (B, H) and ``h`` (B, H) <- m
    (``out_t`` zero past the length, ``h`` kept)."""
    H = c.shape[1]
    has_len = lens.shape[0] > 0
    for b in range(r0, r1):
        if add_x:
            for q in range(4):
                for j in range(H):
                    a4[b, q, j] += x4_t[b, q, j]
        for j in range(H):
            a4[b, 0, j] = sigmoid(bias4[0, j] + a4[b, 0, j])    # i
        for j in range(H):
            a4[b, 1, j] = sigmoid(bias4[1, j] + a4[b, 1, j])    # f
        for j in range(H):
            a4[b, 2, j] = tanh(bias4[2, j] + a4[b, 2, j])       # g
        for j in range(H):
            a4[b, 3, j] = sigmoid(bias4[3, j] + a4[b, 3, j])    # o
        for j in range(H):
            cn = a4[b, 1, j] * c[b, j] + a4[b, 0, j] * a4[b, 2, j]           # c_t = f c + i g
            tc = tanh(cn)
            c_new[b, j] = cn
            tanh_c[b, j] = tc
            m[b, j] = a4[b, 3, j] * tc                                       # m_t = o tanh(c_t)
        masked = has_len and t >= lens[b]
        if not masked:
            for j in range(H):
                c[b, j] = c_new[b, j]
        if write_h:
            if masked:
                for j in range(H):
                    out_t[b, j] = 0.0
            else:
                for j in range(H):
                    out_t[b, j] = m[b, j]
                    h[b, j] = m[b, j]


@kernel
def grad_rows(r0, r1, t, d_out_t, dh, make_gh, gh, dm, dc, dct, a4, c_prev, tanh_c, d4, lens):
    """a4 (B, 4, H) activated gates, c_prev / tanh_c (B, H) c_{t-1} / tanh(c_t) of step t,
    d4 (B, 4, H) out: da. With ``make_gh`` (no projection) first ``gh = d_out_t + dh``
    (zero past the length) and ``dm`` is ``gh``; else ``dm`` (B, H) was computed by the
    caller. dc (B, H) in place, dct (B, H) scratch."""
    H = dc.shape[1]
    one = dc.dtype.type(1.0)
    has_len = lens.shape[0] > 0
    for b in range(r0, r1):
        masked = has_len and t >= lens[b]
        if make_gh:
            if masked:
                for j in range(H):
                    gh[b, j] = 0.0
            else:
                for j in range(H):
                    gh[b, j] = d_out_t[b, j] + dh[b, j]
        if masked:
            for q in range(4):
                for j in range(H):
                    d4[b, q, j] = 0.0
            continue
        for j in range(H):
            tc = tanh_c[b, j]
            d = dc[b, j] + dm[b, j] * a4[b, 3, j] * (one - tc * tc)
            dct[b, j] = d                                     # dL/dc_t
            dc[b, j] = d * a4[b, 1, j]                        # to c_{t-1}
        for j in range(H):
            i = a4[b, 0, j]
            d4[b, 0, j] = dct[b, j] * a4[b, 2, j] * (i * (one - i))
        for j in range(H):
            f = a4[b, 1, j]
            d4[b, 1, j] = dct[b, j] * c_prev[b, j] * (f * (one - f))
        for j in range(H):
            g = a4[b, 2, j]
            d4[b, 2, j] = dct[b, j] * a4[b, 0, j] * (one - g * g)
        for j in range(H):
            o = a4[b, 3, j]
            d4[b, 3, j] = dm[b, j] * tanh_c[b, j] * (o * (one - o))
