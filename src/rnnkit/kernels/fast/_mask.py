"""The variational recurrent mask in the compiled serial loops (``kernels/_recurrent_mask.py``).

The loops take ``rmask`` (B, P) or None; with None Numba prunes every ``if rmask is not None``
branch at compile time, so the loop without a mask is the loop of before (no test per step).
With a mask the forward multiplies h_{t-1} by it into a workspace before the recurrent
product, and the backward multiplies the gradient that comes back through the product.
"""

from __future__ import annotations

from rnnkit.kernels.fast._jit import kernel

__all__ = ["mask_into", "mask_inplace"]


@kernel
def mask_into(src, mask, dst):
    """dst (B, P) <- src * mask."""
    B, P = dst.shape
    for b in range(B):
        for p in range(P):
            dst[b, p] = src[b, p] * mask[b, p]


@kernel
def mask_inplace(a, mask):
    """a (B, P) <- a * mask."""
    B, P = a.shape
    for b in range(B):
        for p in range(P):
            a[b, p] *= mask[b, p]
