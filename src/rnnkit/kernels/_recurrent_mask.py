"""The variational recurrent-dropout mask in the kernel contract (Gal & Ghahramani 2016).

A kind supports the mask when its cache has a ``recurrent_mask`` field (RNN, GRU, LSTM).
The layer passes it in the kernel options, ``options["recurrent_mask"]``: one (B, P) array
per sequence batch and per (layer, direction), drawn once before the forward, entries 0 or
1/(1-p), or None (no dropout). Every step multiplies the state that enters the recurrent
product by it, the *same* mask at every step, one mask for all gates: Gal & Ghahramani's
tied form (their section 4, one dropout mask on h_{t-1} for the fused product), as in Keras 2's
``implementation=2``; Keras 3's ``LSTMCell`` draws one mask per gate instead (its
``dropout_mask_count = 4`` with ``recurrent_dropout``), which a fused product cannot apply::

    a_t = x_proj_t + (m * h_{t-1}) @ W_hh.T + b_hh              (every gate block)

The state itself (the GRU's carry ``z * h_{t-1}``, the output) is not masked. Backward::

    dL/dh_{t-1} = m * (da_t @ W_hh) (+ the unmasked paths) ;  dW_hh += da_t.T @ (m * h_{t-1})

The forward stores the mask in the cache, so the backward applies the one the forward used.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MASK", "supports", "masked", "mask_option", "check_mask"]

MASK = "recurrent_mask"      # the name in the kernel options and in the kinds' caches


def supports(kind) -> bool:
    """Whether ``kind`` (a :class:`~rnnkit.kernels.CellKind`) takes a recurrent mask."""
    return MASK in kind.cache._fields


def masked(a: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """``a * mask`` (B, P), or ``a`` itself without a mask."""
    return a if mask is None else a * mask


def mask_option(options) -> np.ndarray | None:
    """The mask in a kernel's ``options`` (None when absent)."""
    return options.get(MASK)


def check_mask(mask, B: int, P: int, dtype) -> np.ndarray | None:
    """``mask`` as a contiguous (B, P) array of ``dtype``, or None; a wrong shape is a ValueError."""
    if mask is None:
        return None
    mask = np.ascontiguousarray(mask, dtype=dtype)
    if mask.shape != (B, P):
        raise ValueError(f"{MASK} must have shape (B, P) = {(B, P)}, got {mask.shape}")
    return mask
