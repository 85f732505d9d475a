"""Work split by batch rows, run on NumPy's own OpenBLAS threads.

The rows of a batch are independent sequences, so a recurrence can be split by rows over
the cores with no synchronisation until the end. This module runs such work on the
threads OpenBLAS already has, through OpenBLAS's exported ``blas_level1_thread``: it splits
``rows`` into ``nth`` contiguous ranges and calls a C function once per range, the first
range in the calling thread and the others in OpenBLAS's pool threads, and returns when all
are done::

    fn(m, n, k, alpha, a, lda, b, ldb, c, ldc, sb)     m: rows in this range
                                                       a: (first row) << SHIFT
                                                       c: address of the context array

Using OpenBLAS's threads rather than our own matters on a 2-core machine: after every
multi-threaded BLAS call OpenBLAS's idle pool thread spins for a while (sched_yield) before
it sleeps, so a thread of our own would share a core with it (the measurements are in
``benchmarks/results/kernels_notes.md``). Here the spinning thread is the one that takes the work.

The workers are Numba ``cfunc``s (``_context.WORKER_SIG``) that read their arrays from a
context array of int64: each kernel declares its layout once (``_context.Layout``, next to
its workers in ``lstm_workers``, ``rnn_workers``, ``gru_workers``), and slot ``[0]`` is the
shift of ``a`` (found by the self-test, :func:`shift`). A kernel makes one dispatch per
sequence.

On a busy machine (another process holding a core) the pool thread starts late and the caller
waits for it at every dispatch: the demo's adding-problem part took 43 s by default against
2.4 s with ``OPENBLAS_NUM_THREADS=1``. So every split dispatch is measured (``_pool_probe.timed``
wraps the worker and times the caller's own range; the dispatch is timed around the call) and
a load guard (``_load.LoadGuard``, one decision per worker and work size) compares the
estimated serial time (the caller's range time over its share of the rows) with the split's
time. While splits do not pay, ``run_rows`` runs the *same worker* on all rows in the calling
thread (one range: OpenBLAS's pool is not touched), so the results do not depend on the
machine's load: a row's arithmetic is the same whatever range it is in (tested bit for bit).
After a hold (0.25 s, doubling to 8 s while the machine stays busy) two dispatches split again
as a probe, so an idle machine gets its two threads back.

``threads_for(rows, cells)`` says how many threads a split should use: 1 (run the pass
serially, in the caller) unless NumPy's OpenBLAS exports the function, its pool has two or
more threads, OpenBLAS is allowed more than one thread (``threadpoolctl``,
``OPENBLAS_NUM_THREADS``), compiled code is on, and a one-time self-test (two ranges, two
threads, the expected ``a``) passed. A worker never calls BLAS (a BLAS call from a pool
thread waits on the pool it runs in).
"""

from __future__ import annotations

import ctypes
import os
import threading
import time

import numpy as np
from numba import config, types
from numba.extending import overload

from rnnkit.kernels.fast._blas import _found
from rnnkit.kernels.fast._load import LoadGuard

__all__ = ["run_rows", "threads_for", "split_threads", "shift", "MIN_CELLS_PER_THREAD"]

MIN_CELLS_PER_THREAD = 256       # below this a range is not worth a dispatch (~1-2 us)
_MODE = 3                        # a real-valued legacy call (double in 0.3.2x, DOUBLE|XDOUBLE before)

_i64 = types.int64
_RUN_SIG = types.int32(types.int32, _i64, _i64, _i64, _i64, _i64, _i64, _i64, _i64, _i64, _i64, _i64, types.int32)


_lib = _found[3] if _found else None
_available = _lib is not None and hasattr(_lib, "blas_level1_thread")
if _available:
    _get_threads = getattr(_lib, "scipy_openblas_get_num_threads64_", None) or getattr(
        _lib, "openblas_get_num_threads64_", None
    )
    _get_config = getattr(_lib, "scipy_openblas_get_config64_", None) or getattr(_lib, "openblas_get_config64_", None)
    try:
        _pool_size = ctypes.c_int.in_dll(_lib, "blas_num_threads")
    except ValueError:
        _pool_size = None
    _available = _get_threads is not None and _get_config is not None and _pool_size is not None
if _available:
    _get_threads.restype = ctypes.c_int
    _get_config.restype = ctypes.c_char_p
    _available = (_get_config() or b"").startswith(b"OpenBLAS 0.3.")
    _c_run = _lib.blas_level1_thread
    _c_run.restype = ctypes.c_int
    _c_run.argtypes = [ctypes.c_int] + [ctypes.c_int64] * 11 + [ctypes.c_int]
    _run_external = types.ExternalFunction("blas_level1_thread", _RUN_SIG)


_guard = LoadGuard()
_local = threading.local()      # .cells: the ``cells`` of this thread's last threads_for that split


