"""The GRU's per-worker sequence functions as C callbacks for :mod:`rnnkit.kernels.fast._pool`
(float32; imported, and compiled or loaded from Numba's cache, on first use).

Each worker rebuilds its arrays from the context array written by ``_pool.context`` and runs
``gru_seq`` on its rows ``[r0, r0 + m)``, ``r0 = a >> ctx[0]``. Layout (``[i]`` = ``ctx[i]``;
arrays by address from slot 16 on, all C-contiguous float32 unless noted)::

    scalars  [1] T  [2] B  [3] H  [4] Tk  [5] len(lens)  [6] reverse  [7] keep  [8] reset_after
             [9] panels of the first packed weight  [10] of the second  [11] K of the first
    forward  x4 (T,B,3,H), Wp1 (n1,K1,16), Wp2 (n2,H,16), b_hn (H), h (B,H), lens (int64),
             out (T,B,H), h_prev_all (Tk,B,H), g4_all (Tk,B,3,H), s_all (Tk,B,H), r_ws (B,H), sn (B,H)
    backward d_out (T,B,H), dh (B,H), Wbp1 (n1,K1,16), Wbp2 (n2,H,16), h_prev_all (T,B,H),
             g4_all (T,B,3,H), s_all (T,B,H), lens (int64), d4 (T,B,3,H), d_s_all (T,B,H),
             ws (B,3H), g_ws (B,H), dhz (B,H), dh_new (B,H)
"""

from __future__ import annotations

from numba import carray, cfunc

from rnnkit.kernels.fast._pool import CTX_SIZE, WORKER_OPTS, WORKER_SIG, ptr_f32, ptr_i64
from rnnkit.kernels.fast.gru_seq import backward_rows, forward_rows


@cfunc(WORKER_SIG, **WORKER_OPTS)
def forward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (CTX_SIZE,))
    T, B, H, Tk, n_lens = ctx[1], ctx[2], ctx[3], ctx[4], ctx[5]
    n1, n2, K1 = ctx[9], ctx[10], ctx[11]
    r0 = a >> ctx[0]
    x4 = carray(ptr_f32(ctx[16]), (T, B, 3, H))
    Wp1 = carray(ptr_f32(ctx[17]), (n1, K1, 16))
    Wp2 = carray(ptr_f32(ctx[18]), (n2, H, 16))
    b_hn = carray(ptr_f32(ctx[19]), (H,))
    h = carray(ptr_f32(ctx[20]), (B, H))
    lens = carray(ptr_i64(ctx[21]), (n_lens,))
    out = carray(ptr_f32(ctx[22]), (T, B, H))
    h_prev_all = carray(ptr_f32(ctx[23]), (Tk, B, H))
    g4_all = carray(ptr_f32(ctx[24]), (Tk, B, 3, H))
    gates_all = carray(ptr_f32(ctx[24]), (Tk, B, 3 * H))
    s_all = carray(ptr_f32(ctx[25]), (Tk, B, H))
    r_ws = carray(ptr_f32(ctx[26]), (B, H))
    sn = carray(ptr_f32(ctx[27]), (B, H))
    forward_rows(r0, r0 + m_rows, x4, Wp1, Wp2, b_hn, h, lens, ctx[6] != 0, ctx[8] != 0, ctx[7] != 0, out,
                 h_prev_all, gates_all, g4_all, s_all, r_ws, sn)
    return 0


@cfunc(WORKER_SIG, **WORKER_OPTS)
def backward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (CTX_SIZE,))
    T, B, H, n_lens = ctx[1], ctx[2], ctx[3], ctx[5]
    n1, n2, K1 = ctx[9], ctx[10], ctx[11]
    r0 = a >> ctx[0]
    d_out = carray(ptr_f32(ctx[16]), (T, B, H))
    dh = carray(ptr_f32(ctx[17]), (B, H))
    Wbp1 = carray(ptr_f32(ctx[18]), (n1, K1, 16))
    Wbp2 = carray(ptr_f32(ctx[19]), (n2, H, 16))
    h_prev_all = carray(ptr_f32(ctx[20]), (T, B, H))
    g4_all = carray(ptr_f32(ctx[21]), (T, B, 3, H))
    s_all = carray(ptr_f32(ctx[22]), (T, B, H))
    lens = carray(ptr_i64(ctx[23]), (n_lens,))
    d4 = carray(ptr_f32(ctx[24]), (T, B, 3, H))
    d_x_proj = carray(ptr_f32(ctx[24]), (T, B, 3 * H))
    d_s_all = carray(ptr_f32(ctx[25]), (T, B, H))
    ws = carray(ptr_f32(ctx[26]), (B, 3 * H))
    ws4 = carray(ptr_f32(ctx[26]), (B, 3, H))
    g_ws = carray(ptr_f32(ctx[27]), (B, H))
    dhz = carray(ptr_f32(ctx[28]), (B, H))
    dh_new = carray(ptr_f32(ctx[29]), (B, H))
    backward_rows(r0, r0 + m_rows, d_out, dh, Wbp1, Wbp2, h_prev_all, g4_all, s_all, lens, ctx[6] != 0, ctx[8] != 0,
                  d_x_proj, d4, d_s_all, ws, ws4, g_ws, dhz, dh_new)
    return 0
