"""A small float32 matrix product for compiled code, with the weight packed once per call.

A recurrence multiplies the same weight by a few rows at every step. BLAS repacks the
weight at each call; here it is packed once per sequence into panels of P columns (two
vectors: P = 32 at 512 bits, 16 at 256, the width ``_simd`` chose),
``Wp[p, k, :] = W[k, P p : P p + P]`` (zero past the last column), and each step runs a
register-blocked kernel over the rows::

    C[r0 : r0 + R, P p : P p + P] = A[r0 : r0 + R, :] @ Wp[p]        R <= 12 rows at 512, 6 at 256

The kernel (``_mk``, one body per R) is written in LLVM IR: 2R accumulators of L = P / 2 floats
(16 or 8) stay in registers for the whole ``k`` loop, each ``k`` loads one panel row (P floats),
and broadcasts one element of each of the R rows of A (2R fused multiply-adds); the last panel
of an N that is not a multiple of P is stored lane by lane. The rows are cut into blocks of
equal size (8 rows at 256 are 4 + 4, not 6 + 2: a 2-row block has too few accumulators to keep
both FMA units busy). 12 rows at 512 read each panel half as often as 6. Measured on Zen 5 (one
core, CPU time, busy machine) on the per-thread shapes of the bench rows S..XL: 256-bit
94-113 GFLOP/s, 512-bit with 6 rows 171-224, with 12 rows 168-231 (XL: 94, 176, 225).
The workers of ``_pool`` use it for every per-step product: they must not call BLAS.

    pack(W)                         (K, N) -> (ceil(N / P), K, P), zero-padded
    gemm_packed(A, Wp, C, N)        C[:, :N] = A @ W            A (M, K), C (M, >= N)
    gemm_packed2(A1, A2, Wp, C, N)  C[:, :N] = [A1 | A2] @ W    two sources, one pass
                                    (the LSTM's [x_t | h_{t-1}] @ [W_ih | W_hh].T)

    >>> import numpy as np
    >>> A, W = np.ones((3, 5), np.float32), np.arange(35, dtype=np.float32).reshape(5, 7)
    >>> C = np.zeros((3, 7), np.float32)
    >>> gemm_packed(A, pack(W), C, 7)
    >>> bool(np.array_equal(C, A @ W))
    True
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from rnnkit.kernels.fast import _simd
from rnnkit.kernels.fast._jit import kernel

__all__ = ["PANEL", "LANES", "VECTOR_BITS", "pack", "pack_transposed", "gemm_packed", "gemm_packed2"]

LANES = _simd.LANES              # float32 lanes per vector: 16 at 512 bits, 8 at 256 (``_simd``)
VECTOR_BITS = _simd.BITS         # the microkernel's vector width (``rnnkit bench`` reports it)
PANEL = 2 * LANES                # columns per panel: two vectors
_MAX_ROWS = 12 if LANES == 16 else 6   # 2R accumulators + 2 weight vectors: 26 of the 32 zmm, 14 of the 16 ymm


def _emit_k_loop(builder, fma, a_p, lda, k_n, w_p, accs_in, rows):
    """``acc[r] += a[r, k] * w[k, :]`` for k < k_n (a loop in the IR); returns the accumulators
    after it (phis of the exit block, which also takes k_n <= 0)."""
    f32 = ir.FloatType()
    vec = ir.VectorType(f32, LANES)
    vptr = vec.as_pointer()
    i64 = ir.IntType(64)
    undef = ir.Constant(vec, ir.Undefined)
    idx0 = ir.Constant(ir.IntType(32), 0)
    splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)

    entry = builder.basic_block
    loop = builder.append_basic_block("mk.loop")
    done = builder.append_basic_block("mk.done")
    builder.cbranch(builder.icmp_signed(">", k_n, ir.Constant(i64, 0)), loop, done)

    builder.position_at_end(loop)
    k = builder.phi(i64)
    accs = [builder.phi(vec) for _ in range(2 * rows)]
    w_row = builder.gep(w_p, [builder.mul(k, ir.Constant(i64, PANEL))])
    w0 = builder.load(builder.bitcast(w_row, vptr), align=4)
    w1 = builder.load(builder.bitcast(builder.gep(w_row, [ir.Constant(i64, LANES)]), vptr), align=4)
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
        phi = builder.phi(vec)
        phi.add_incoming(a_in, entry)
        phi.add_incoming(nv, loop_end)
        out.append(phi)
    return out


def _emit_store(builder, accs, c_p, ldc, width, rows):
    """``C[r, :width] = acc[r][:width]``: whole vectors when the panel is full (width = PANEL),
    else lane by lane (the last panel of an N that is not a multiple of PANEL)."""
    i64 = ir.IntType(64)
    vptr = ir.VectorType(ir.FloatType(), LANES).as_pointer()
    c_rows = [builder.gep(c_p, [builder.mul(ir.Constant(i64, r), ldc)]) for r in range(rows)]
    full = builder.icmp_signed("==", width, ir.Constant(i64, PANEL))
    with builder.if_else(full, likely=True) as (whole, part):
        with whole:
            for r, c_row in enumerate(c_rows):
                builder.store(accs[2 * r], builder.bitcast(c_row, vptr), align=4)
                builder.store(accs[2 * r + 1], builder.bitcast(builder.gep(c_row, [ir.Constant(i64, LANES)]), vptr),
                              align=4)
        with part:
            for j in range(PANEL - 1):                  # width < PANEL
                with builder.if_then(builder.icmp_signed("<", ir.Constant(i64, j), width)):
                    for r, c_row in enumerate(c_rows):
                        lane = builder.extract_element(accs[2 * r + j // LANES], ir.Constant(ir.IntType(32), j % LANES))
                        builder.store(lane, builder.gep(c_row, [ir.Constant(i64, j)]), align=4)


def _microkernel():
    """An intrinsic ``mk(R, a1, lda1, K1, a2, lda2, K2, w, c, ldc, width)``: the product of R
    rows (1 <= R <= _MAX_ROWS; a switch over R, one register-blocked body per row count) of
    ``[A1 | A2]`` (two sources, K1 + K2 columns) with one panel, its first ``width`` columns
    stored (pointers as int64 addresses; K2 = 0 for one source)."""
    f32 = ir.FloatType()
    vec = ir.VectorType(f32, LANES)
    i64 = ir.IntType(64)

    @intrinsic
    def mk(typingctx, R, a1, lda1, K1, a2, lda2, K2, w, c, ldc, width):
        sig = types.void(*([types.int64] * 11))

        def codegen(context, builder, signature, args):
            r_v, a1_addr, lda1_v, k1, a2_addr, lda2_v, k2, w_addr, c_addr, ldc_v, width_v = args
            fptr = f32.as_pointer()
            w_p = builder.inttoptr(w_addr, fptr)
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec, vec, vec]),
                                                 f"llvm.fma.v{LANES}f32")
            end = builder.append_basic_block("mk.end")
            switch = builder.switch(r_v, end)
            for rows in range(1, _MAX_ROWS + 1):
                body = builder.append_basic_block(f"mk.rows{rows}")
                switch.add_case(ir.Constant(i64, rows), body)
                builder.position_at_end(body)
                accs = [ir.Constant(vec, [0.0] * LANES)] * (2 * rows)
                accs = _emit_k_loop(builder, fma, builder.inttoptr(a1_addr, fptr), lda1_v, k1, w_p, accs, rows)
                w2_p = builder.gep(w_p, [builder.mul(k1, ir.Constant(i64, PANEL))])
                accs = _emit_k_loop(builder, fma, builder.inttoptr(a2_addr, fptr), lda2_v, k2, w2_p, accs, rows)
                _emit_store(builder, accs, builder.inttoptr(c_addr, fptr), ldc_v, width_v, rows)
                builder.branch(end)
            builder.position_at_end(end)
            return context.get_dummy_value()

        return sig, codegen

    return mk


_mk = _microkernel()


def pack(W: np.ndarray) -> np.ndarray:
    """W (K, N) float32 -> panels (ceil(N / PANEL), K, PANEL), zero-padded."""
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
def gemm_packed2(A1, A2, Wp, C, N):
    """C[:, :N] = [A1 | A2] @ W for Wp = pack(W), W (K1 + K2, N); A1 (M, K1), A2 (M, K2) and
    C (M, >= N) float32 with unit column stride."""
    M, K1 = A1.shape
    K2 = A2.shape[1]
    a10, lda1 = A1.ctypes.data, A1.strides[0] // 4
    a20, lda2 = A2.ctypes.data, A2.strides[0] // 4
    c0, ldc = C.ctypes.data, C.strides[0] // 4
    n_blk = -(-M // _MAX_ROWS)
    for p in range(Wp.shape[0]):
        w = Wp[p].ctypes.data
        width = min(PANEL, N - p * PANEL)
        r = 0
        for blk in range(n_blk):
            R = (M - r) // (n_blk - blk)                  # balanced blocks: 8 rows are 4 + 4, not 6 + 2
            _mk(R, a10 + r * lda1 * 4, lda1, K1, a20 + r * lda2 * 4, lda2, K2, w, c0 + (r * ldc + p * PANEL) * 4,
                ldc, width)
            r += R


@kernel
def gemm_packed(A, Wp, C, N):
    """C[:, :N] = A @ W for Wp = pack(W); A (M, K) and C (M, >= N) float32 with unit column
    stride."""
    gemm_packed2(A, A[:, :0], Wp, C, N)
