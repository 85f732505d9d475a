"""A small float32 matrix product for compiled code, with the weight packed once per call.

A recurrence multiplies the same weight by a few rows at every step. BLAS repacks the
weight at each call; here it is packed once per sequence into panels of 16 columns,
``Wp[p, k, :] = W[k, 16 p : 16 p + 16]`` (zero past the last column), and each step runs a
register-blocked kernel over the rows::

    C[r0 : r0 + R, 16 p : 16 p + 16] = A[r0 : r0 + R, :] @ Wp[p]        R <= 6 rows

The kernel (``_microkernel(R)``) is written in LLVM IR: 2R accumulators of 8 floats stay
in registers for the whole ``k`` loop, each ``k`` loads one panel row (16 floats), and
broadcasts one element of each of the R rows of A (2R fused multiply-adds). It is the
only code that runs in a worker thread of ``_pool``, which must not call BLAS.

    pack(W)                   (K, N) -> (ceil(N / 16), K, 16), zero-padded
    gemm_packed(A, Wp, C, N)  C[:, :N] = A @ W          A (M, K), C (M, >= N) row strides free
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from rnnkit.kernels.fast._jit import kernel

__all__ = ["PANEL", "pack", "gemm_packed"]

PANEL = 16
_MAX_ROWS = 6


def _microkernel(rows):
    """An intrinsic ``mk(a, lda, w, c, ldc, K)`` for ``rows`` rows (pointers as int64 addresses)."""
    f32 = ir.FloatType()
    v8 = ir.VectorType(f32, 8)
    i64 = ir.IntType(64)

    @intrinsic
    def mk(typingctx, a, lda, w, c, ldc, K):
        sig = types.void(types.int64, types.int64, types.int64, types.int64, types.int64, types.int64)

        def codegen(context, builder, signature, args):
            a_addr, lda_v, w_addr, c_addr, ldc_v, k_n = args
            fptr = f32.as_pointer()
            vptr = v8.as_pointer()
            a_p = builder.inttoptr(a_addr, fptr)
            w_p = builder.inttoptr(w_addr, fptr)
            c_p = builder.inttoptr(c_addr, fptr)
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v8, [v8, v8, v8]), "llvm.fma.v8f32")
            zero = ir.Constant(v8, [0.0] * 8)
            undef = ir.Constant(v8, ir.Undefined)
            idx0 = ir.Constant(ir.IntType(32), 0)
            splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8)

            entry = builder.basic_block
            loop = builder.append_basic_block("mk.loop")
            done = builder.append_basic_block("mk.done")
            has_work = builder.icmp_signed(">", k_n, ir.Constant(i64, 0))
            builder.cbranch(has_work, loop, done)

            builder.position_at_end(loop)
            k = builder.phi(i64)
            accs = [builder.phi(v8) for _ in range(2 * rows)]
            w_row = builder.gep(w_p, [builder.mul(k, ir.Constant(i64, PANEL))])
            w0 = builder.load(builder.bitcast(w_row, vptr), align=4)
            w1 = builder.load(builder.bitcast(builder.gep(w_row, [ir.Constant(i64, 8)]), vptr), align=4)
            new = []
            for r in range(rows):
                a_el = builder.load(builder.gep(a_p, [builder.add(builder.mul(ir.Constant(i64, r), lda_v), k)]),
                                    align=4)
                av = builder.shuffle_vector(builder.insert_element(undef, a_el, idx0), undef, splat_mask)
                new.append(builder.call(fma, [av, w0, accs[2 * r]]))
                new.append(builder.call(fma, [av, w1, accs[2 * r + 1]]))
            k_next = builder.add(k, ir.Constant(i64, 1))
            loop_end = builder.basic_block
            builder.cbranch(builder.icmp_signed("<", k_next, k_n), loop, done)
            k.add_incoming(ir.Constant(i64, 0), entry)
            k.add_incoming(k_next, loop_end)
            for acc, nv in zip(accs, new):
                acc.add_incoming(zero, entry)
                acc.add_incoming(nv, loop_end)

            builder.position_at_end(done)
            results = []                                     # all phis first, then the stores
            for nv in new:
                phi = builder.phi(v8)
                phi.add_incoming(zero, entry)
                phi.add_incoming(nv, loop_end)
                results.append(phi)
            for r in range(rows):
                c_row = builder.gep(c_p, [builder.mul(ir.Constant(i64, r), ldc_v)])
                builder.store(results[2 * r], builder.bitcast(c_row, vptr), align=4)
                builder.store(results[2 * r + 1], builder.bitcast(builder.gep(c_row, [ir.Constant(i64, 8)]), vptr),
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
def _rows(R, a, lda, w, c, ldc, K):
    if R == 6:
        _mk6(a, lda, w, c, ldc, K)
    elif R == 5:
        _mk5(a, lda, w, c, ldc, K)
    elif R == 4:
        _mk4(a, lda, w, c, ldc, K)
    elif R == 3:
        _mk3(a, lda, w, c, ldc, K)
    elif R == 2:
        _mk2(a, lda, w, c, ldc, K)
    else:
        _mk1(a, lda, w, c, ldc, K)


@kernel
def gemm_packed(A, Wp, C, N, tmp):
    """C[:, :N] = A @ W for Wp = pack(W); A (M, K) and C (M, >= N) float32 with unit column
    stride; tmp (6, 16) float32 scratch for the last, partial panel."""
    M, K = A.shape
    n_pan = Wp.shape[0]
    a0, lda = A.ctypes.data, A.strides[0] // 4
    c0, ldc = C.ctypes.data, C.strides[0] // 4
    for p in range(n_pan):
        w = Wp[p].ctypes.data
        width = min(PANEL, N - p * PANEL)
        for r in range(0, M, _MAX_ROWS):
            R = min(_MAX_ROWS, M - r)
            a = a0 + r * lda * 4
            if width == PANEL:
                _rows(R, a, lda, w, c0 + (r * ldc + p * PANEL) * 4, ldc, K)
            else:
                _rows(R, a, lda, w, tmp.ctypes.data, PANEL, K)
                for i in range(R):
                    for j in range(width):
                        C[r + i, p * PANEL + j] = tmp[i, j]
