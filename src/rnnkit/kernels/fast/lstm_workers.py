"""The LSTM's row-parallel step passes as C callbacks for :mod:`rnnkit.kernels.fast._pool`
(float32; imported, and compiled or loaded from Numba's cache, on first use).

Each worker rebuilds its arrays from the context array (the layouts below are written by
``lstm._forward_context`` / ``lstm._backward_context``) and runs ``lstm_rows`` on its rows
``[r0, r0 + m)``, ``r0 = a >> ctx[0]``, at step ``t = ctx[1]`` (cache step ``ctx[2]``).

    forward  ctx[3:9]  = T, B, H, Tk, len(lens), write_h
             ctx[10:20] = x4 (T,B,4,H), bias4 (4,H), g4_all (Tk,B,4,H), c, c_new (B,H),
                          tanh_c_all (Tk,B,H), m (B,H), out (T,B,H), h (B,H), lens
    backward ctx[3:9]  = T, B, H, P, len(lens), make_gh
             ctx[10:21] = d_out (T,B,P), dh (B,P), dc (B,H), g4_all (T,B,4,H),
                          c_prev_all, tanh_c_all (T,B,H), d4 (T,B,4,H), gh (B,P),
                          dm (B,H), lens, dct (B,H)
"""

from __future__ import annotations

from numba import carray, cfunc

from rnnkit.kernels.fast._pool import WORKER_SIG, ptr_f32, ptr_i64
from rnnkit.kernels.fast.lstm_rows import gate_rows, grad_rows

_OPTS = {"nopython": True, "cache": True, "error_model": "numpy", "fastmath": {"contract", "nsz"}}


@cfunc(WORKER_SIG, **_OPTS)
def forward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (24,))
    t, tk = ctx[1], ctx[2]
    T, B, H, Tk, n_lens, write_h = ctx[3], ctx[4], ctx[5], ctx[6], ctx[7], ctx[8]
    r0 = a >> ctx[0]
    x4 = carray(ptr_f32(ctx[10]), (T, B, 4, H))
    bias4 = carray(ptr_f32(ctx[11]), (4, H))
    g4_all = carray(ptr_f32(ctx[12]), (Tk, B, 4, H))
    c = carray(ptr_f32(ctx[13]), (B, H))
    c_new = carray(ptr_f32(ctx[14]), (B, H))
    tanh_c_all = carray(ptr_f32(ctx[15]), (Tk, B, H))
    m = carray(ptr_f32(ctx[16]), (B, H))
    out = carray(ptr_f32(ctx[17]), (T, B, H))
    h = carray(ptr_f32(ctx[18]), (B, H))
    lens = carray(ptr_i64(ctx[19]), (n_lens,))
    gate_rows(r0, r0 + m_rows, t, x4[t], bias4, g4_all[tk], c, c_new, tanh_c_all[tk], m, lens, write_h != 0,
              out[t], h)
    return 0


@cfunc(WORKER_SIG, **_OPTS)
def backward_worker(m_rows, n, k, alpha, a, lda, b, ldb, ctx_addr, ldc, sb):
    ctx = carray(ptr_i64(ctx_addr), (24,))
    t = ctx[1]
    T, B, H, P, n_lens, make_gh = ctx[3], ctx[4], ctx[5], ctx[6], ctx[7], ctx[8]
    r0 = a >> ctx[0]
    d_out = carray(ptr_f32(ctx[10]), (T, B, P))
    dh = carray(ptr_f32(ctx[11]), (B, P))
    dc = carray(ptr_f32(ctx[12]), (B, H))
    g4_all = carray(ptr_f32(ctx[13]), (T, B, 4, H))
    c_prev_all = carray(ptr_f32(ctx[14]), (T, B, H))
    tanh_c_all = carray(ptr_f32(ctx[15]), (T, B, H))
    d4 = carray(ptr_f32(ctx[16]), (T, B, 4, H))
    gh = carray(ptr_f32(ctx[17]), (B, P))
    dm = carray(ptr_f32(ctx[18]), (B, H))
    lens = carray(ptr_i64(ctx[19]), (n_lens,))
    dct = carray(ptr_f32(ctx[20]), (B, H))
    grad_rows(r0, r0 + m_rows, t, d_out[t], dh, make_gh != 0, gh, dm, dc, dct, g4_all[t], c_prev_all[t],
              tanh_c_all[t], d4[t], lens)
    return 0
