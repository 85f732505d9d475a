"""Vectorisable ``exp``, ``sigmoid`` and ``tanh`` for the compiled kernels.

Inside a Numba loop ``math.exp`` is a scalar libm call, which stops LLVM from vectorising
the loop around it (about 7x slower than SIMD on a gate block). For float32 these
functions use only arithmetic, ``floor``, compares and one integer-to-float bit cast, so a
loop over a gate row compiles to AVX2 code::

    exp(x)     = 2^n * e^f,  n = round(x log2 e),  f = x - n ln 2 in [-ln2/2, ln2/2]
                 (Cody-Waite split of ln 2; e^f by its Taylor polynomial to degree 7;
                  2^n built from the exponent bits)                      max error ~1 ulp
    sigmoid(x) = 1 / (1 + exp(-x))                                        ~2 ulp
    tanh(x)    = sign(x) (1 - e) / (1 + e), e = exp(-2|x|)   for |x| >= 0.625
               = x (1 + c1 x^2 + ... + c5 x^10)              for |x| <  0.625
                 (c_k: least-squares fit of tanh(x)/x - 1 in powers of x^2 on [0, 0.625],
                  relative error 1.4e-8 in float64)                       ~2 ulp

NaN propagates (the clamps keep NaN), +-inf saturate as in libm. float64 uses libm
(``math.exp``/``math.tanh``): float64 is for gradient checks, where accuracy matters more
than speed. With ``NUMBA_DISABLE_JIT=1`` the plain Python definitions below run.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

__all__ = ["sigmoid", "tanh", "exp"]

_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)          # ln 2 = _LN2_HI + _LN2_LO, _LN2_HI exact in 9 bits
_LN2_LO = np.float32(-2.12194440e-4)
_X_MIN = np.float32(-87.0)                 # exp underflows to subnormals below this
_X_MAX = np.float32(88.0)                  # and overflows above ~88.72
_TANH_SMALL = np.float32(0.625)
_T1 = np.float32(-0.33333293148974635)
_T2 = np.float32(0.1333176165243107)
_T3 = np.float32(-0.05376731332431021)
_T4 = np.float32(0.02073152837431295)
_T5 = np.float32(-0.005810467091781717)
_INV_FACT = tuple(np.float32(1.0 / math.factorial(k)) for k in range(8))


@intrinsic
def _int32_bits_as_float32(typingctx, i):
    """Reinterpret the bits of an int32 as a float32 (an LLVM bitcast, free in SIMD)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@njit(cache=True)
def _exp32(x):
    x = _X_MIN if x < _X_MIN else x        # compares written so that NaN passes through
    x = _X_MAX if x > _X_MAX else x
    n = np.floor(x * _LOG2E + np.float32(0.5))
    f = x - n * _LN2_HI
    f = f - n * _LN2_LO                    # (T,) f in [-ln2/2, ln2/2]
    p = _INV_FACT[7]
    p = p * f + _INV_FACT[6]
    p = p * f + _INV_FACT[5]
    p = p * f + _INV_FACT[4]
    p = p * f + _INV_FACT[3]
    p = p * f + _INV_FACT[2]
    p = p * f + _INV_FACT[1]
    p = p * f + _INV_FACT[0]
    two_n = _int32_bits_as_float32((np.int32(n) + np.int32(127)) << np.int32(23))
    return p * two_n


@njit(cache=True)
def _sigmoid32(x):
    return np.float32(1.0) / (np.float32(1.0) + _exp32(-x))


@njit(cache=True)
def _tanh32(x):
    ax = abs(x)
    e = _exp32(np.float32(-2.0) * ax)
    big = (np.float32(1.0) - e) / (np.float32(1.0) + e)
    big = big if x >= 0 else -big
    u = x * x
    small = x + x * u * (_T1 + u * (_T2 + u * (_T3 + u * (_T4 + u * _T5))))
    return small if ax < _TANH_SMALL else big


def exp(x):
    """``e**x``; saturates instead of raising on overflow."""
    return math.exp(min(float(x), 709.0))


def sigmoid(x):
    """``1 / (1 + e**-x)``."""
    x = float(x)
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def tanh(x):
    return math.tanh(x)


@njit(cache=True)
def _exp64(x):
    return math.exp(x)


@njit(cache=True)
def _sigmoid64(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(cache=True)
def _tanh64(x):
    return math.tanh(x)


def _pick(f32, f64):
    def typer(x):
        if x == types.float32:
            return lambda x: f32(x)
        if isinstance(x, types.Float):
            return lambda x: f64(x)
        return None

    return typer


overload(exp)(_pick(_exp32, _exp64))
overload(sigmoid)(_pick(_sigmoid32, _sigmoid64))
overload(tanh)(_pick(_tanh32, _tanh64))
