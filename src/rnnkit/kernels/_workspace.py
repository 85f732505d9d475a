"""Large kernel arrays reused from one call to the next (a small caching allocator).

A training loop allocates and frees the same large arrays at every step (x_proj and the
forward cache are (T, B, 4H) for the LSTM). glibc gives freed heap memory back to the
operating system when the top of the heap grows past its trim threshold, and the next
step's allocation maps it again, one page fault per 4 KB page on first write: a step that
pays them is markedly slower, and whether it does depends on the process's allocation
history (``benchmarks/results/kernels_notes.md`` has the measurement).

:func:`empty` returns an array of the pool that nothing else refers to, or a new one that
joins the pool. "Nothing else refers to it" is read from the array's reference count: a
caller that keeps an array, or any view of it (a view holds a reference to its base),
keeps it out of reuse, so a returned array is never overwritten while it is reachable.
Arrays smaller than ``MIN_BYTES`` are plain ``np.empty`` (the heap reuses them anyway).
The pool keeps at most ``PER_SHAPE`` arrays per (shape, dtype) and ``MAX_BYTES`` in all
(least recently used shapes are dropped first); :func:`release` empties it and
:func:`held_bytes` tells how much it holds (the benchmark counts it as rnnkit's memory).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict

import numpy as np

__all__ = ["empty", "release", "held_bytes", "MIN_BYTES", "PER_SHAPE", "MAX_BYTES"]

MIN_BYTES = 1 << 18              # 256 KB
PER_SHAPE = 6
MAX_BYTES = 1 << 28              # 256 MB

_pool: OrderedDict[tuple, list[np.ndarray]] = OrderedDict()
_held = [0]
_lock = threading.Lock()


def _refs(arrays: list, i: int) -> int:
    return sys.getrefcount(arrays[i])


def _free_refs() -> int:
    """The reference count :func:`_refs` sees for an array that only the pool holds."""
    probe = [np.empty(1)]
    return _refs(probe, 0)


_FREE = _free_refs()


def empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, from the pool when one is free."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize
    for s in shape:
        nbytes *= s
    if nbytes < MIN_BYTES:
        return np.empty(shape, dtype)
    key = (tuple(shape), dtype.char)
    with _lock:
        arrays = _pool.get(key)
        if arrays is not None:
            _pool.move_to_end(key)
            for i in range(len(arrays)):
                if _refs(arrays, i) == _FREE:
                    return arrays[i]
        arr = np.empty(shape, dtype)
        if arrays is None:
            arrays = _pool[key] = []
        if len(arrays) < PER_SHAPE:
            _trim(MAX_BYTES - nbytes)
            if _held[0] + nbytes <= MAX_BYTES:
                arrays.append(arr)
                _held[0] += nbytes
        return arr


def _trim(limit: int) -> None:
    """Drop the least recently used shapes (not the newest) until at most ``limit`` bytes are held."""
    while _held[0] > limit and len(_pool) > 1:
        _, arrays = _pool.popitem(last=False)
        _held[0] -= sum(a.nbytes for a in arrays)


def release() -> None:
    """Drop every pooled array (arrays still in use stay valid: they are ordinary arrays)."""
    with _lock:
        _pool.clear()
        _held[0] = 0


def held_bytes() -> int:
    """Bytes of the arrays the pool holds (in use or free)."""
    return _held[0]
