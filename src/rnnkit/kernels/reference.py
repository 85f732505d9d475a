"""The NumPy reference backend: one time loop for every cell kind, around the kind's step.

A cell kind's reference (``kernels/<kind>_ref.py``) writes one step and its backward; this
module runs them over a sequence with the kernel contract of :mod:`rnnkit.kernels`::

    x_proj = x @ W_ih.T + b_ih                                        # (T, B, G*H)
    for t in time order (T-1 .. 0 when reverse):
        s'_t, saved_t = kind.step(x_proj[t], s_{t-1}, W, options)
        out[t] = m_t h'_t ;  s_t = m_t s'_t + (1 - m_t) s_{t-1}      # m_t = [t < lengths[b]]

    backward, t in the opposite order, g the gradient of the state after step t:
        g_t = (m_t (d_out[t] + g_h), m_t g_c, ...)
        d_x_proj[t], d_prev, dW_t = kind.step_backward(g_t, cache, t, W)
        g <- m_t d_prev + (1 - m_t) g                                  # padded steps pass g through
        dW_hh, db_hh (, dW_hr, any extra parameter by its name) += dW_t
    dW_ih = sum_t d_x_proj[t].T @ x_t ;  db_ih = sum_{t,b} d_x_proj ;  dx = d_x_proj @ W_ih

The cache (``kind.cache``, a NamedTuple) is filled by field name: ``x``, ``lengths``,
``reverse``, the kind's options, the arrays the step saved (stacked over time to (T, B, ...)),
and the final state as ``<state name>_n``; any other field (``hx``, which only the compiled
twin fills) is None. Every kind's cache has ``<state name>_prev`` (T, B, .) for each state part:
the state each step starts from.
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._common import blend, step_mask, time_order
from rnnkit.kernels._kind import CellKind, CellWeights, Forward, Grads, Implementation

__all__ = ["forward", "backward", "step", "project", "implementation"]


def project(x: np.ndarray, w: CellWeights) -> np.ndarray:
    """The input projection ``x @ W_ih.T + b_ih``: (..., I) -> (..., G*H)."""
    xp = x @ w.W_ih.T
    return xp if w.b_ih is None else xp + w.b_ih


def _make_cache(kind: CellKind, x, saved, state, lengths, reverse, options):
    known = {"x": x, "lengths": lengths, "reverse": reverse, **options, **saved}
    for name, s in zip(kind.state_names, state):
        known[f"{name}_n"] = s.copy()
    return kind.cache(**{f: known.get(f) for f in kind.cache._fields})


def forward(kind: CellKind, x, w: CellWeights, state0, lengths, reverse, keep, options) -> Forward:
    """x (T, B, I), state0 one (B, .) array per state part, lengths (B,) or None."""
    T, B, _ = x.shape
    xp = project(x, w)                                         # (T, B, G*H)
    state = tuple(np.array(s, copy=True) for s in state0)
    out = np.zeros((T, B, state[0].shape[1]), xp.dtype)       # (T, B, P)
    saved_all = {}
    for t in time_order(T, reverse):
        new, saved = kind.step(xp[t], state, w, options)
        if keep:
            for name, v in saved.items():
                if name not in saved_all:
                    saved_all[name] = np.empty((T,) + v.shape, v.dtype)
                saved_all[name][t] = v
        m = step_mask(lengths, t, B, xp.dtype)
        out[t] = new[0] if m is None else new[0] * m
        state = tuple(blend(m, n, s) for n, s in zip(new, state))
    cache = _make_cache(kind, x, saved_all, state, lengths, reverse, options) if keep else None
    return Forward(out, state, cache)


def backward(kind: CellKind, d_out, d_state, w: CellWeights, cache) -> Grads:
    """d_out (T, B, P); d_state one (B, .) array or None per state part (None: zero)."""
    x, lengths, reverse = cache.x, cache.lengths, cache.reverse
    T, B, I = x.shape
    dt = x.dtype
    g = tuple(np.zeros(getattr(cache, f"{name}_prev").shape[1:], dt) if s is None else np.array(s, dtype=dt, copy=True)
              for name, s in zip(kind.state_names, d_state))
    d_xp = np.zeros((T, B, w.W_ih.shape[0]), dt)              # (T, B, G*H)
    dW = {}
    for t in reversed(time_order(T, reverse)):
        m = step_mask(lengths, t, B, dt)
        g_t = (d_out[t] + g[0],) + g[1:]
        if m is not None:
            g_t = tuple(gk * m for gk in g_t)
        d_xp[t], d_prev, dW_t = kind.step_backward(g_t, cache, t, w)
        g = tuple(blend(m, dp, gk) for dp, gk in zip(d_prev, g))
        for name, v in dW_t.items():
            dW[name] = v if name not in dW else dW[name] + v
    flat = d_xp.reshape(T * B, -1)                             # (T*B, G*H)
    dx = d_xp @ w.W_ih                                         # (T, B, I)
    dW_ih = flat.T @ x.reshape(T * B, I)                       # (G*H, I)
    has_bias = w.b_ih is not None
    extra = {name: v for name, v in dW.items() if name not in ("W_hh", "b_hh", "W_hr")} or None
    return Grads(dx, g, dW_ih, dW.get("W_hh"), flat.sum(axis=0) if has_bias else None,
                 dW.get("b_hh") if has_bias else None, dW.get("W_hr"), extra)


def step(kind: CellKind, x, state, w: CellWeights, options) -> tuple:
    """One step, no cache: x (B, I), state one (B, .) array per part. Returns the new state."""
    new, _ = kind.step(project(x, w), state, w, options)
    return new


def implementation(kind: CellKind) -> Implementation:
    """The reference kernels of ``kind``, with the contract's signatures."""

    def _forward(x, w, state0, lengths, reverse, keep, options):
        return forward(kind, x, w, state0, lengths, reverse, keep, options)

    def _backward(d_out, d_state, w, cache):
        return backward(kind, d_out, d_state, w, cache)

    def _step(x, state, w, options):
        return step(kind, x, state, w, options)

    return Implementation(_forward, _backward, _step)
