"""LayerNorm LSTM (Ba, Kiros & Hinton 2016, "Layer Normalization", sec. 3.1 and the appendix's
layer-normalised LSTM): the record of the kind and its readable NumPy step.

Layer normalisation (``kernels/_layernorm.py``: ``LN(v) = (1 + w) (v - mean v) / sqrt(var v +
eps) + beta`` over the last axis) is applied separately to the input and the recurrent product,
each over the full 4H vector of the four gates (as the paper), with its own gain and shift, and
to the cell state before the output tanh. One step, with ``x_proj_t = x_t @ W_ih.T`` (B, 4H)::

    a_t  = LN_ih(x_proj_t) + LN_hh(h_{t-1} @ W_hh.T)          # (B, 4H), gate order i, f, g, o
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o) ;  g = tanh(a_g)
    c_t  = f * c_{t-1} + i * g                               # (B, H)
    h_t  = o * tanh(LN_c(c_t))                               # (B, H)

The gates' bias is the shifts ``beta_ih + beta_hh`` (a bias added before a normalisation would
cancel), so the kind has no ``bias_ih``/``bias_hh``; its parameters (one layer and direction)
are ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), and in ``CellWeights.extra``
``weight_ln_ih``, ``bias_ln_ih``, ``weight_ln_hh``, ``bias_ln_hh`` (4H,), ``weight_ln_c``,
``bias_ln_c`` (H,) (the gains as offsets from 1; ``bias=False`` leaves out the shifts).

Its backward, with ``g_h = dL/dh_t`` and ``g_c = dL/dc_t``::

    dk  = g_h * o * (1 - tanh(LN_c(c_t))^2) ;  dc = g_c + LN_c'(dk)       # LN' : ln_backward
    da  = [dc g i (1 - i), dc c_{t-1} f (1 - f), dc i (1 - g^2), g_h tanh(LN_c(c_t)) o (1 - o)]
    ds  = LN_hh'(da) ;  dL/dh_{t-1} = ds @ W_hh ;  dW_hh += ds.T @ h_{t-1}
    dL/dc_{t-1} = dc * f ;  d_x_proj_t = LN_ih'(da)
    dw_ih += sum_b da n_ih ;  dbeta_ih += sum_b da     (likewise hh with da, c with dk)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.kernels._common import sigmoid
from rnnkit.kernels._kind import CellKind
from rnnkit.kernels._layernorm import PositiveFloat, ln_backward, ln_forward, ln_grads

__all__ = ["LNLSTM", "LNLSTMCache", "step", "step_backward", "shapes", "EPS", "LN_IH", "LN_HH", "LN_C"]

EPS = 1e-5                                           # torch.nn.LayerNorm's default
LN_IH = ("weight_ln_ih", "bias_ln_ih")               # (gain offset, shift) of each normalisation
LN_HH = ("weight_ln_hh", "bias_ln_hh")
LN_C = ("weight_ln_c", "bias_ln_c")


class LNLSTMCache(NamedTuple):
    """What the forward keeps for the backward (both backends)."""

    x: np.ndarray                # (T, B, I) the input
    h_prev: np.ndarray           # (T, B, H) the state each step starts from
    c_prev: np.ndarray           # (T, B, H)
    gates: np.ndarray            # (T, B, 4, H) i, f, g, o after their activations
    tanh_c: np.ndarray           # (T, B, H) tanh(LN_c(c_t))
    n_ih: np.ndarray             # (T, B, 4H) the normalised input product
    rstd_ih: np.ndarray          # (T, B, 1) its 1 / sqrt(var + eps)
    n_hh: np.ndarray             # (T, B, 4H) the normalised recurrent product
    rstd_hh: np.ndarray          # (T, B, 1)
    n_c: np.ndarray              # (T, B, H) the normalised cell state
    rstd_c: np.ndarray           # (T, B, 1)
    lengths: np.ndarray | None   # (B,) or None
    reverse: bool
    eps: float


def _ln(v, extra, names, eps):
    return ln_forward(v, extra.get(names[0]), extra.get(names[1]), eps)


def step(xp, state, w, options):
    """xp (B, 4H) = x_t @ W_ih.T; state ``(h_{t-1}, c_{t-1})``. Returns ``(h_t, c_t), saved``."""
    h, c = state
    H = c.shape[1]
    eps = options["eps"]
    e = w.extra or {}
    ax, n_ih, r_ih = _ln(xp, e, LN_IH, eps)
    ah, n_hh, r_hh = _ln(h @ w.W_hh.T, e, LN_HH, eps)
    a = ax + ah                                              # (B, 4H)
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    g = np.tanh(a[:, 2 * H:3 * H])
    o = sigmoid(a[:, 3 * H:])
    c_new = f * c + i * g                                    # (B, H)
    kc, n_c, r_c = _ln(c_new, e, LN_C, eps)
    tanh_c = np.tanh(kc)
    saved = {"h_prev": h, "c_prev": c, "gates": np.stack([i, f, g, o], axis=1), "tanh_c": tanh_c,
             "n_ih": n_ih, "rstd_ih": r_ih, "n_hh": n_hh, "rstd_hh": r_hh, "n_c": n_c, "rstd_c": r_c}
    return (o * tanh_c, c_new), saved


def step_backward(grad, cache: LNLSTMCache, t: int, w):
    """grad ``(dL/dh_t, dL/dc_t)`` (B, H) each. Returns ``d_x_proj_t (B, 4H),
    (dL/dh_{t-1}, dL/dc_{t-1}), {W_hh and the LN parameters by name}``."""
    g_h, g_c = grad
    e = w.extra or {}
    gates, tanh_c = cache.gates[t], cache.tanh_c[t]
    i, f, g, o = gates[:, 0], gates[:, 1], gates[:, 2], gates[:, 3]
    dk = g_h * o * (1 - tanh_c * tanh_c)                     # dL/dLN_c(c_t)
    dc = g_c + ln_backward(dk, cache.n_c[t], cache.rstd_c[t], e.get(LN_C[0]))
    da = np.concatenate([dc * g * i * (1 - i),
                         dc * cache.c_prev[t] * f * (1 - f),
                         dc * i * (1 - g * g),
                         g_h * tanh_c * o * (1 - o)], axis=1)  # (B, 4H)
    ds = ln_backward(da, cache.n_hh[t], cache.rstd_hh[t], e.get(LN_HH[0]))
    dW = {"W_hh": ds.T @ cache.h_prev[t]}
    ln_grads(da, cache.n_ih[t], LN_IH, e, dW)
    ln_grads(da, cache.n_hh[t], LN_HH, e, dW)
    ln_grads(dk, cache.n_c[t], LN_C, e, dW)
    d_xp = ln_backward(da, cache.n_ih[t], cache.rstd_ih[t], e.get(LN_IH[0]))
    return d_xp, (ds @ w.W_hh, dc * f), dW


def shapes(I, H, P):
    """``weight_ih`` (4H, I), ``weight_hh`` (4H, H); the LN gain offsets and shifts (4H,) and (H,)."""
    G = 4 * H
    return {"weight_ih": (G, I), "weight_hh": (G, H), "weight_ln_ih": (G,), "bias_ln_ih": (G,),
            "weight_ln_hh": (G,), "bias_ln_hh": (G,), "weight_ln_c": (H,), "bias_ln_c": (H,)}


def report(state, saved, options):
    gates = saved["gates"]
    return {"input": gates[:, 0], "forget": gates[:, 1], "cell": gates[:, 2], "output": gates[:, 3],
            "tanh_c": saved["tanh_c"]}


LNLSTM = CellKind(
    name="LayerNormLSTM",
    gates=4,
    gate_names=("input", "forget", "cell", "output"),
    state_names=("h", "c"),
    options={"eps": PositiveFloat(EPS)},
    projection=False,
    cache=LNLSTMCache,
    step=step,
    step_backward=step_backward,
    activations=lambda options: (("input", "sigmoid"), ("forget", "sigmoid"), ("cell", "tanh"),
                                 ("output", "sigmoid"), ("tanh_c", "tanh")),
    report=report,
    compiled="rnnkit.kernels.fast.lnlstm",
    shapes=shapes,
    doc="LayerNorm LSTM: a = LN(W_ih x) + LN(W_hh h), h_t = o tanh(LN(c_t)) (Ba et al. 2016)",
)
