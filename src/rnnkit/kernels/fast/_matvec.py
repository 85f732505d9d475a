"""The two products of one cell step, for the compiled ``step`` of every kind (streaming inference).

Stepping a cell one sample at a time (online prediction, B = 1) costs little arithmetic;
what costs is the number of calls per step. Each kind's compiled ``step`` makes the whole
step one compiled call: these products, then the kind's own elementwise row functions (the
ones its sequence kernels use)::

    gx = x @ W_ih.T + b_ih ;  gh[:, :rows] = h @ W_hh[:rows].T + b_hh      # (B, G*H)

For fewer than ``SMALL_BATCH`` rows the products are row-by-row dot products (four weight
rows at a time), which beat a BLAS call's overhead; otherwise OpenBLAS (``_blas.mm_nt``).
"""

from __future__ import annotations

from numba import njit

from rnnkit.kernels.fast._blas import mm_nt
from rnnkit.kernels.fast._jit import FASTMATH, kernel

__all__ = ["products", "matvec_rows", "SMALL_BATCH"]

SMALL_BATCH = 4          # below this, row-by-row dot products beat a BLAS call's overhead


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH | {"reassoc"})
def matvec_rows(W, v, out, row0, rows):
    """``out[r] += W[row0 + r] . v`` for r < rows.

    Four rows at a time (four independent vector accumulators hide the FMA latency);
    ``reassoc`` lets LLVM vectorise the dot products.
    """
    K = v.shape[0]
    zero = W.dtype.type(0.0)
    r = 0
    while r + 4 <= rows:
        a0 = a1 = a2 = a3 = zero
        q = row0 + r
        for k in range(K):
            vk = v[k]
            a0 += W[q, k] * vk
            a1 += W[q + 1, k] * vk
            a2 += W[q + 2, k] * vk
            a3 += W[q + 3, k] * vk
        out[r] += a0
        out[r + 1] += a1
        out[r + 2] += a2
        out[r + 3] += a3
        r += 4
    while r < rows:
        acc = zero
        for k in range(K):
            acc += W[row0 + r, k] * v[k]
        out[r] += acc
        r += 1


@kernel
def products(x, h, W_ih, W_hh, b_ih, b_hh, has_bias, gh_rows, gx, gh):
    """gx = x @ W_ih.T + b_ih (B, GH); gh[:, :gh_rows] = h @ W_hh[:gh_rows].T + b_hh."""
    B, GH = gx.shape
    zero = gx.dtype.type(0.0)
    for b in range(B):
        for r in range(GH):
            gx[b, r] = b_ih[r] if has_bias else zero
            gh[b, r] = b_hh[r] if has_bias else zero
    if B < SMALL_BATCH:
        for b in range(B):
            matvec_rows(W_ih, x[b], gx[b], 0, GH)
            matvec_rows(W_hh, h[b], gh[b], 0, gh_rows)
    else:
        mm_nt(x, W_ih, gx, gx.dtype.type(1.0))
        mm_nt(h, W_hh[:gh_rows], gh[:, :gh_rows], gx.dtype.type(1.0))
