"""Fit the polynomial of ``exp`` and the rational function of ``tanh`` in ``kernels/fast/_vmath.py``.

Usage: ``python tools/fit_vmath.py`` (NumPy and SciPy; about a second). Prints the coefficients
as float32, their error against float64, and the shipped coefficients with the same errors.

Both fits are weighted minimax problems solved as linear programs on a dense grid
(``scipy.optimize.linprog``): minimise ``e`` subject to ``|w_i (model(x_i) - target_i)| <= e``.

exp. After the range reduction ``x = n ln 2 + f``, ``|f| <= ln2/2``, the kernel evaluates
``e^f ~ 1 + f + f^2 P(f)`` with ``P(f) = c2 + c3 f + c4 f^2 + c5 f^3 + c6 f^4``. The relative
error is ``f^2 (P(f) - q(f)) / e^f`` with ``q(f) = (e^f - 1 - f) / f^2``, so P is the minimax
fit of q with the weight ``f^2 e^-f``: a linear problem in the five coefficients.

tanh. The kernel evaluates ``t = tanh(y)`` for ``y = x/2``, ``|y| <= 4.51``, then
``tanh(x) = 2t / (1 + t^2)``; the doubling step damps an error in t by ``sech(2y)``, so the fit
minimises the relative error of t weighted by ``sech(2y)``. With ``v = y^2`` the form is
``t = y + y v R(v) / Q(v)``, R of degree 2, Q of degree 3, ``Q(0) = 1``; writing
``r(v) = (tanh(y) - y) / (y v)``, the weighted error is ``w (R/Q - r)``,
``w = y v sech(2y) / tanh(y)``. A rational minimax fit is not linear; it is found by the
Loeb iteration: with the denominator of the previous pass ``Q_k`` fixed, minimise
``max |w (R - r Q)| / Q_k`` (linear in R and Q), and repeat until the error settles.

The coefficients are rounded to float32 (as the kernel stores them) and the error of the
rounded form is what is reported, evaluated in float64 on a finer grid: for exp the
relative error of ``e^f``, for tanh the error of ``tanh(x)`` relative to its value, after
the doubling step, for ``|x| <= 9.02`` (where float32 tanh rounds to +-1).

Rounding all coefficients of a float64 fit at once costs accuracy, so the script also
rounds them one at a time, each rounding followed by a refit of the others. The residuals
(~1e-9) are far below the LP solver's tolerances, so every LP solves for a correction of a
least-squares start with the residual scaled to order one.

What it gives against the shipped coefficients (``python tools/fit_vmath.py`` prints all):

- exp: the shipped values are float32 numbers of this kind: the one-at-a-time fit lands
  within a few float32 ulps of them (c2 equal, c3..c6 within 3e-4 relative) with the same
  error, 3.1e-9.
- tanh: the shipped decimals are the float64 minimax of this objective (the fit reproduces
  them to 5-6 digits; error 1.8e-10 for the fit, 2.7e-10 for the decimals), which the kernel
  rounds to float32 all at once when it imports, giving 3.4e-9 (the figure in ``_vmath``).
  Rounding one at a time would give about 9e-10.

Either way the fit is not what limits the kernel: half a float32 ulp is 3e-8 relative, ten
times the fit's error, so the measured 2.45 ulp of tanh (``test_simd_math_accuracy``) comes
from the float32 evaluation. The kernel keeps the shipped coefficients, so that results
stay bitwise what they were.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linprog

LN2_HALF = math.log(2.0) / 2
Y_MAX = 4.51
# the coefficients in kernels/fast/_vmath.py
SHIPPED_EXP = (0.4999999403953552, 0.1666652113199234, 0.041668254882097244, 0.008368661627173424,
               0.0013821456814184785)
SHIPPED_TANH_R = (-0.3333333283662796, -0.020035660127177835, -0.00017970710450754268)
SHIPPED_TANH_Q = (0.46010690927505493, 0.0226772241294384, 0.00018578401068225503)


def _lp(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float]:
    """argmin_c max_i |(A c - b)_i| by linear programming: variables (c, e)."""
    m, n = A.shape
    cost = np.zeros(n + 1)
    cost[-1] = 1.0
    ones = np.ones((m, 1))
    A_ub = np.vstack([np.hstack([A, -ones]), np.hstack([-A, -ones])])
    b_ub = np.concatenate([b, -b])
    res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=[(None, None)] * n + [(0, None)], method="highs")
    if not res.success:
        raise RuntimeError(f"linprog failed: {res.message}")
    return res.x[:n], float(res.x[-1])


def _minimax(A: np.ndarray, b: np.ndarray, passes: int = 3) -> tuple[np.ndarray, float]:
    """argmin_c max_i |(A c - b)_i|. The residuals here are ~1e-9, below the LP solver's
    tolerances, so each pass solves for a correction of the current solution with the
    residual scaled to order one: c <- c + S d, d = argmin max |A d - (b - A c) / S|."""
    c = np.linalg.lstsq(A, b, rcond=None)[0]
    err = float(np.max(np.abs(A @ c - b)))
    for _ in range(passes):
        S = err
        d, _ = _lp(A, (b - A @ c) / S)
        c_new = c + S * d
        err_new = float(np.max(np.abs(A @ c_new - b)))
        if err_new >= err:
            break
        c, err = c_new, err_new
    return c, err


def _q_exp(f: np.ndarray) -> np.ndarray:
    """(e^f - 1 - f) / f^2 = sum_k f^k / (k + 2)!, summed as a series (no cancellation)."""
    out = np.zeros_like(f)
    term = np.full_like(f, 0.5)
    for k in range(30):
        out += term
        term = term * f / (k + 3)
    return out


def _exp_system(n: int = 4001):
    f = np.linspace(-LN2_HALF, LN2_HALF, n)
    w = f * f * np.exp(-f)
    return w[:, None] * f[:, None] ** np.arange(5)[None, :], w * _q_exp(f)


def fit_exp() -> tuple[np.ndarray, np.ndarray]:
    """c2..c6: the float64 minimax, and float32 values rounded one at a time (round the leading
    free coefficient, refit the others with it fixed so that they absorb its rounding, go on)."""
    A, b = _exp_system()
    fixed: list[float] = []
    for k in range(A.shape[1]):
        rest = b - A[:, :k] @ np.array(fixed) if k else b
        c, _ = _minimax(A[:, k:], rest)
        if k == 0:
            c64 = c
        fixed.append(float(np.float32(c[0])))
    return c64, np.array(fixed)


def exp_error(c) -> float:
    """Largest relative error of 1 + f + f^2 P(f) against e^f, in float64."""
    f = np.linspace(-LN2_HALF, LN2_HALF, 200001)
    c = np.asarray(c, np.float64)
    p = 1 + f + f * f * sum(ck * f ** k for k, ck in enumerate(c))
    return float(np.max(np.abs(p / np.exp(f) - 1)))


def _r_tanh(y: np.ndarray) -> np.ndarray:
    """(tanh(y) - y) / y^3, by its Taylor series near 0 and directly elsewhere."""
    v = y * y
    small = np.abs(y) < 0.05
    series = -1 / 3 + v * (2 / 15 + v * (-17 / 315 + v * (62 / 2835 + v * (-1382 / 155925))))
    with np.errstate(invalid="ignore", divide="ignore"):
        direct = (np.tanh(y) - y) / (y * v)
    return np.where(small, series, direct)


def _tanh_pass(y, r, w, q_old, fixed):
    """One Loeb pass: unknowns R1 R2 R3 Q1 Q2 Q3 of ``w (R(v) - r Q(v)) / q_old`` (Q(0) = 1),
    the first ``len(fixed)`` of them fixed."""
    v = y * y
    scale = w / q_old
    cols = np.column_stack([scale, scale * v, scale * v * v, -scale * r * v, -scale * r * v * v,
                            -scale * r * v ** 3])
    k = len(fixed)
    rhs = scale * r - (cols[:, :k] @ np.array(fixed) if k else 0)
    c, err = _minimax(cols[:, k:], rhs)
    c = np.concatenate([fixed, c])
    return c, err, 1 + c[3] * v + c[4] * v * v + c[5] * v ** 3


def fit_tanh(n: int = 4001, passes: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """R1..R3, Q1..Q3: the float64 fit (the Loeb iteration to convergence), and float32 values
    rounded one at a time as for exp (each rounding followed by a refit of the others)."""
    y = np.linspace(1e-4, Y_MAX, n)                     # tanh is odd: y > 0 is enough
    r = _r_tanh(y)
    w = y * y / np.cosh(2 * y) * y / np.tanh(y)
    fixed: list[float] = []
    q_old = np.ones_like(y)
    for _ in range(6):
        err_old = None
        for _ in range(passes):
            c, err, q_old = _tanh_pass(y, r, w, q_old, fixed)
            if err_old is not None and abs(err - err_old) <= 1e-6 * err:
                break
            err_old = err
        if not fixed:
            c64 = c
        fixed.append(float(np.float32(c[len(fixed)])))
    return c64, np.array(fixed)


def tanh_error(R, Q) -> float:
    """Largest error of the kernel's tanh(x) relative to tanh(x), |x| <= 9.02, in float64."""
    x = np.linspace(1e-6, 9.02, 200001)
    y = np.minimum(x / 2, Y_MAX)
    v = y * y
    R = np.asarray(R, np.float64)
    Q = np.asarray(Q, np.float64)
    t = y + y * v * (R[0] + v * (R[1] + v * R[2])) / (1 + v * (Q[0] + v * (Q[1] + v * Q[2])))
    return float(np.max(np.abs((2 * t / (1 + t * t)) / np.tanh(x) - 1)))


