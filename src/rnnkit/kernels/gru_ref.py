"""GRU (PyTorch's gate order r, z, n): the record of the kind and its readable NumPy step.

One step, with ``[x_r, x_z, x_n] = x_t @ W_ih.T + b_ih`` (each (B, H)). ``reset_after=True``
(PyTorch, cuDNN)::

    [s_r, s_z, s_n] = h_{t-1} @ W_hh.T + b_hh                  # (B, 3H)
    r = sigmoid(x_r + s_r) ;  z = sigmoid(x_z + s_z)           # reset, update gates
    n = tanh(x_n + r * s_n)                                    # candidate; s = s_n is kept
    h_t = (1 - z) * n + z * h_{t-1}

``reset_after=False`` (Cho et al. 2014): the reset gate acts before the product::

    [s_r, s_z] = h_{t-1} @ W_hh[:2H].T + b_hh[:2H]
    n = tanh(x_n + (r * h_{t-1}) @ W_hn.T + b_hn)              # s = r * h_{t-1} is kept

Its backward, with ``g = dL/dh_t``::

    dn = g (1 - z)(1 - n^2) ;  dz = g (h_{t-1} - n) z (1 - z) ;  dL/dh_{t-1} = g z + ...
    reset_after:   dr = dn s r (1 - r) ;  ds = [dr, dz, dn r]       (the gradient of [s_r, s_z, s_n])
                   dL/dh_{t-1} += ds @ W_hh ;  dW_hh += ds.T @ h_{t-1} ;  db_hh += sum_b ds
    reset_before:  d(rh) = dn @ W_hn ;  dr = d(rh) h_{t-1} r (1 - r) ;  dL/dh_{t-1} += d(rh) r
                   dL/dh_{t-1} += [dr, dz] @ W_hh[:2H]
                   dW_hh += [[dr, dz].T @ h_{t-1} ; dn.T @ s] ;  db_hh += sum_b [dr, dz, dn]
    d_x_proj_t = [dr, dz, dn]                                  # (B, 3H)

With a variational recurrent mask ``m`` (B, H) (``kernels/_recurrent_mask.py``) every product
reads ``hm = m * h_{t-1}`` instead of h_{t-1} (reset_before: ``s = r * hm``), while the carry
``z * h_{t-1}`` and ``dz`` keep the unmasked state; the gradient that flows back through the
products into h_{t-1} is multiplied by m, and ``dW_hh`` reads ``hm``.

:mod:`rnnkit.kernels.reference` runs the step over a sequence.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.kernels._common import sigmoid
from rnnkit.kernels._kind import CellKind
from rnnkit.kernels._recurrent_mask import mask_option, masked

__all__ = ["GRU", "GRUCache", "step", "step_backward"]


class GRUCache(NamedTuple):
    """What the forward keeps for the backward (both backends)."""

    x: np.ndarray                # (T, B, I) the input
    h_prev: np.ndarray           # (T, B, H) the state each step starts from
    gates: np.ndarray            # (T, B, 3, H) r, z, n
    s: np.ndarray                # (T, B, H) reset_after: W_hn h_{t-1} + b_hn; else r * h_{t-1}
    lengths: np.ndarray | None   # (B,) or None
    reverse: bool
    reset_after: bool
    recurrent_mask: np.ndarray | None = None   # (B, H) the variational recurrent mask, or None


def _affine(h, W, b):
    """``h @ W.T + b`` (b may be None)."""
    s = h @ W.T
    return s if b is None else s + b


def step(xp, state, w, options):
    """xp (B, 3H) = x_t @ W_ih.T + b_ih; state ``(h_{t-1},)``. Returns ``(h_t,), saved``."""
    (h,) = state
    H = h.shape[1]
    W_hh, b_hh = w.W_hh, w.b_hh
    hm = masked(h, mask_option(options))                     # the state the products read
    if options["reset_after"]:
        s_all = _affine(hm, W_hh, b_hh)                       # (B, 3H)
        r = sigmoid(xp[:, :H] + s_all[:, :H])
        z = sigmoid(xp[:, H:2 * H] + s_all[:, H:2 * H])
        s = s_all[:, 2 * H:]                                 # W_hn h + b_hn
        n = np.tanh(xp[:, 2 * H:] + r * s)
    else:
        s_rz = _affine(hm, W_hh[:2 * H], None if b_hh is None else b_hh[:2 * H])    # (B, 2H)
        r = sigmoid(xp[:, :H] + s_rz[:, :H])
        z = sigmoid(xp[:, H:2 * H] + s_rz[:, H:])
        s = r * hm
        n = np.tanh(xp[:, 2 * H:] + _affine(s, W_hh[2 * H:], None if b_hh is None else b_hh[2 * H:]))
    h_new = (1 - z) * n + z * h
    return (h_new,), {"h_prev": h, "gates": np.stack([r, z, n], axis=1), "s": s}


def step_backward(g, cache: GRUCache, t: int, w):
    """g ``(dL/dh_t,)`` (B, H). Returns ``d_x_proj_t (B, 3H), (dL/dh_{t-1},), {W_hh, b_hh}``."""
    (g_h,) = g
    H = g_h.shape[1]
    gates, h_prev, s = cache.gates[t], cache.h_prev[t], cache.s[t]
    r, z, n = gates[:, 0], gates[:, 1], gates[:, 2]
    W_hh = w.W_hh
    mask = cache.recurrent_mask
    hm = masked(h_prev, mask)                                # what the products read
    dn = g_h * (1 - z) * (1 - n * n)
    dz = g_h * (h_prev - n) * z * (1 - z)
    dh = g_h * z
    if cache.reset_after:
        dr = dn * s * r * (1 - r)
        ds = np.concatenate([dr, dz, dn * r], axis=1)        # (B, 3H)
        dh = dh + masked(ds @ W_hh, mask)
        dW = {"W_hh": ds.T @ hm, "b_hh": ds.sum(axis=0)}
    else:
        d_rh = dn @ W_hh[2 * H:]                             # (B, H)
        dr = d_rh * hm * r * (1 - r)
        d_rz = np.concatenate([dr, dz], axis=1)              # (B, 2H)
        dh = dh + masked(d_rh * r + d_rz @ W_hh[:2 * H], mask)
        dW = {"W_hh": np.concatenate([d_rz.T @ hm, dn.T @ s], axis=0),
              "b_hh": np.concatenate([d_rz, dn], axis=1).sum(axis=0)}
    return np.concatenate([dr, dz, dn], axis=1), (dh,), dW


GRU = CellKind(
    name="GRU",
    gates=3,
    gate_names=("reset", "update", "new"),
    state_names=("h",),
    options={"reset_after": (True, False)},
    projection=False,
    cache=GRUCache,
    step=step,
    step_backward=step_backward,
    activations=lambda options: (("reset", "sigmoid"), ("update", "sigmoid"), ("new", "tanh")),
    report=lambda state, saved, options: {"reset": saved["gates"][:, 0], "update": saved["gates"][:, 1],
                                          "new": saved["gates"][:, 2]},
    compiled="rnnkit.kernels.fast.gru",
    doc="GRU: h_t = (1 - z) n + z h_{t-1}, n = tanh(W_in x + b_in + r (W_hn h + b_hn))",
)
