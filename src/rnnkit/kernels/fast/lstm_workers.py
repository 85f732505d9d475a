"""The LSTM's per-worker sequence functions as C callbacks for :mod:`rnnkit.kernels.fast._pool`
(float32; imported, and compiled or loaded from Numba's cache, on first use).

Each worker rebuilds its arrays from the context array written by ``_pool.context`` and
runs ``lstm_seq`` on its rows ``[r0, r0 + m)``, ``r0 = a >> ctx[0]``. Layout (``[i]`` =
``ctx[i]``; arrays by address from slot 16 on, all C-contiguous float32 unless noted)::

    scalars  [1] T  [2] B  [3] H  [4] P  [5] Tk  [6] len(lens)  [7] reverse  [8] keep
             [9] has_proj  [10] panels of the first packed weight  [11] of the second  [12] Tm
             forward only: [13] I (0 unless fused)  [14] fused (input projection done here)
    forward  x4 (T,B,4,H) (any array when fused: not read), bias4 (4,H), Wp (n1,I+P,16),
             Wrp (n2,H,16), h (B,P), c (B,H), lens (int64), out (T,B,P), hx_all (Tk,B,I+P),
             c_prev_all (Tk,B,H), g4_all (Tk,B,4,H), tanh_c_all (Tk,B,H), m_all (Tm,B,H),
             m (B,H), hp (B,P), c_new (B,H), x (T,B,I)
    backward d_out (T,B,P), dh (B,P), dc (B,H), Wbp (n1,4H,16), Wrbp (n2,P,16),
             c_prev_all (T,B,H), g4_all (T,B,4,H), tanh_c_all (T,B,H), lens (int64),
             d4 (T,B,4,H), dh_out_all (Tm,B,P), gh (B,P), dm (B,H), dct (B,H), dh_new (B,P),
             Wip (n3,4H,16), dx (T,B,I), db_rows (B,4H); backward only: [13] I  [14] with_x
             [15] n3 (dx and db are made in the loop when with_x)
"""

from __future__ import annotations

from numba import carray, cfunc

from rnnkit.kernels.fast._pool import CTX_SIZE, WORKER_OPTS, WORKER_SIG, ptr_f32, ptr_i64
from rnnkit.kernels.fast.lstm_seq import backward_rows, forward_rows


@cfunc(WORKER_SIG, **WORKER_OPTS)
def forward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (CTX_SIZE,))
    T, B, H, P, Tk, n_lens = ctx[1], ctx[2], ctx[3], ctx[4], ctx[5], ctx[6]
    n1, n2, Tm, I, fused = ctx[10], ctx[11], ctx[12], ctx[13], ctx[14] != 0
    r0 = a >> ctx[0]
    x4 = carray(ptr_f32(ctx[16]), (Tk if fused else T, B, 4, H))
    bias4 = carray(ptr_f32(ctx[17]), (4, H))
    Wp = carray(ptr_f32(ctx[18]), (n1, I + P, 16))
    Wrp = carray(ptr_f32(ctx[19]), (n2, H, 16))
    h = carray(ptr_f32(ctx[20]), (B, P))
    c = carray(ptr_f32(ctx[21]), (B, H))
    lens = carray(ptr_i64(ctx[22]), (n_lens,))
    out = carray(ptr_f32(ctx[23]), (T, B, P))
    hx_all = carray(ptr_f32(ctx[24]), (Tk, B, I + P))
    c_prev_all = carray(ptr_f32(ctx[25]), (Tk, B, H))
    g4_all = carray(ptr_f32(ctx[26]), (Tk, B, 4, H))
    gates_all = carray(ptr_f32(ctx[26]), (Tk, B, 4 * H))
    tanh_c_all = carray(ptr_f32(ctx[27]), (Tk, B, H))
    m_all = carray(ptr_f32(ctx[28]), (Tm, B, H))
    m = carray(ptr_f32(ctx[29]), (B, H))
    hp = carray(ptr_f32(ctx[30]), (B, P))
    c_new = carray(ptr_f32(ctx[31]), (B, H))
    x = carray(ptr_f32(ctx[32]), (T, B, I))
    forward_rows(r0, r0 + m_rows, x4, x, fused, bias4, Wp, Wrp, ctx[9] != 0, h, c, lens, ctx[7] != 0, ctx[8] != 0,
                 out, hx_all, c_prev_all, gates_all, g4_all, tanh_c_all, m_all, m, hp, c_new)
    return 0


@cfunc(WORKER_SIG, **WORKER_OPTS)
def backward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (CTX_SIZE,))
    T, B, H, P, n_lens = ctx[1], ctx[2], ctx[3], ctx[4], ctx[6]
    n1, n2, Tm, I, with_x, n3 = ctx[10], ctx[11], ctx[12], ctx[13], ctx[14] != 0, ctx[15]
    r0 = a >> ctx[0]
    d_out = carray(ptr_f32(ctx[16]), (T, B, P))
    dh = carray(ptr_f32(ctx[17]), (B, P))
    dc = carray(ptr_f32(ctx[18]), (B, H))
    Wbp = carray(ptr_f32(ctx[19]), (n1, 4 * H, 16))
    Wrbp = carray(ptr_f32(ctx[20]), (n2, P, 16))
    c_prev_all = carray(ptr_f32(ctx[21]), (T, B, H))
    g4_all = carray(ptr_f32(ctx[22]), (T, B, 4, H))
    tanh_c_all = carray(ptr_f32(ctx[23]), (T, B, H))
    lens = carray(ptr_i64(ctx[24]), (n_lens,))
    d4 = carray(ptr_f32(ctx[25]), (T, B, 4, H))
    d_x_proj = carray(ptr_f32(ctx[25]), (T, B, 4 * H))
    dh_out_all = carray(ptr_f32(ctx[26]), (Tm, B, P))
    gh = carray(ptr_f32(ctx[27]), (B, P))
    dm = carray(ptr_f32(ctx[28]), (B, H))
    dct = carray(ptr_f32(ctx[29]), (B, H))
    dh_new = carray(ptr_f32(ctx[30]), (B, P))
    Wip = carray(ptr_f32(ctx[31]), (n3, 4 * H, 16))
    dx = carray(ptr_f32(ctx[32]), (T, B, I))
    db_rows = carray(ptr_f32(ctx[33]), (B, 4 * H))
    backward_rows(r0, r0 + m_rows, d_out, dh, dc, Wbp, Wrbp, ctx[9] != 0, c_prev_all, g4_all, tanh_c_all, lens,
                  ctx[7] != 0, d_x_proj, d4, dh_out_all, gh, dm, dct, dh_new, with_x, Wip, dx, db_rows)
    return 0
