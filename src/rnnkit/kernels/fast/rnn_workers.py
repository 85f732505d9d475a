"""The vanilla RNN's per-worker sequence functions as C callbacks for :mod:`rnnkit.kernels.fast._pool`
(float32; imported, and compiled or loaded from Numba's cache, on first use).

Each worker rebuilds its arrays from the context array (:class:`~rnnkit.kernels.fast._context.Layout`
below: the one declaration of its slots; all arrays C-contiguous) and runs ``rnn_seq`` on its
rows ``[r0, r0 + m)``, ``r0 = a >> ctx[0]``. Shapes (``rnn.forward``/``rnn.backward`` build them)::

    forward   x (T,B,I), Wp (ceil(H/PANEL),I+H,PANEL) = pack([W_ih | W_hh].T), h (B,H), lens (int64),
              out (T,B,H), hx_all (T or 0,B,I+H), bias (H)
    backward  d_out (T,B,H), dh (B,H), Wbp (ceil(H/PANEL),H,PANEL) = pack(W_hh), hx_all (T,B,Ix+H),
              h_last (B,H), lens, d_x_proj (T,B,H), dh_new (B,H), Wip (ceil(I/PANEL),H,PANEL) = pack(W_ih),
              dx (T,B,I), db_rows (B,H)
"""

from __future__ import annotations

from numba import carray, cfunc

from rnnkit.kernels.fast._context import (
    F32,
    I64,
    WORKER_OPTS,
    WORKER_SIG,
    Layout,
    f32_1,
    f32_2,
    f32_3,
    i64_1,
    ptr_i64,
)
from rnnkit.kernels.fast.rnn_seq import backward_rows, forward_rows

FORWARD = Layout("rnn forward", flags=("reverse", "keep", "act"), arrays=(
    ("x", F32, 3), ("Wp", F32, 3), ("h", F32, 2), ("lens", I64, 1), ("out", F32, 3), ("hx_all", F32, 3),
    ("bias", F32, 1),
))
BACKWARD = Layout("rnn backward", flags=("reverse", "act"), arrays=(
    ("d_out", F32, 3), ("dh", F32, 2), ("Wbp", F32, 3), ("hx_all", F32, 3), ("h_last", F32, 2), ("lens", I64, 1),
    ("d_x_proj", F32, 3), ("dh_new", F32, 2), ("Wip", F32, 3), ("dx", F32, 3), ("db_rows", F32, 2),
))
_F, _B = FORWARD.slots, BACKWARD.slots


@cfunc(WORKER_SIG, **WORKER_OPTS)
def forward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (_F.size,))
    r0 = a >> ctx[0]
    forward_rows(r0, r0 + m_rows, f32_3(ctx, _F.x), f32_1(ctx, _F.bias), f32_3(ctx, _F.Wp), f32_2(ctx, _F.h),
                 i64_1(ctx, _F.lens), ctx[_F.reverse] != 0, ctx[_F.act], ctx[_F.keep] != 0, f32_3(ctx, _F.out),
                 f32_3(ctx, _F.hx_all))
    return 0


@cfunc(WORKER_SIG, **WORKER_OPTS)
def backward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (_B.size,))
    r0 = a >> ctx[0]
    backward_rows(r0, r0 + m_rows, f32_3(ctx, _B.d_out), f32_2(ctx, _B.dh), f32_3(ctx, _B.Wbp),
                  f32_3(ctx, _B.hx_all), f32_2(ctx, _B.h_last), i64_1(ctx, _B.lens), ctx[_B.reverse] != 0,
                  ctx[_B.act], f32_3(ctx, _B.d_x_proj), f32_2(ctx, _B.dh_new), f32_3(ctx, _B.Wip),
                  f32_3(ctx, _B.dx), f32_2(ctx, _B.db_rows))
    return 0
