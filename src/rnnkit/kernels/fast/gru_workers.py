"""The GRU's per-worker sequence functions as C callbacks for :mod:`rnnkit.kernels.fast._pool`
(float32; imported, and compiled or loaded from Numba's cache, on first use).

Each worker rebuilds its arrays from the context array (:class:`~rnnkit.kernels.fast._context.Layout`
below: the one declaration of its slots; all arrays C-contiguous) and runs ``gru_seq`` on its
rows ``[r0, r0 + m)``, ``r0 = a >> ctx[0]``. Shapes (``gru.forward``/``gru.backward`` build them;
Tk = T with ``keep``, else 1 scratch step)::

    forward   x4 (T,B,3,H), Wp1 (n1,H,PANEL), Wp2 (n2,H,PANEL), b_hn (H), h (B,H), lens (int64), out (T,B,H),
              h_prev_all (Tk,B,H), g4_all (Tk,B,3,H) and gates_all (Tk,B,3H) (one store), s_all (Tk,B,H),
              r_ws (B,H), sn (B,H)
    backward  d_out (T,B,H), dh (B,H), Wbp1 (n1,K1,PANEL), Wbp2 (n2,H,PANEL), h_prev_all (T,B,H), g4_all (T,B,3,H),
              s_all (T,B,H), lens, d4 (T,B,3,H) and d_x_proj (T,B,3H) (one array), d_s_all (T,B,H),
              ws (B,3H) and ws4 (B,3,H) (one workspace), g_ws, dhz, dh_new (B,H)

reset_after: Wp1 = pack(W_hh.T), Wbp1 = pack(W_hh); else Wp1 = pack(W_hh[:2H].T),
Wp2 = pack(W_hh[2H:].T), Wbp1 = pack(W_hh[:2H]), Wbp2 = pack(W_hh[2H:]).
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
    f32_4,
    i64_1,
    ptr_i64,
)
from rnnkit.kernels.fast.gru_seq import backward_rows, forward_rows

FORWARD = Layout("gru forward", flags=("reverse", "keep", "reset_after"), arrays=(
    ("x4", F32, 4), ("Wp1", F32, 3), ("Wp2", F32, 3), ("b_hn", F32, 1), ("h", F32, 2), ("lens", I64, 1),
    ("out", F32, 3), ("h_prev_all", F32, 3), ("g4_all", F32, 4), ("gates_all", F32, 3), ("s_all", F32, 3),
    ("r_ws", F32, 2), ("sn", F32, 2),
))
BACKWARD = Layout("gru backward", flags=("reverse", "reset_after"), arrays=(
    ("d_out", F32, 3), ("dh", F32, 2), ("Wbp1", F32, 3), ("Wbp2", F32, 3), ("h_prev_all", F32, 3),
    ("g4_all", F32, 4), ("s_all", F32, 3), ("lens", I64, 1), ("d4", F32, 4), ("d_x_proj", F32, 3),
    ("d_s_all", F32, 3), ("ws", F32, 2), ("ws4", F32, 3), ("g_ws", F32, 2), ("dhz", F32, 2), ("dh_new", F32, 2),
))
_F, _B = FORWARD.slots, BACKWARD.slots


@cfunc(WORKER_SIG, **WORKER_OPTS)
def forward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (_F.size,))
    r0 = a >> ctx[0]
    forward_rows(r0, r0 + m_rows, f32_4(ctx, _F.x4), f32_3(ctx, _F.Wp1), f32_3(ctx, _F.Wp2), f32_1(ctx, _F.b_hn),
                 f32_2(ctx, _F.h), i64_1(ctx, _F.lens), ctx[_F.reverse] != 0, ctx[_F.reset_after] != 0,
                 ctx[_F.keep] != 0, f32_3(ctx, _F.out), f32_3(ctx, _F.h_prev_all), f32_3(ctx, _F.gates_all),
                 f32_4(ctx, _F.g4_all), f32_3(ctx, _F.s_all), f32_2(ctx, _F.r_ws), f32_2(ctx, _F.sn))
    return 0


@cfunc(WORKER_SIG, **WORKER_OPTS)
def backward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (_B.size,))
    r0 = a >> ctx[0]
    backward_rows(r0, r0 + m_rows, f32_3(ctx, _B.d_out), f32_2(ctx, _B.dh), f32_3(ctx, _B.Wbp1),
                  f32_3(ctx, _B.Wbp2), f32_3(ctx, _B.h_prev_all), f32_4(ctx, _B.g4_all), f32_3(ctx, _B.s_all),
                  i64_1(ctx, _B.lens), ctx[_B.reverse] != 0, ctx[_B.reset_after] != 0, f32_3(ctx, _B.d_x_proj),
                  f32_4(ctx, _B.d4), f32_3(ctx, _B.d_s_all), f32_2(ctx, _B.ws), f32_3(ctx, _B.ws4),
                  f32_2(ctx, _B.g_ws), f32_2(ctx, _B.dhz), f32_2(ctx, _B.dh_new))
    return 0
