"""minGRU (Feng et al. 2024, "Were RNNs all we needed?"): the record of the kind and its
readable NumPy step.

The gates see the input only, so the recurrence is elementwise and linear in h. One step,
with ``x_proj_t = x_t @ W_ih.T + b_ih = [p_z | p_h]`` (B, 2H)::

    z_t  = sigmoid(p_z)                        the update gate
    h~_t = p_h                                 the candidate (a plain Linear of x_t)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t    = a_t h_{t-1} + b_t,  log a_t = -softplus(p_z)

Its backward, with ``g = dL/dh_t``::

    dp_z = g (h~_t - h_{t-1}) z_t (1 - z_t) ;  dp_h = g z_t ;  dL/dh_{t-1} = g (1 - z_t)

There is no recurrent weight (``weight_ih`` (2H, I) and ``bias_ih`` (2H,) only). The option
``algorithm`` chooses the compiled twin's way over time: 'loop' (sequential, compiled) or
'scan' (the parallel log-space scan of ``kernels/_linear_scan.py``); the reference is the loop.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._common import sigmoid
from rnnkit.kernels._kind import CellKind
from rnnkit.kernels._min_common import ALGORITHMS, MinCache, make_step, softplus

__all__ = ["MINGRU", "coefficients", "coefficients_backward", "step", "step_backward"]


def coefficients(xp, with_log=False):
    """xp (..., 2H) -> ``log a`` (None unless ``with_log``), ``a``, ``b`` (..., H)."""
    H = xp.shape[-1] // 2
    p_z, h_tilde = xp[..., :H], xp[..., H:]
    z = sigmoid(p_z)
    return (-softplus(p_z) if with_log else None), 1 - z, z * h_tilde


def coefficients_backward(g, h_prev, xp):
    """g = dL/dh_t, h_prev (..., H); xp (..., 2H) -> dL/dxp (..., 2H)."""
    H = xp.shape[-1] // 2
    p_z, h_tilde = xp[..., :H], xp[..., H:]
    z = sigmoid(p_z)
    out = np.empty_like(xp)
    out[..., :H] = g * (h_tilde - h_prev) * z * (1 - z)
    out[..., H:] = g * z
    return out


step, step_backward = make_step(coefficients, coefficients_backward)


def shapes(I, H, P):
    """``weight_ih`` (2H, I) = [W_z; W_h], ``bias_ih`` (2H,): no recurrent weight."""
    return {"weight_ih": (2 * H, I), "bias_ih": (2 * H,)}


MINGRU = CellKind(
    name="minGRU",
    gates=2,
    gate_names=("update", "candidate"),
    state_names=("h",),
    options={"algorithm": ALGORITHMS},
    projection=False,
    cache=MinCache,
    step=step,
    step_backward=step_backward,
    activations=lambda options: (("update", "sigmoid"),),
    report=lambda state, saved, options: {"update": sigmoid(saved["x_proj"][..., :state[0].shape[-1]])},
    compiled="rnnkit.kernels.fast.mingru",
    shapes=shapes,
    doc="minGRU: h_t = (1 - z_t) h_{t-1} + z_t W_h x_t, z_t = sigmoid(W_z x_t), a parallel scan over time",
)
