"""The context array of a row-split worker: declared once per kernel, built and checked here.

A worker is a Numba ``cfunc`` that OpenBLAS calls with a row range and one pointer (see
``_pool``): the address of an int64 array that holds everything else. Each kernel declares
that array once, next to its workers, as a :class:`Layout` of named flags (ints) and named
arrays (dtype, number of dimensions); the slot numbers are generated from the declaration::

    FORWARD = Layout("lstm forward", flags=("reverse", "keep"),
                     arrays=(("x", F32, 3), ("h", F32, 2), ("lens", I64, 1)))
    S = FORWARD.slots                                  # S.reverse, S.x, ..., S.size: plain ints
    ctx = FORWARD.build(shift, reverse=True, keep=False, x=x, h=h, lens=lens)   # checked

    # in the worker (S is a global namedtuple: Numba compiles its ints in as constants)
    ctx = carray(ptr_i64(ctx_addr), (S.size,))
    x, h = f32_3(ctx, S.x), f32_2(ctx, S.h)

Slot 0 is the shift that turns OpenBLAS's ``a`` argument into the first row; the flags
follow; each array takes one slot for its address and one per dimension for its shape, so a
worker rebuilds every array with the shape it had when the context was built. ``build``
raises ``ValueError``/``TypeError`` for a missing or unexpected name, a wrong dtype, a wrong
number of dimensions or an array that is not C-contiguous, and the context it returns holds
a reference to every array it points to (an array made inline in the call, such as a packed
weight, stays alive as long as the context). Keep a layout in the same file as the workers
that read it: Numba's cache is invalidated by a change of that file.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import carray, literal_unroll, njit, types
from numba.extending import intrinsic

from rnnkit.kernels.fast._jit import FASTMATH

__all__ = ["Layout", "Context", "F32", "I64", "WORKER_SIG", "WORKER_OPTS", "ptr_f32", "ptr_i64",
           "f32_1", "f32_2", "f32_3", "f32_4", "i64_1"]

F32, I64 = np.dtype(np.float32), np.dtype(np.int64)

_i64 = types.int64
# fn(m, n, k, alpha, a, lda, b, ldb, c, ldc, sb): OpenBLAS's level-1 thread callback (see _pool)
WORKER_SIG = types.int32(_i64, _i64, _i64, types.float64, _i64, _i64, _i64, _i64, _i64, _i64, _i64)
# the cfunc options of every worker (those of the project's ``kernel`` decorator)
WORKER_OPTS = {"nopython": True, "cache": True, "error_model": "numpy", "fastmath": FASTMATH}
_RESERVED = ("shift", "size")


def _pointer_intrinsic(elem):
    ptr_type = types.CPointer(elem)

    @intrinsic
    def as_ptr(typingctx, addr):
        sig = ptr_type(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptr_type))

        return sig, codegen

    return as_ptr


ptr_f32 = _pointer_intrinsic(types.float32)     # an address (int64) as a float32* for numba.carray
ptr_i64 = _pointer_intrinsic(types.int64)


class Context(np.ndarray):
    """An int64 context array that keeps the arrays it points to alive (``refs``)."""

    refs: tuple = ()


class Layout:
    """The named slots of one kernel's context array (see the module docstring)."""

    def __init__(self, name: str, flags: tuple[str, ...], arrays: tuple[tuple[str, np.dtype, int], ...]):
        self.name = name
        self.flags = tuple(flags)
        self.arrays = tuple((a, np.dtype(dt), int(nd)) for a, dt, nd in arrays)
        names = self.flags + tuple(a for a, _, _ in self.arrays)
        dup = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(_RESERVED)))
        if dup:
            raise ValueError(f"{name} layout: names repeated or reserved: {', '.join(dup)}")
        slot = {"shift": 0}
        k = 1
        for f in self.flags:
            slot[f] = k
            k += 1
        for a, _, nd in self.arrays:
            slot[a] = k                          # address at k, shape at k + 1 .. k + nd
            k += 1 + nd
        slot["size"] = k
        self.size = k
        self.slots = namedtuple("Slots", list(slot))(**slot)
        self._names = names
        self._flag_slots = tuple(slot[f] for f in self.flags)
        self._array_slots = np.array([slot[a] for a, _, _ in self.arrays], np.int64)

    def build(self, shift: int, **values) -> np.ndarray:
        """The context array for these ``values`` (every flag and array of the layout, by name)."""
        if len(values) != len(self.flags) + len(self.arrays) or not all(n in values for n in self._names):
            wanted = set(self._names)
            missing, extra = sorted(wanted - set(values)), sorted(set(values) - wanted)
            raise ValueError(f"{self.name} context: missing {missing or 'nothing'}, unexpected {extra or 'nothing'}")
        arrays = tuple(values[a] for a, _, _ in self.arrays)
        for (a, dt, nd), arr in zip(self.arrays, arrays):
            if not isinstance(arr, np.ndarray) or arr.dtype != dt:
                got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
                raise TypeError(f"{self.name} context: array {a} must be a {dt} ndarray, got {got}")
            if arr.ndim != nd or not arr.flags.c_contiguous:
                raise ValueError(f"{self.name} context: array {a} must be {nd}-D and C-contiguous, got shape "
                                 f"{arr.shape}, C-contiguous={arr.flags.c_contiguous}")
        ctx = np.zeros(self.size, np.int64).view(Context)
        ctx.refs = arrays
        ctx[0] = shift
        for f, k in zip(self.flags, self._flag_slots):
            v = values[f]
            if not isinstance(v, (bool, int, np.bool_, np.integer)):
                raise TypeError(f"{self.name} context: flag {f} must be an int or bool, got {type(v).__name__}")
            ctx[k] = v
        _fill(ctx, self._array_slots, arrays)
        return ctx


@njit(cache=True)
def _fill(ctx, slots, arrays):
    """ctx[k] = the address of array i, ctx[k + 1 ..] its shape, k = slots[i] (one compiled call:
    ``ndarray.ctypes.data`` costs about a microsecond an array from Python)."""
    i = 0
    for arr in literal_unroll(arrays):
        k = slots[i]
        ctx[k] = arr.ctypes.data
        for d in range(arr.ndim):
            ctx[k + 1 + d] = arr.shape[d]
        i += 1


@njit(inline="always")
def f32_1(ctx, k):
    return carray(ptr_f32(ctx[k]), (ctx[k + 1],))


@njit(inline="always")
def f32_2(ctx, k):
    return carray(ptr_f32(ctx[k]), (ctx[k + 1], ctx[k + 2]))


@njit(inline="always")
def f32_3(ctx, k):
    return carray(ptr_f32(ctx[k]), (ctx[k + 1], ctx[k + 2], ctx[k + 3]))


@njit(inline="always")
def f32_4(ctx, k):
    return carray(ptr_f32(ctx[k]), (ctx[k + 1], ctx[k + 2], ctx[k + 3], ctx[k + 4]))


@njit(inline="always")
def i64_1(ctx, k):
    return carray(ptr_i64(ctx[k]), (ctx[k + 1],))
