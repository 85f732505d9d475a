"""Vectorisable ``exp``, ``sigmoid`` and ``tanh`` for the compiled kernels.

Inside a Numba loop ``math.exp`` is a scalar libm call, which stops LLVM from vectorising
the loop around it. For float32 these
functions use only arithmetic, compares and integer/float bit casts, so a loop over a gate
row compiles to AVX2 code::

    exp(x)     = 2^n e^f,  n = round(x log2 e),  f = x - n ln 2 in [-ln2/2, ln2/2]
                 (t = x log2 e + 1.5 2^23 holds the integer n in its low mantissa bits, n = t - 1.5 2^23;
                  Cody-Waite split of ln 2;
                  e^f = 1 + (f + f^2 (c2 + c3 f) + f^4 (c4 + c5 f + c6 f^2)), c_k: minimax fit of e^f,
                  relative error 3e-9 with the float32 coefficients;
                  2^n = 2^h 2^(n - h), h = n >> 1, both factors normal, so the results are right
                  down to the subnormals; x is clamped to [-104, 88.72283]: 0 below, and above
                  it saturates at 3.40280e38, just under FLT_MAX)             max error 1.25 ulp
    sigmoid(x) = s / (1 + e),  e = exp(-|x|),  s = e for x < 0, 1 for x >= 0
                 (no overflow for any x; e from the same reduction and polynomial, built as
                  (e^f 2^(n + 64)) 2^-64, with 2^(n + 64) read off the low bits of t, so
                  that a subnormal e is rounded once)                          max error 2.40 ulp
    tanh(x)    = 2 t / (1 + t^2),  t = tanh(y),  y = x/2 clamped to [-4.51, 4.51]
                 t = y + y v R(v) / Q(v),  v = y^2,  R of degree 2, Q of degree 3, Q(0) = 1
                 (R, Q: rational minimax fit of tanh(y) with the relative error weighted by
                  sech(2y), the factor by which the doubling step damps an error in t: 3.4e-9
                  in float64 with the float32 coefficients; tanh(x) rounds to +-1 in float32
                  for |x| >= 9.02)                                              max error 2.45 ulp

The errors are against float64, in units of ``np.spacing`` of the float32-rounded true
value, over every float32 x in [-100, 100] (every input whose true exp is finite for
``exp``). Evaluation orders are chosen for short dependency chains (these loops are bound
by latency more than by the FMA units), and every float constant goes through ``_k`` (an
``llvm.arithmetic.fence``): LLVM then hoists the constant splats out of the loop into
registers or stack slots that the FMAs read directly, instead of re-broadcasting each one
from the constant pool in every iteration (the measurements of both choices are in
``benchmarks/results/kernels_notes.md``). ``tools/fit_vmath.py`` fits the coefficients below.

NaN propagates (the clamps keep NaN), +-inf saturate as in libm (exp(-inf) = 0, exp(+inf)
= the FLT_MAX-near saturation value above). float64 uses libm (``math.exp``/``math.tanh``):
float64 is for gradient checks, where accuracy matters more than speed. With
``NUMBA_DISABLE_JIT=1`` the plain Python definitions below run.
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
_ROUND = np.float32(12582912.0)            # 1.5 * 2^23: t = x + _ROUND is rounded to an integer
_X_MIN = np.float32(-104.0)                # e^-104 < 2^-150: exp rounds to 0 below this
_X_MAX = np.float32(88.72283)              # largest float32 with exp(x) < FLT_MAX
_SIG_SCALE = np.float32(2.0 ** -64)        # sigmoid builds 2^64 e (normal) and scales it
# e^f = 1 + f + f^2 (_E2 + _E3 f + _E4 f^2 + _E5 f^3 + _E6 f^4)  on [-ln2/2, ln2/2]
_E2 = np.float32(0.4999999403953552)
_E3 = np.float32(0.1666652113199234)
_E4 = np.float32(0.041668254882097244)
_E5 = np.float32(0.008368661627173424)
_E6 = np.float32(0.0013821456814184785)
# tanh(y) = y + y v (_R1 + _R2 v + _R3 v^2) / (1 + _Q1 v + _Q2 v^2 + _Q3 v^3),  v = y^2, |y| <= _Y_MAX
_Y_MAX = np.float32(4.51)
_R1 = np.float32(-0.3333333283662796)
_R2 = np.float32(-0.020035660127177835)
_R3 = np.float32(-0.00017970710450754268)
_Q1 = np.float32(0.46010690927505493)
_Q2 = np.float32(0.0226772241294384)
_Q3 = np.float32(0.00018578401068225503)


@intrinsic
def _int32_bits_as_float32(typingctx, i):
    """Reinterpret the bits of an int32 as a float32 (an LLVM bitcast, free in SIMD)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@intrinsic
