"""LayerNorm GRU: the record of the kind and its readable NumPy step.

Ba, Kiros & Hinton (2016, "Layer Normalization", sec. 3.1) normalise the summed inputs of a
recurrent layer at every step; for the LSTM they normalise the input and the recurrent
products separately (``kernels/lnlstm_ref.py``). This kind applies the same recipe to
PyTorch's GRU (gate order r, z, n, the reset gate after the recurrent product, as cuDNN): the
input product and the recurrent product are each normalised over their full 3H vector, with
their own gain and shift (``LN(v) = (1 + w) (v - mean v) / sqrt(var v + eps) + beta``,
``kernels/_layernorm.py``). One step, with ``x_proj_t = x_t @ W_ih.T`` (B, 3H)::

    [x_r, x_z, x_n] = LN_ih(x_proj_t)                          # (B, 3H)
    [s_r, s_z, s_n] = LN_hh(h_{t-1} @ W_hh.T)                  # (B, 3H)
    r = sigmoid(x_r + s_r) ;  z = sigmoid(x_z + s_z)
    n = tanh(x_n + r * s_n)
    h_t = (1 - z) * n + z * h_{t-1}

The shifts are the gates' biases (``beta_hh``'s n block plays PyTorch's ``b_hn``, inside
``r * (.)``), so there is no ``bias_ih``/``bias_hh``; the parameters of one layer and
direction are ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), and in ``CellWeights.extra``
``weight_ln_ih``, ``bias_ln_ih``, ``weight_ln_hh``, ``bias_ln_hh`` (3H,) (gains as offsets
from 1; ``bias=False`` leaves out the shifts).

Its backward, with ``g = dL/dh_t``::

    dn = g (1 - z)(1 - n^2) ;  dz = g (h_{t-1} - n) z (1 - z) ;  dr = dn s_n r (1 - r)
    d_x_proj_t = LN_ih'([dr, dz, dn]) ;  dv = LN_hh'([dr, dz, dn r])       # LN' : ln_backward
    dL/dh_{t-1} = g z + dv @ W_hh ;  dW_hh += dv.T @ h_{t-1}
    dw_ih += sum_b [dr, dz, dn] n_ih ;  dbeta_ih += sum_b [dr, dz, dn]   (hh with [dr, dz, dn r])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.kernels._common import sigmoid
from rnnkit.kernels._kind import CellKind
from rnnkit.kernels._layernorm import PositiveFloat, ln_backward, ln_forward, ln_grads
from rnnkit.kernels.lnlstm_ref import EPS, LN_HH, LN_IH

__all__ = ["LNGRU", "LNGRUCache", "step", "step_backward", "shapes"]


class LNGRUCache(NamedTuple):
    """What the forward keeps for the backward (both backends)."""

    x: np.ndarray                # (T, B, I) the input
    h_prev: np.ndarray           # (T, B, H) the state each step starts from
    gates: np.ndarray            # (T, B, 3, H) r, z, n
    s_n: np.ndarray              # (T, B, H) the n block of LN_hh(h_{t-1} @ W_hh.T)
    n_ih: np.ndarray             # (T, B, 3H) the normalised input product
    rstd_ih: np.ndarray          # (T, B, 1)
    n_hh: np.ndarray             # (T, B, 3H) the normalised recurrent product
    rstd_hh: np.ndarray          # (T, B, 1)
    lengths: np.ndarray | None   # (B,) or None
    reverse: bool
    eps: float


def step(xp, state, w, options):
    """xp (B, 3H) = x_t @ W_ih.T; state ``(h_{t-1},)``. Returns ``(h_t,), saved``."""
    (h,) = state
    H = h.shape[1]
    eps = options["eps"]
    e = w.extra or {}
    ax, n_ih, r_ih = ln_forward(xp, e.get(LN_IH[0]), e.get(LN_IH[1]), eps)
    s, n_hh, r_hh = ln_forward(h @ w.W_hh.T, e.get(LN_HH[0]), e.get(LN_HH[1]), eps)
    r = sigmoid(ax[:, :H] + s[:, :H])
    z = sigmoid(ax[:, H:2 * H] + s[:, H:2 * H])
    s_n = s[:, 2 * H:]
    n = np.tanh(ax[:, 2 * H:] + r * s_n)
    saved = {"h_prev": h, "gates": np.stack([r, z, n], axis=1), "s_n": s_n, "n_ih": n_ih, "rstd_ih": r_ih,
             "n_hh": n_hh, "rstd_hh": r_hh}
    return ((1 - z) * n + z * h,), saved


def step_backward(g, cache: LNGRUCache, t: int, w):
    """g ``(dL/dh_t,)`` (B, H). Returns ``d_x_proj_t (B, 3H), (dL/dh_{t-1},), {W_hh, LN parameters}``."""
    (g_h,) = g
    e = w.extra or {}
    gates, h_prev = cache.gates[t], cache.h_prev[t]
    r, z, n = gates[:, 0], gates[:, 1], gates[:, 2]
    dn = g_h * (1 - z) * (1 - n * n)
    dz = g_h * (h_prev - n) * z * (1 - z)
    dr = dn * cache.s_n[t] * r * (1 - r)
    d_ax = np.concatenate([dr, dz, dn], axis=1)               # (B, 3H) dL/dLN_ih
    d_s = np.concatenate([dr, dz, dn * r], axis=1)            # (B, 3H) dL/dLN_hh
    dv = ln_backward(d_s, cache.n_hh[t], cache.rstd_hh[t], e.get(LN_HH[0]))
    dW = {"W_hh": dv.T @ h_prev}
    ln_grads(d_ax, cache.n_ih[t], LN_IH, e, dW)
    ln_grads(d_s, cache.n_hh[t], LN_HH, e, dW)
    d_xp = ln_backward(d_ax, cache.n_ih[t], cache.rstd_ih[t], e.get(LN_IH[0]))
    return d_xp, (g_h * z + dv @ w.W_hh,), dW


def shapes(I, H, P):
    """``weight_ih`` (3H, I), ``weight_hh`` (3H, H); the LN gain offsets and shifts (3H,)."""
    G = 3 * H
    return {"weight_ih": (G, I), "weight_hh": (G, H), "weight_ln_ih": (G,), "bias_ln_ih": (G,),
            "weight_ln_hh": (G,), "bias_ln_hh": (G,)}


LNGRU = CellKind(
    name="LayerNormGRU",
    gates=3,
    gate_names=("reset", "update", "new"),
    state_names=("h",),
    options={"eps": PositiveFloat(EPS)},
    projection=False,
    cache=LNGRUCache,
    step=step,
    step_backward=step_backward,
    activations=lambda options: (("reset", "sigmoid"), ("update", "sigmoid"), ("new", "tanh")),
    report=lambda state, saved, options: {"reset": saved["gates"][:, 0], "update": saved["gates"][:, 1],
                                          "new": saved["gates"][:, 2]},
    compiled="rnnkit.kernels.fast.lngru",
    shapes=shapes,
    doc="LayerNorm GRU: [x_r,x_z,x_n] = LN(W_ih x), [s_r,s_z,s_n] = LN(W_hh h), n = tanh(x_n + r s_n)",
)
