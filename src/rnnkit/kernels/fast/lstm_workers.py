"""The LSTM's per-worker sequence functions as C callbacks for :mod:`rnnkit.kernels.fast._pool`
(float32; imported, and compiled or loaded from Numba's cache, on first use).

Each worker rebuilds its arrays from the context array (:class:`~rnnkit.kernels.fast._context.Layout`
below: the one declaration of its slots; all arrays C-contiguous) and runs ``lstm_seq`` on its
rows ``[r0, r0 + m)``, ``r0 = a >> ctx[0]``. Shapes (``lstm.forward``/``lstm.backward`` build
them; Tk = T with ``keep``, else 1 scratch step; Tm = Tk with a projection, else 1)::

    forward   x (T,B,I), bias4 (4,H), Wp (ceil(4H/PANEL),I+P,PANEL) = pack([W_ih | W_hh].T),
              Wrp (n2,H,PANEL) = pack(W_hr.T), h (B,P), c (B,H), lens (int64), out (T,B,P),
              hx_all (Tk,B,I+P), c_prev_all (Tk,B,H), g4_all (Tk,B,4,H) and gates_all (Tk,B,4H)
              (one store), tanh_c_all (Tk,B,H), m_all (Tm,B,H), m (B,H), hp (B,P), c_new (B,H)
    backward  d_out (T,B,P), dh (B,P), dc (B,H), Wbp (ceil(P/PANEL),4H,PANEL) = pack(W_hh), Wrbp (n2,P,PANEL)
              = pack(W_hr), c_prev_all (T,B,H), g4_all (T,B,4,H), tanh_c_all (T,B,H), lens,
              d4 (T,B,4,H) and d_x_proj (T,B,4H) (one array), dh_out_all (Tm,B,P), gh (B,P),
              dm (B,H), dct (B,H), dh_new (B,P), Wip (ceil(I/PANEL),4H,PANEL) = pack(W_ih), dx (T,B,I),
              db_rows (B,4H)
"""

from __future__ import annotations

from numba import carray, cfunc

from rnnkit.kernels.fast._context import (
    F32,
    I64,
    WORKER_OPTS,
    WORKER_SIG,
    Layout,
    f32_2,
    f32_3,
    f32_4,
    i64_1,
    ptr_i64,
)
from rnnkit.kernels.fast.lstm_seq import backward_rows, forward_rows

FORWARD = Layout("lstm forward", flags=("reverse", "keep", "has_proj"), arrays=(
    ("x", F32, 3), ("bias4", F32, 2), ("Wp", F32, 3), ("Wrp", F32, 3), ("h", F32, 2), ("c", F32, 2),
    ("lens", I64, 1), ("out", F32, 3), ("hx_all", F32, 3), ("c_prev_all", F32, 3), ("g4_all", F32, 4),
    ("gates_all", F32, 3), ("tanh_c_all", F32, 3), ("m_all", F32, 3), ("m", F32, 2), ("hp", F32, 2),
    ("c_new", F32, 2),
))
BACKWARD = Layout("lstm backward", flags=("reverse", "has_proj"), arrays=(
    ("d_out", F32, 3), ("dh", F32, 2), ("dc", F32, 2), ("Wbp", F32, 3), ("Wrbp", F32, 3), ("c_prev_all", F32, 3),
    ("g4_all", F32, 4), ("tanh_c_all", F32, 3), ("lens", I64, 1), ("d4", F32, 4), ("d_x_proj", F32, 3),
    ("dh_out_all", F32, 3), ("gh", F32, 2), ("dm", F32, 2), ("dct", F32, 2), ("dh_new", F32, 2), ("Wip", F32, 3),
    ("dx", F32, 3), ("db_rows", F32, 2),
))
_F, _B = FORWARD.slots, BACKWARD.slots


@cfunc(WORKER_SIG, **WORKER_OPTS)
def forward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (_F.size,))
    r0 = a >> ctx[0]
    forward_rows(r0, r0 + m_rows, f32_3(ctx, _F.x), f32_2(ctx, _F.bias4), f32_3(ctx, _F.Wp), f32_3(ctx, _F.Wrp),
                 ctx[_F.has_proj] != 0, f32_2(ctx, _F.h), f32_2(ctx, _F.c), i64_1(ctx, _F.lens),
                 ctx[_F.reverse] != 0, ctx[_F.keep] != 0, f32_3(ctx, _F.out), f32_3(ctx, _F.hx_all),
                 f32_3(ctx, _F.c_prev_all), f32_3(ctx, _F.gates_all), f32_4(ctx, _F.g4_all),
                 f32_3(ctx, _F.tanh_c_all), f32_3(ctx, _F.m_all), f32_2(ctx, _F.m), f32_2(ctx, _F.hp),
                 f32_2(ctx, _F.c_new))
    return 0


@cfunc(WORKER_SIG, **WORKER_OPTS)
def backward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (_B.size,))
    r0 = a >> ctx[0]
    backward_rows(r0, r0 + m_rows, f32_3(ctx, _B.d_out), f32_2(ctx, _B.dh), f32_2(ctx, _B.dc), f32_3(ctx, _B.Wbp),
                  f32_3(ctx, _B.Wrbp), ctx[_B.has_proj] != 0, f32_3(ctx, _B.c_prev_all), f32_4(ctx, _B.g4_all),
                  f32_3(ctx, _B.tanh_c_all), i64_1(ctx, _B.lens), ctx[_B.reverse] != 0, f32_3(ctx, _B.d_x_proj),
                  f32_4(ctx, _B.d4), f32_3(ctx, _B.dh_out_all), f32_2(ctx, _B.gh), f32_2(ctx, _B.dm),
                  f32_2(ctx, _B.dct), f32_2(ctx, _B.dh_new), f32_3(ctx, _B.Wip), f32_3(ctx, _B.dx),
                  f32_2(ctx, _B.db_rows))
    return 0
