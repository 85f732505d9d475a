"""The two helper workers of :mod:`rnnkit.kernels.fast._pool` (compiled on first use only).

``probe`` (the self-test): each call records ``m`` (its row count), ``a`` (its first row,
shifted) and the calling thread into ``rec[1:4]`` (the range starting at row 0) or
``rec[4:7]`` (the other one).

``timed`` (a measured dispatch, see ``_load``): ``c`` is the address of a record of
``TIMED_SLOTS`` int64, ``[worker address, worker context address, ...]``; each call runs
the worker on its range with the worker's own context, and the range starting at row 0
(the calling thread's) also writes its row count and its start and end times
(``CLOCK_MONOTONIC``, the clock of Python's ``time.monotonic_ns``) into the record::

    rec = [fn, ctx, m0, start_s, start_ns, end_s, end_ns]
"""

from __future__ import annotations

from llvmlite import ir
from numba import carray, cfunc, types
from numba.extending import intrinsic

from rnnkit.kernels.fast._context import WORKER_SIG, ptr_i64

__all__ = ["probe", "timed", "TIMED_SLOTS"]

TIMED_SLOTS = 7
_CLOCK_MONOTONIC = 1

_pthread_self = types.ExternalFunction("pthread_self", types.uint64())
_clock_gettime = types.ExternalFunction("clock_gettime", types.int32(types.int32, types.CPointer(types.int64)))


@cfunc(WORKER_SIG, nopython=True, cache=True)
def probe(m, n, k, alpha, a, lda, b, ldb, c, ldc, sb):
    rec = carray(ptr_i64(c), (8,))
    base = 1 if a == 0 else 4
    rec[base] = m
    rec[base + 1] = a
    rec[base + 2] = _pthread_self()
    return 0


@intrinsic
def _call_worker(typingctx, fn, m, n, k, alpha, a, lda, b, ldb, c, ldc, sb):
    """Call the worker at address ``fn`` (a ``WORKER_SIG`` cfunc) with the other arguments."""
    sig = types.int32(types.int64, *WORKER_SIG.args)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(context.get_value_type(types.int32),
                               [context.get_value_type(t) for t in WORKER_SIG.args])
        return builder.call(builder.inttoptr(args[0], fnty.as_pointer()), args[1:])

    return sig, codegen


@cfunc(WORKER_SIG, nopython=True, cache=True)
def timed(m, n, k, alpha, a, lda, b, ldb, c, ldc, sb):
    rec = carray(ptr_i64(c), (TIMED_SLOTS,))
    if a != 0:
        return _call_worker(rec[0], m, n, k, alpha, a, lda, b, ldb, rec[1], ldc, sb)
    _clock_gettime(_CLOCK_MONOTONIC, ptr_i64(c + 3 * 8))
    r = _call_worker(rec[0], m, n, k, alpha, a, lda, b, ldb, rec[1], ldc, sb)
    _clock_gettime(_CLOCK_MONOTONIC, ptr_i64(c + 5 * 8))
    rec[2] = m
    return r
