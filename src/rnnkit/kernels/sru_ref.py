"""SRU (Lei et al. 2018, "Simple Recurrent Units for Highly Parallelizable Recurrence"): the
record of the kind and its readable NumPy step.

All matrix work is one GEMM for the whole sequence, ``x_proj = x @ W_ih.T + b_ih`` (T, B, 4H),
split into four blocks of H: the candidate ``u``, the forget and reset pre-activations ``p_f``,
``p_r``, and the highway ``x'``. The recurrence is elementwise (``v_f``, ``v_r`` the two halves
of ``weight_hh`` (2H,))::

    f_t = sigmoid(p_f,t + v_f * c_{t-1})
    r_t = sigmoid(p_r,t + v_r * c_{t-1})
    c_t = f_t * c_{t-1} + (1 - f_t) * u_t
    h_t = r_t * c_t + (1 - r_t) * x'_t

as in the paper's second version and the ``sru`` package (2.x, no activation on ``c_t``). The
highway ``x'_t`` is always the projection ``W_hw x_t`` (4th block of ``W_ih``), the ``sru``
package's form for ``I != H``: the kernel step only sees ``x_proj`` (``docs/kernels.md``). The
state is ``(h, c)``; only ``c`` is recurrent (``h_{t-1}`` is not used, its gradient is zero).

Its backward, with ``g_h = dL/dh_t`` and ``g_c = dL/dc_t`` (from step t+1)::

    dc      = g_c + g_h * r_t
    da_r    = g_h * (c_t - x'_t) * r_t (1 - r_t)
    da_f    = dc * (c_{t-1} - u_t) * f_t (1 - f_t)
    d_x_proj_t = [dc * (1 - f_t), da_f, da_r, g_h * (1 - r_t)]
    dL/dc_{t-1} = dc * f_t + da_f * v_f + da_r * v_r ;  dL/dh_{t-1} = 0
    dv_f += sum_b da_f * c_{t-1} ;  dv_r += sum_b da_r * c_{t-1}
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnnkit.kernels._kind import CellKind

__all__ = ["SRU", "SRUCache", "step", "step_backward", "shapes", "sigmoid"]


class SRUCache(NamedTuple):
    """What the forward keeps for the backward (both backends); every array (T, B, H) unless noted."""

    x: np.ndarray                # (T, B, I) the input
    h_prev: np.ndarray           # the h each step starts from (not used by the recurrence)
    c_prev: np.ndarray           # the c each step starts from
    candidate: np.ndarray        # u_t
    forget: np.ndarray           # f_t
    reset: np.ndarray            # r_t
    highway: np.ndarray          # x'_t
    h_n: np.ndarray              # (B, H) the final state (copies)
    c_n: np.ndarray              # (B, H)
    lengths: np.ndarray | None   # (B,) or None
    reverse: bool


def sigmoid(a):
    """The logistic function, without overflow warnings for large negative ``a``."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def step(xp, state, w, options):
    """xp (B, 4H) = x_t @ W_ih.T + b_ih; state ``(h_{t-1}, c_{t-1})``. Returns ``(h_t, c_t), saved``."""
    h, c = state
    H = c.shape[1]
    u, p_f, p_r, hw = xp[:, :H], xp[:, H:2 * H], xp[:, 2 * H:3 * H], xp[:, 3 * H:]
    f = sigmoid(p_f + w.W_hh[:H] * c)
    r = sigmoid(p_r + w.W_hh[H:] * c)
    c_new = f * c + (1 - f) * u
    h_new = r * c_new + (1 - r) * hw
    saved = {"h_prev": h, "c_prev": c, "candidate": u, "forget": f, "reset": r, "highway": hw}
    return (h_new, c_new), saved


def step_backward(g, cache: SRUCache, t: int, w):
    """g ``(dL/dh_t, dL/dc_t)`` (B, H). Returns ``d_x_proj_t, (0, dL/dc_{t-1}), {W_hh}``."""
    g_h, g_c = g
    H = g_h.shape[1]
    c_prev, u, f, r, hw = cache.c_prev[t], cache.candidate[t], cache.forget[t], cache.reset[t], cache.highway[t]
    c = f * c_prev + (1 - f) * u
    dc = g_c + g_h * r
    da_r = g_h * (c - hw) * r * (1 - r)
    da_f = dc * (c_prev - u) * f * (1 - f)
    d_xp = np.concatenate([dc * (1 - f), da_f, da_r, g_h * (1 - r)], axis=1)     # (B, 4H)
    dc_prev = dc * f + da_f * w.W_hh[:H] + da_r * w.W_hh[H:]
    dv = np.concatenate([(da_f * c_prev).sum(axis=0), (da_r * c_prev).sum(axis=0)])
    return d_xp, (np.zeros_like(g_h), dc_prev), {"W_hh": dv}


def shapes(I, H, P):
    """``weight_ih`` (4H, I) = [W; W_f; W_r; W_hw], ``weight_hh`` (2H,) = [v_f; v_r], ``bias_ih`` (4H,)."""
    return {"weight_ih": (4 * H, I), "weight_hh": (2 * H,), "bias_ih": (4 * H,)}


SRU = CellKind(
    name="SRU",
    gates=4,
    gate_names=("candidate", "forget", "reset", "highway"),
    state_names=("h", "c"),
    options={},
    projection=False,
    cache=SRUCache,
    step=step,
    step_backward=step_backward,
    activations=lambda options: (("forget", "sigmoid"), ("reset", "sigmoid")),
    report=lambda state, saved, options: {"forget": saved["forget"], "reset": saved["reset"]},
    compiled="rnnkit.kernels.fast.sru",
    shapes=shapes,
    doc="SRU: c_t = f c_{t-1} + (1 - f) W x_t, h_t = r c_t + (1 - r) W_hw x_t, f/r from x_t and v * c_{t-1}",
)