def run_rows(fn, ctx, rows, nth):
    """Call worker ``fn`` (a cfunc address) on ``nth`` ranges of ``rows`` rows; ``ctx`` (int64)
    is its context array. Plain-Python version; the compiled one is the overload below.

    With ``nth > 1`` and measured dispatches available, the load guard decides: a measured
    split, or (while splits do not pay) the same worker on all rows in the calling thread."""
    addr = ctx.ctypes.data                                 # alpha: any readable double (unused)
    if nth < 2 or not _state["timed"]:
        _c_run(_MODE, rows, 0, 0, addr, 0, 1, 0, 1, addr, 0, fn, nth)
        return
    bucket = (fn, int(getattr(_local, "cells", rows)).bit_length())
    if not _guard.split(bucket):
        _c_run(_MODE, rows, 0, 0, addr, 0, 1, 0, 1, addr, 0, fn, 1)     # all rows here: no pool thread
        return
    caller, total, share = _timed_run(_state["timed"], fn, addr, rows, nth)
    _guard.record(bucket, caller, total, share)


def _timed_run(timed, fn, ctx_addr, rows, nth):
    """One dispatch through ``timed`` (the address of ``_pool_probe.timed``): (the caller's range time, the dispatch
    time, in ns, the caller's share of the rows)."""
    from rnnkit.kernels.fast._pool_probe import TIMED_SLOTS

    rec = np.zeros(TIMED_SLOTS, np.int64)
    rec[0], rec[1] = fn, ctx_addr
    addr = rec.ctypes.data
    t0 = time.monotonic_ns()
    _c_run(_MODE, rows, 0, 0, addr, 0, 1, 0, 1, addr, 0, timed, nth)
    total = time.monotonic_ns() - t0
    caller = (int(rec[5]) - int(rec[3])) * 1_000_000_000 + int(rec[6]) - int(rec[4])
    return caller, total, int(rec[2]) / rows


@overload(run_rows)
def _run_rows_impl(fn, ctx, rows, nth):
    if not _available:
        return lambda fn, ctx, rows, nth: None             # never reached: threads_for gave 1

    def impl(fn, ctx, rows, nth):
        addr = ctx.ctypes.data
        _run_external(np.int32(_MODE), rows, 0, 0, addr, 0, 1, 0, 1, addr, 0, fn, np.int32(nth))

    return impl


_state = {"shift": None, "tested": False, "timed": 0}     # timed: the address of _pool_probe.timed
_lock = threading.Lock()


def _self_test() -> int | None:
    """Two ranges of two rows on two threads: the shift of ``a``, or None if anything is off.
    Also enables measured dispatches (``_state["timed"]``) if ``_pool_probe.timed`` works and
    the range at row 0 runs in the calling thread."""
    from rnnkit.kernels.fast import _pool_probe

    rec = np.zeros(8, np.int64)
    addr = rec.ctypes.data
    _c_run(_MODE, 2, 0, 0, addr, 0, 1, 0, 1, addr, 0, _pool_probe.probe.address, 2)
    (m0, a0, tid0), (m1, a1, tid1) = rec[1:4], rec[4:7]
    if m0 != 1 or m1 != 1 or a0 != 0 or a1 <= 0 or a1 & (a1 - 1) or tid0 == tid1:
        return None
    shift = int(a1).bit_length() - 1
    if shift > 6:
        return None
    if int(tid0) == threading.get_ident():
        rec[:] = 0
        caller, total, share = _timed_run(_pool_probe.timed.address, _pool_probe.probe.address, addr, 2, 2)
        if rec[1] == 1 and rec[4] == 1 and int(rec[3]) == int(tid0) and share == 0.5 and 0 <= caller <= total:
            _state["timed"] = _pool_probe.timed.address
    return shift


def shift() -> int:
    """The shift of ``a`` that gives a worker its first row (valid once threads_for > 1)."""
    return _state["shift"]


def threads_for(rows: int, cells: int) -> int:
    """How many threads a split of ``rows`` rows (``cells`` elements per step) should use."""
    switch = os.environ.get("RNNKIT_POOL", "1")
    if switch not in ("0", "1"):
        raise ValueError(f"RNNKIT_POOL must be '0' (serial kernels) or '1' (row split), got {switch!r}")
    if not _available or config.DISABLE_JIT or switch == "0":
        return 1
    n = min(int(_get_threads()), int(_pool_size.value), rows, cells // MIN_CELLS_PER_THREAD)
    if n < 2:
        return 1
    if not _state["tested"]:
        with _lock:
            if not _state["tested"]:
                _state["shift"] = _self_test()
                _state["tested"] = True
    if _state["shift"] is None:
        return 1
    _local.cells = cells
    return n


def split_threads(dtype, rows: int, width: int) -> int:
    """Threads for a kernel's row-split sequence: float32 only (float64 takes the serial
    kernels), ``width`` elements per row and step."""
    return threads_for(rows, rows * width) if dtype == np.float32 else 1
