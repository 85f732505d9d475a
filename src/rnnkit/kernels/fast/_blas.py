"""Matrix products called from compiled code: NumPy's own BLAS, by symbol.

Numba's ``np.dot`` reaches SciPy's BLAS; NumPy's bundled OpenBLAS was faster on the skinny
per-step products of a recurrence (``(B, H) @ (H, 4H)``, figures in
``benchmarks/results/kernels_notes.md``), and calling it directly also gives what ``np.dot`` cannot:
``beta`` (accumulate into the output) and a row stride (``lda``), so a gate block of a
weight or a column block of a workspace is used in place, with no copy.

The library is found in the ``numpy.libs`` directory of the NumPy wheel and declared to
LLVM by symbol name (``types.ExternalFunction``), which keeps the kernels cacheable.
Without it (another NumPy build) the products fall back to ``np.dot``.

    mm_nt(A, B, C, beta):   C = A @ B.T + beta * C      A (M, K), B (N, K), C (M, N)
    mm_nn(A, B, C, beta):   C = A @ B   + beta * C      A (M, K), B (K, N), C (M, N)

Every operand must have a unit stride along its last axis (rows may be strided).
"""

from __future__ import annotations

import ctypes
import glob
import os

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types
from numba.extending import overload

__all__ = ["mm_nt", "mm_nn", "BLAS_LIBRARY"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_SYMBOLS = (("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_"), ("cblas_sgemm64_", "cblas_dgemm64_"))


def _find_numpy_blas():
    """(path, sgemm name, dgemm name) of NumPy's bundled 64-bit-int CBLAS, or None."""
    libs_dir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs_dir, "*openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for s_name, d_name in _SYMBOLS:
            if hasattr(lib, s_name) and hasattr(lib, d_name):
                return path, s_name, d_name, lib
    return None


_found = _find_numpy_blas()
BLAS_LIBRARY = _found[0] if _found else "numba np.dot (SciPy BLAS)"


def _gemm_signature(real):
    i32, i64, ptr = types.int32, types.int64, types.uintp      # pointers passed as addresses
    return types.void(i32, i32, i32, i64, i64, i64, real, ptr, i64, ptr, i64, real, ptr, i64)


if _found:
    llvm.load_library_permanently(_found[0])
    _sgemm = types.ExternalFunction(_found[1], _gemm_signature(types.float32))
    _dgemm = types.ExternalFunction(_found[2], _gemm_signature(types.float64))
    _py_gemm = {}
    for _dt, _name, _ct in ((np.float32, _found[1], ctypes.c_float), (np.float64, _found[2], ctypes.c_double)):
        _f = getattr(_found[3], _name)
        _i, _p = ctypes.c_int64, ctypes.c_void_p
        _f.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, _i, _i, _i, _ct, _p, _i, _p, _i, _ct, _p, _i]
        _f.restype = None
        _py_gemm[np.dtype(_dt)] = _f


def _check(A, B, C):
    if not (A.dtype == B.dtype == C.dtype) or A.dtype not in (np.float32, np.float64):
        raise TypeError("mm: operands must share one float dtype")


def _ld(a):
    return a.strides[0] // a.itemsize


def mm_nt(A, B, C, beta):
    """``C = A @ B.T + beta * C`` (plain Python; the compiled version is the overload below)."""
    _check(A, B, C)
    if not _found:
        C[...] = A @ B.T + beta * C
        return
    M, K = A.shape
    _py_gemm[A.dtype](_ROW_MAJOR, _NO_TRANS, _TRANS, M, B.shape[0], K, 1.0, A.ctypes.data, _ld(A),
                      B.ctypes.data, _ld(B), beta, C.ctypes.data, _ld(C))


def mm_nn(A, B, C, beta):
    """``C = A @ B + beta * C`` (plain Python; the compiled version is the overload below)."""
    _check(A, B, C)
    if not _found:
        C[...] = A @ B + beta * C
        return
    M, K = A.shape
    _py_gemm[A.dtype](_ROW_MAJOR, _NO_TRANS, _NO_TRANS, M, B.shape[1], K, 1.0, A.ctypes.data, _ld(A),
                      B.ctypes.data, _ld(B), beta, C.ctypes.data, _ld(C))


@njit(cache=True)
def _fallback_nt(A, B, C, beta):
    C[:, :] = np.dot(np.ascontiguousarray(A), np.ascontiguousarray(B).T) + beta * C


@njit(cache=True)
def _fallback_nn(A, B, C, beta):
    C[:, :] = np.dot(np.ascontiguousarray(A), np.ascontiguousarray(B)) + beta * C


def _make_overload(trans_b, fallback):
    def typer(A, B, C, beta):
        if not _found:
            return lambda A, B, C, beta: fallback(A, B, C, beta)
        gemm = _sgemm if A.dtype == types.float32 else _dgemm

        def impl(A, B, C, beta):
            one = A.dtype.type(1.0)
            item = A.itemsize
            M, K = A.shape
            N = B.shape[0] if trans_b == _TRANS else B.shape[1]
            gemm(_ROW_MAJOR, _NO_TRANS, trans_b, M, N, K, one, A.ctypes.data, A.strides[0] // item,
                 B.ctypes.data, B.strides[0] // item, beta, C.ctypes.data, C.strides[0] // item)

        return impl

    return typer


overload(mm_nt)(_make_overload(_TRANS, _fallback_nt))
overload(mm_nn)(_make_overload(_NO_TRANS, _fallback_nn))
