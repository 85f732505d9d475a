"""The vanilla RNN's per-worker sequence functions as C callbacks for
:mod:`rnnkit.kernels.fast._pool` (float32; imported, and compiled or loaded from Numba's
cache, on first use).

Each worker rebuilds its arrays from the context array written by ``_pool.context`` and runs
``rnn_seq`` on its rows ``[r0, r0 + m)``, ``r0 = a >> ctx[0]``. Layout (``[i]`` = ``ctx[i]``;
arrays by address from slot 16 on, all C-contiguous float32 unless noted)::

    scalars  [1] T  [2] B  [3] H  [4] Tk  [5] len(lens)  [6] reverse  [7] keep  [8] activation
             [9] panels of the packed weight
             forward only: [10] I (0 unless fused)  [11] fused (input projection done here)
                           [12] Ih, the width of hx_all (I + H with keep and fused, else H)
             backward only: [10] Ix (hx_all is (T,B,Ix+H))  [11] with_x  [12] panels of Wip
                            [13] I (dx and db are made in the loop when with_x)
    forward  x_proj (T,B,H) (not read when fused), Wp (n,I+H,16), h (B,H), lens (int64),
             out (T,B,H), hx_all (Tk,B,Ih), bias (H,), x (T,B,I)
    backward d_out (T,B,H), dh (B,H), Wbp (n,H,16), hx_all (T,B,Ix+H), h_last (B,H), lens (int64),
             d_x_proj (T,B,H), dh_new (B,H), Wip (n3,H,16), dx (T,B,I), db_rows (B,H)
"""

from __future__ import annotations

from numba import carray, cfunc

from rnnkit.kernels.fast._pool import CTX_SIZE, WORKER_OPTS, WORKER_SIG, ptr_f32, ptr_i64
from rnnkit.kernels.fast.rnn_seq import backward_rows, forward_rows


@cfunc(WORKER_SIG, **WORKER_OPTS)
def forward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (CTX_SIZE,))
    T, B, H, Tk, n_lens, n1 = ctx[1], ctx[2], ctx[3], ctx[4], ctx[5], ctx[9]
    I, fused, Ih = ctx[10], ctx[11] != 0, ctx[12]
    r0 = a >> ctx[0]
    x_proj = carray(ptr_f32(ctx[16]), (T, B, H))
    Wp = carray(ptr_f32(ctx[17]), (n1, I + H, 16))
    h = carray(ptr_f32(ctx[18]), (B, H))
    lens = carray(ptr_i64(ctx[19]), (n_lens,))
    out = carray(ptr_f32(ctx[20]), (T, B, H))
    hx_all = carray(ptr_f32(ctx[21]), (Tk, B, Ih))
    bias = carray(ptr_f32(ctx[22]), (H,))
    x = carray(ptr_f32(ctx[23]), (T, B, I))
    forward_rows(r0, r0 + m_rows, x_proj, x, fused, bias, Wp, h, lens, ctx[6] != 0, ctx[8], ctx[7] != 0, out,
                 hx_all)
    return 0


@cfunc(WORKER_SIG, **WORKER_OPTS)
def backward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (CTX_SIZE,))
    T, B, H, n_lens, n1 = ctx[1], ctx[2], ctx[3], ctx[5], ctx[9]
    Ix, with_x, n3, I = ctx[10], ctx[11] != 0, ctx[12], ctx[13]
    r0 = a >> ctx[0]
    d_out = carray(ptr_f32(ctx[16]), (T, B, H))
    dh = carray(ptr_f32(ctx[17]), (B, H))
    Wbp = carray(ptr_f32(ctx[18]), (n1, H, 16))
    hx_all = carray(ptr_f32(ctx[19]), (T, B, Ix + H))
    h_last = carray(ptr_f32(ctx[20]), (B, H))
    lens = carray(ptr_i64(ctx[21]), (n_lens,))
    d_x_proj = carray(ptr_f32(ctx[22]), (T, B, H))
    dh_new = carray(ptr_f32(ctx[23]), (B, H))
    Wip = carray(ptr_f32(ctx[24]), (n3, H, 16))
    dx = carray(ptr_f32(ctx[25]), (T, B, I))
    db_rows = carray(ptr_f32(ctx[26]), (B, H))
    backward_rows(r0, r0 + m_rows, d_out, dh, Wbp, hx_all, h_last, lens, ctx[6] != 0, ctx[8], d_x_proj, dh_new,
                  with_x, Wip, dx, db_rows)
    return 0
