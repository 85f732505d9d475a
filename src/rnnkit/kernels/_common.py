"""Small helpers shared by the reference kernels."""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))`` without overflow warnings."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def time_order(T: int, reverse: bool) -> range:
    """Time indices in processing order: 0..T-1, or T-1..0 for the reverse direction."""
    return range(T - 1, -1, -1) if reverse else range(T)


def step_mask(lengths: np.ndarray | None, t: int, B: int, dtype) -> np.ndarray | None:
    """``(B, 1)`` float mask of sequences still running at time ``t``, or None (all)."""
    if lengths is None:
        return None
    return (t < lengths).astype(dtype)[:, None]


def blend(mask: np.ndarray | None, new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """``mask * new + (1 - mask) * old``: padded steps carry the old state unchanged."""
    if mask is None:
        return new
    return np.where(mask > 0, new, old)
