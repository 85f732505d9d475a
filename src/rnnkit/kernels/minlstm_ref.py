"""minLSTM (Feng et al. 2024, "Were RNNs all we needed?"): the record of the kind and its
readable NumPy step.

The gates see the input only and are normalised to sum to one (the paper's time-independent
form), so the recurrence is elementwise and linear in h. One step, with
``x_proj_t = x_t @ W_ih.T + b_ih = [p_f | p_i | p_h]`` (B, 3H)::

    f_t = sigmoid(p_f) ;  i_t = sigmoid(p_i) ;  h~_t = p_h      (a plain Linear of x_t)
    f'_t = f_t / (f_t + i_t) ;  i'_t = i_t / (f_t + i_t)
    h_t = f'_t * h_{t-1} + i'_t * h~_t        = a_t h_{t-1} + b_t,
          log a_t = log sigmoid(p_f) - logaddexp(log sigmoid(p_f), log sigmoid(p_i))

Its backward, with ``g = dL/dh_t`` and ``s = f_t + i_t``::

    df = g i_t (h_{t-1} - h~_t) / s^2 ;  di = g f_t (h~_t - h_{t-1}) / s^2
    dp_f = df f_t (1 - f_t) ;  dp_i = di i_t (1 - i_t) ;  dp_h = g i'_t ;  dL/dh_{t-1} = g f'_t

No recurrent weight (``weight_ih`` (3H, I), ``bias_ih`` (3H,)); the option ``algorithm``
chooses the compiled twin's 'loop' or 'scan' (as minGRU).
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._common import sigmoid
from rnnkit.kernels._kind import CellKind
from rnnkit.kernels._min_common import ALGORITHMS, MinCache, log_sigmoid, make_step

__all__ = ["MINLSTM", "coefficients", "coefficients_backward", "step", "step_backward"]


def coefficients(xp, with_log=False):
    """xp (..., 3H) -> ``log a`` (None unless ``with_log``), ``a``, ``b`` (..., H)."""
    H = xp.shape[-1] // 3
    p_f, p_i, h_tilde = xp[..., :H], xp[..., H:2 * H], xp[..., 2 * H:]
    if not with_log:
        f, i = sigmoid(p_f), sigmoid(p_i)
        s = f + i
        return None, f / s, i / s * h_tilde
    lf, li = log_sigmoid(p_f), log_sigmoid(p_i)
    ls = np.logaddexp(lf, li)                                  # log(f + i)
    return lf - ls, np.exp(lf - ls), np.exp(li - ls) * h_tilde


def coefficients_backward(g, h_prev, xp):
    """g = dL/dh_t, h_prev (..., H); xp (..., 3H) -> dL/dxp (..., 3H)."""
    H = xp.shape[-1] // 3
    p_f, p_i, h_tilde = xp[..., :H], xp[..., H:2 * H], xp[..., 2 * H:]
    f, i = sigmoid(p_f), sigmoid(p_i)
    s = f + i
    k = g * (h_prev - h_tilde) / (s * s)
    out = np.empty_like(xp)
    out[..., :H] = k * i * f * (1 - f)
    out[..., H:2 * H] = -k * f * i * (1 - i)
    out[..., 2 * H:] = g * i / s
    return out


step, step_backward = make_step(coefficients, coefficients_backward)


def shapes(I, H, P):
    """``weight_ih`` (3H, I) = [W_f; W_i; W_h], ``bias_ih`` (3H,): no recurrent weight."""
    return {"weight_ih": (3 * H, I), "bias_ih": (3 * H,)}


def _report(state, saved, options):
    H = state[0].shape[-1]
    xp = saved["x_proj"]
    return {"forget": sigmoid(xp[..., :H]), "input": sigmoid(xp[..., H:2 * H])}


MINLSTM = CellKind(
    name="minLSTM",
    gates=3,
    gate_names=("forget", "input", "candidate"),
    state_names=("h",),
    options={"algorithm": ALGORITHMS},
    projection=False,
    cache=MinCache,
    step=step,
    step_backward=step_backward,
    activations=lambda options: (("forget", "sigmoid"), ("input", "sigmoid")),
    report=_report,
    compiled="rnnkit.kernels.fast.minlstm",
    shapes=shapes,
    doc="minLSTM: h_t = f'_t h_{t-1} + i'_t W_h x_t, normalised input-only gates, a parallel scan over time",
)
