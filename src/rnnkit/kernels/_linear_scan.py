"""The elementwise linear recurrence ``h_k = a_k * h_{k-1} + b_k`` as a parallel scan in log space.

minGRU and minLSTM (Feng et al. 2024) compute ``a_k`` (in (0, 1)) and ``b_k`` from the input
alone, so a whole sequence is one linear recurrence with a closed form (k in processing
order)::

    h_k = A_k h_0 + sum_{j<=k} (A_k / A_j) b_j          A_k = prod_{i<=k} a_i

In log space (the paper's form, ``log A_k = cumsum_k log a_k``)::

    log h_k = log A_k + logcumsumexp_j (log b_j - log A_j)          (j = -1 carries h_0, A = 1)

which needs ``b, h_0 > 0``; here any sign is allowed: h is the difference of two such scans,
over the positive and over the negative parts of ``b`` and ``h_0`` (``log 0 = -inf``: an empty
term). ``log a`` is given, not ``a``, so that a gate saturated to 1 in floating point is still
a finite log. Both passes are scans over time (a cumulative sum and a cumulative log-add-exp):
the primitives a parallel machine runs in O(log T) depth; NumPy runs each as one vectorised
pass over the B*H lanes per step. The arithmetic is float64 inside (``log A_k`` reaches
``T * |log a|``, where float32 keeps too few digits).

The backward is the same recurrence in the other direction, ``a`` shifted by one step::

    G_k = d_k + a_{k+1} G_{k+1}        G_{T-1} = d_{T-1} + g_n ;  dL/dh_0 = a_0 G_0
"""

from __future__ import annotations

import numpy as np

__all__ = ["scan", "scan_backward"]


def _log_parts(v):
    """``log max(v, 0)`` and ``log max(-v, 0)`` (``-inf`` where zero)."""
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(v, 0.0)), np.log(np.maximum(-v, 0.0))


def scan(log_a: np.ndarray, b: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """log_a, b (T, B, H) in processing order, h0 (B, H). Returns h (T, B, H), float64."""
    log_a = np.asarray(log_a, np.float64)
    b = np.asarray(b, np.float64)
    log_A = np.cumsum(log_a, axis=0)                                     # (T, B, H)
    h = np.zeros(b.shape, np.float64)
    for sign, lb, lh in zip((1.0, -1.0), _log_parts(b), _log_parts(np.asarray(h0, np.float64))):
        terms = np.concatenate([lh[None], lb - log_A], axis=0)           # (T + 1, B, H); row 0 is h0
        lse = np.logaddexp.accumulate(terms, axis=0)[1:]                 # (T, B, H)
        h += sign * np.exp(log_A + lse)                                  # exp(-inf) = 0: an empty part
    return h


def scan_backward(log_a: np.ndarray, d: np.ndarray, g_n: np.ndarray) -> np.ndarray:
    """log_a, d (T, B, H) in processing order (d = dL/dh_k from the outputs), g_n (B, H).
    Returns G (T, B, H) = dL/dh_k in total, float64."""
    la = np.asarray(log_a, np.float64)[::-1]                             # reversed: G runs T-1 .. 0
    shifted = np.concatenate([np.zeros((1,) + la.shape[1:]), la[:-1]], axis=0)   # a_{k+1}; none for G_{T-1}
    return scan(shifted, np.asarray(d, np.float64)[::-1], g_n)[::-1]