def _f32(c) -> np.ndarray:
    return np.asarray(c, np.float64).astype(np.float32).astype(np.float64)


def _show(label, c, err):
    print(f"  {label:34s}", " ".join(f"{v: .10g}" for v in c), f"   max rel error {err:.2e}")


def main() -> None:
    c64, c32 = fit_exp()
    shipped = np.array(SHIPPED_EXP)
    print("exp: e^f = 1 + f + f^2 (c2 + c3 f + c4 f^2 + c5 f^3 + c6 f^4), |f| <= ln2/2; error of e^f")
    _show("fit, float64", c64, exp_error(c64))
    _show("fit, float32 (one at a time)", c32, exp_error(c32))
    _show("shipped (float32)", _f32(shipped), exp_error(_f32(shipped)))
    c64, c32 = fit_tanh()
    shipped = np.array(SHIPPED_TANH_R + SHIPPED_TANH_Q)
    print(f"tanh: t = y + y v R(v)/Q(v), v = y^2, |y| <= {Y_MAX}, tanh(x) = 2t/(1 + t^2), y = x/2;"
          " R1 R2 R3 Q1 Q2 Q3; error of tanh(x)")
    for label, c in (("fit, float64", c64), ("fit, float32 (one at a time)", c32),
                     ("shipped decimals (float64)", shipped), ("shipped as the kernel stores them", _f32(shipped)),
                     ("fit, float64 rounded at once", _f32(c64))):
        _show(label, c, tanh_error(c[:3], c[3:]))


if __name__ == "__main__":
    main()