def _float32_bits_as_int32(typingctx, f):
    """Reinterpret the bits of a float32 as an int32."""
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return sig, codegen


@intrinsic
def _k(typingctx, c):
    """A float32 constant behind ``llvm.arithmetic.fence`` (the identity; LLVM never folds it).

    A plain constant becomes a splat that LLVM rematerialises with a ``vbroadcastss`` from
    the constant pool at every use inside the loop; the fenced value is a loop-invariant
    value that is computed once before the loop.
    """
    sig = types.float32(types.float32)

    def codegen(context, builder, signature, args):
        fence = builder.module.declare_intrinsic("llvm.arithmetic.fence", [ir.FloatType()])
        return builder.call(fence, [args[0]])

    return sig, codegen


@njit(cache=True)
def _exp_parts(x, rnd):
    """For x in [-104, 88.73] (or NaN): (e^f, t) with t = rnd + n, x = n ln 2 + f."""
    t = x * _k(_LOG2E) + rnd
    n = t - rnd
    f = x - n * _k(_LN2_HI)
    f = f - n * _k(_LN2_LO)                # (T,) f in [-ln2/2, ln2/2]
    f2 = f * f
    f4 = f2 * f2
    a = _k(_E2) + f * _k(_E3)
    b = (_k(_E4) + f * _k(_E5)) + f2 * _k(_E6)
    return _k(np.float32(1.0)) + ((f + f2 * a) + f4 * b), t


@njit(cache=True)
def _exp32(x):
    lo = _k(_X_MIN)
    hi = _k(_X_MAX)
    x = lo if x < lo else x                # compares written so that NaN passes through
    x = hi if x > hi else x
    rnd = _k(_ROUND)
    p, t = _exp_parts(x, rnd)
    # int32 throughout (Numba would widen int32 arithmetic to int64, which halves the SIMD width)
    n = np.int32(_float32_bits_as_int32(t) - _float32_bits_as_int32(rnd))      # n in [-150, 128]
    h = np.int32(n >> np.int32(1))
    one = _float32_bits_as_int32(_k(np.float32(1.0)))                           # 127 << 23
    s1 = _int32_bits_as_float32(np.int32(np.int32(h << np.int32(23)) + one))    # 2^h
    s2 = _int32_bits_as_float32(np.int32(np.int32(np.int32(n - h) << np.int32(23)) + one))  # 2^(n - h)
    return p * s1 * s2


@njit(cache=True)
def _sigmoid32(x):
    y = -abs(x)
    lo = _k(_X_MIN)
    y = lo if y < lo else y
    # rnd + 127 + 64: the low bits of t are n + 191, shifted into the exponent field that is 2^(n + 64)
    p, t = _exp_parts(y, _k(np.float32(12582912.0 + 127 + 64)))
    e = p * _int32_bits_as_float32(_float32_bits_as_int32(t) << np.int32(23)) * _k(_SIG_SCALE)
    one = _k(np.float32(1.0))
    s = e if x < np.float32(0.0) else one
    return s / (one + e)


@njit(cache=True)
def _tanh32(x):
    y = x * _k(np.float32(0.5))
    lo = _k(-_Y_MAX)
    hi = _k(_Y_MAX)
    y = lo if y < lo else y
    y = hi if y > hi else y
    v = y * y
    r = _k(_R3)
    r = r * v + _k(_R2)
    r = r * v + _k(_R1)
    q = _k(_Q3)
    q = q * v + _k(_Q2)
    q = q * v + _k(_Q1)
    one = _k(np.float32(1.0))
    q = q * v + one
    t = y + (y * v) * (r / q)
    return (t + t) / (t * t + one)


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
