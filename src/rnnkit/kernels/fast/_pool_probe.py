"""The self-test worker of :mod:`rnnkit.kernels.fast._pool` (compiled on first use only).

Each call records ``m`` (its row count), ``a`` (its first row, shifted) and the calling
thread into ``rec[1:4]`` (the range starting at row 0) or ``rec[4:7]`` (the other one).
"""

from __future__ import annotations

from numba import carray, cfunc, types

from rnnkit.kernels.fast._context import WORKER_SIG, ptr_i64

_pthread_self = types.ExternalFunction("pthread_self", types.uint64())


@cfunc(WORKER_SIG, nopython=True, cache=True)
def probe(m, n, k, alpha, a, lda, b, ldb, c, ldc, sb):
    rec = carray(ptr_i64(c), (8,))
    base = 1 if a == 0 else 4
    rec[base] = m
    rec[base + 1] = a
    rec[base + 2] = _pthread_self()
    return 0
