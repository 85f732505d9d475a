"""A small float32 matrix product for compiled code, with the weight packed once per call.

A recurrence multiplies the same weight by a few rows at every step. BLAS repacks the
weight at each call; here it is packed once per sequence into panels of 16 columns,
``Wp[p, k, :] = W[k, 16 p : 16 p + 16]`` (zero past the last column), and each step runs a
register-blocked kernel over the rows::

    C[r0 : r0 + R, 16 p : 16 p + 16] = A[r0 : r0 + R, :] @ Wp[p]        R <= 6 rows

The kernel (``_microkernel(R)``) is written in LLVM IR: 2R accumulators of 8 floats stay
in registers for the whole ``k`` loop, each ``k`` loads one panel row (16 floats), and
broadcasts one element of each of the R rows of A (2R fused multiply-adds). The workers of
``_pool`` use it for every per-step product: they must not call BLAS.

    pack(W)                         (K, N) -> (ceil(N / 16), K, 16), zero-padded
    gemm_packed(A, Wp, C, N)        C[:, :N] = A @ W            A (M, K), C (M, >= N)
    gemm_packed2(A1, A2, Wp, C, N)  C[:, :N] = [A1 | A2] @ W    two sources, one pass
                                    (the LSTM's [x_t | h_{t-1}] @ [W_ih | W_hh].T)
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from rnnkit.kernels.fast._jit import kernel

__all__ = ["PANEL", "pack", "pack_transposed", "gemm_packed", "gemm_packed2"]

PANEL = 16
_MAX_ROWS = 6


def _emit_k_loop(builder, fma, a_p, lda, k_n, w_p, accs_in, rows):
    """``acc[r] += a[r, k] * w[k, :]`` for k < k_n (a loop in the IR); returns the accumulators
    after it (phis of the exit block, which also takes k_n <= 0)."""
    f32 = ir.FloatType()
    v8 = ir.VectorType(f32, 8)
    vptr = v8.as_pointer()
    i64 = ir.IntType(64)
    undef = ir.Constant(v8, ir.Undefined)
    idx0 = ir.Constant(ir.IntType(32), 0)
    splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8)

    entry = builder.basic_block
    loop = builder.append_basic_block("mk.loop")
    done = builder.append_basic_block("mk.done")
    builder.cbranch(builder.icmp_signed(">", k_n, ir.Constant(i64, 0)), loop, done)

    builder.position_at_end(loop)
    k = builder.phi(i64)
    accs = [builder.phi(v8) for _ in range(2 * rows)]
    w_row = builder.gep(w_p, [builder.mul(k, ir.Constant(i64, PANEL))])
    w0 = builder.load(builder.bitcast(w_row, vptr), align=4)
    w1 = builder.load(builder.bitcast(builder.gep(w_row, [ir.Constant(i64, 8)]), vptr), align=4)
    new = []
    for r in range(rows):
        a_el = builder.load(builder.gep(a_p, [builder.add(builder.mul(ir.Constant(i64, r), lda), k)]), align=4)
        av = builder.shuffle_vector(builder.insert_element(undef, a_el, idx0), undef, splat_mask)
        new.append(builder.call(fma, [av, w0, accs[2 * r]]))
        new.append(builder.call(fma, [av, w1, accs[2 * r + 1]]))
    k_next = builder.add(k, ir.Constant(i64, 1))
    loop_end = builder.basic_block
    builder.cbranch(builder.icmp_signed("<", k_next, k_n), loop, done)
    k.add_incoming(ir.Constant(i64, 0), entry)
    k.add_incoming(k_next, loop_end)
    for acc, a_in, nv in zip(accs, accs_in, new):
        acc.add_incoming(a_in, entry)
        acc.add_incoming(nv, loop_end)

    builder.position_at_end(done)
    out = []
    for a_in, nv in zip(accs_in, new):
        phi = builder.phi(v8)
        phi.add_incoming(a_in, entry)
        phi.add_incoming(nv, loop_end)
        out.append(phi)
    return out


def _microkernel(rows):
    """An intrinsic ``mk(a1, lda1, K1, a2, lda2, K2, w, c, ldc)`` for ``rows`` rows: the
    product of the rows of ``[A1 | A2]`` (two sources, K1 + K2 columns) with one panel
    (pointers as int64 addresses; K2 = 0 for one source)."""
    f32 = ir.FloatType()
    v8 = ir.VectorType(f32, 8)
    i64 = ir.IntType(64)

    @intrinsic
    def mk(typingctx, a1, lda1, K1, a2, lda2, K2, w, c, ldc):
        sig = types.void(*([types.int64] * 9))

        def codegen(context, builder, signature, args):
            a1_addr, lda1_v, k1, a2_addr, lda2_v, k2, w_addr, c_addr, ldc_v = args
            fptr = f32.as_pointer()
            vptr = v8.as_pointer()
            w_p = builder.inttoptr(w_addr, fptr)
            c_p = builder.inttoptr(c_addr, fptr)
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v8, [v8, v8, v8]), "llvm.fma.v8f32")
            accs = [ir.Constant(v8, [0.0] * 8)] * (2 * rows)
            accs = _emit_k_loop(builder, fma, builder.inttoptr(a1_addr, fptr), lda1_v, k1, w_p, accs, rows)
            w2_p = builder.gep(w_p, [builder.mul(k1, ir.Constant(i64, PANEL))])
            accs = _emit_k_loop(builder, fma, builder.inttoptr(a2_addr, fptr), lda2_v, k2, w2_p, accs, rows)
            for r in range(rows):
                c_row = builder.gep(c_p, [builder.mul(ir.Constant(i64, r), ldc_v)])
                builder.store(accs[2 * r], builder.bitcast(c_row, vptr), align=4)
                builder.store(accs[2 * r + 1], builder.bitcast(builder.gep(c_row, [ir.Constant(i64, 8)]), vptr),
                              align=4)
            return context.get_dummy_value()

        return sig, codegen

    return mk


_mk1, _mk2, _mk3, _mk4, _mk5, _mk6 = (_microkernel(r) for r in range(1, _MAX_ROWS + 1))


def pack(W: np.ndarray) -> np.ndarray:
    """W (K, N) float32 -> panels (ceil(N / 16), K, 16), zero-padded."""
    K, N = W.shape
    n_pan = -(-N // PANEL)
    padded = np.zeros((K, n_pan * PANEL), np.float32)
    padded[:, :N] = W
    return np.ascontiguousarray(padded.reshape(K, n_pan, PANEL).transpose(1, 0, 2))


@kernel
def _pack_transposed(A1, A2, Wp):
    N, K1 = A1.shape
    K2 = A2.shape[1]
    for p in range(Wp.shape[0]):
        for j in range(PANEL):
            n = p * PANEL + j
            if n < N:
                for k in range(K1):
                    Wp[p, k, j] = A1[n, k]
                for k in range(K2):
                    Wp[p, K1 + k, j] = A2[n, k]
            else:
                for k in range(K1 + K2):
                    Wp[p, k, j] = 0.0


def pack_transposed(A1: np.ndarray, A2: np.ndarray) -> np.ndarray:
    """``pack([A1 | A2].T)`` in one pass (A1 (N, K1), A2 (N, K2) float32, C-contiguous):
    the forward weight ``[W_ih | W_hh]`` of the LSTM and the RNN, packed without building
    the concatenation or its transpose."""
    N = A1.shape[0]
    Wp = np.empty((-(-N // PANEL), A1.shape[1] + A2.shape[1], PANEL), np.float32)
    _pack_transposed(np.ascontiguousarray(A1, dtype=np.float32), np.ascontiguousarray(A2, dtype=np.float32), Wp)
    return Wp


@kernel
def _rows(R, a1, lda1, K1, a2, lda2, K2, w, c, ldc):
    if R == 6:
        _mk6(a1, lda1, K1, a2, lda2, K2, w, c, ldc)
    elif R == 5:
        _mk5(a1, lda1, K1, a2, lda2, K2, w, c, ldc)
    elif R == 4:
        _mk4(a1, lda1, K1, a2, lda2, K2, w, c, ldc)
    elif R == 3:
        _mk3(a1, lda1, K1, a2, lda2, K2, w, c, ldc)
    elif R == 2:
        _mk2(a1, lda1, K1, a2, lda2, K2, w, c, ldc)
    else:
        _mk1(a1, lda1, K1, a2, lda2, K2, w, c, ldc)


@kernel
def gemm_packed2(A1, A2, Wp, C, N, tmp):
    """C[:, :N] = [A1 | A2] @ W for Wp = pack(W), W (K1 + K2, N); A1 (M, K1), A2 (M, K2) and
    C (M, >= N) float32 with unit column stride; tmp (6, 16) float32 scratch for the last,
    partial panel."""
    M, K1 = A1.shape
    K2 = A2.shape[1]
    n_pan = Wp.shape[0]
    a10, lda1 = A1.ctypes.data, A1.strides[0] // 4
    a20, lda2 = A2.ctypes.data, A2.strides[0] // 4
    c0, ldc = C.ctypes.data, C.strides[0] // 4
    for p in range(n_pan):
        w = Wp[p].ctypes.data
        width = min(PANEL, N - p * PANEL)
        for r in range(0, M, _MAX_ROWS):
            R = min(_MAX_ROWS, M - r)
            a1, a2 = a10 + r * lda1 * 4, a20 + r * lda2 * 4
            if width == PANEL:
                _rows(R, a1, lda1, K1, a2, lda2, K2, w, c0 + (r * ldc + p * PANEL) * 4, ldc)
            else:
                _rows(R, a1, lda1, K1, a2, lda2, K2, w, tmp.ctypes.data, PANEL)
                for i in range(R):
                    for j in range(width):
                        C[r + i, p * PANEL + j] = tmp[i, j]


@kernel
def gemm_packed(A, Wp, C, N, tmp):
    """C[:, :N] = A @ W for Wp = pack(W); A (M, K) and C (M, >= N) float32 with unit column
    stride; tmp (6, 16) float32 scratch for the last, partial panel."""
    gemm_packed2(A, A[:, :0], Wp, C, N, tmp)
