"""Gradient flow through time: ``||dL/dh_t||`` per step and ``||ds_T/ds_t||`` products.

``gradient_flow`` answers "how much of the loss gradient reaches step t": the total
derivative ``dL/dh_t`` of every layer and direction (through all later steps and, for a
stacked layer, through the layers above), with its L2 norm over the hidden units.

``jacobian_norms`` answers "how much does the final state still depend on step t":
the spectral (or Frobenius) norm of the product of per-step Jacobians

.. math:: \\frac{\\partial s_T}{\\partial s_t} = J_T J_{T-1} \\cdots J_{t+1},\\qquad
          J_k = \\frac{\\partial s_k}{\\partial s_{k-1}}

with the input sequence held fixed. For RNN and GRU the state is ``s = h``; for LSTM it is
the joint state ``s = (h, c)`` of size P + H (``state='joint'``), or the block
``dh_T/dh_t`` with ``c_t`` held fixed (``state='h'``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit._checks import as_float_array, check_choice, check_shape
from rnnkit.diagnostics._unroll import (
    Inputs,
    backward_steps,
    check_layer,
    direction_copy,
    forward_steps,
    prepare_inputs,
    replay_backward,
    replay_forward,
)
from rnnkit.nn.directions import merged_size

__all__ = ["GradientFlow", "gradient_flow", "jacobian_norms", "batch_mean"]


def batch_mean(v: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN (padded steps); NaN where nothing is valid."""
    ok = ~np.isnan(v)
    count = ok.sum(axis=-1)
    total = np.where(ok, v, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


@dataclass
class GradientFlow:
    """Per-step gradients of one loss, for every layer and direction.

    ``dh[l, d, t, b]`` is ``dL/dh_t`` (P,) of layer l, direction d, sequence b. For LSTM the
    state is the pair ``s_t = (h_t, c_t)`` and ``(dh, dc)`` is ``dL/ds_t``: ``dc`` is
    ``dL/dc_t`` with ``h_t`` held fixed (the gradient reaching ``c_t`` from later steps, zero at
    the last step); ``dc`` is None for RNN and GRU. Padded steps hold NaN.
    """

    mode: str                      # 'RNN', 'LSTM' or 'GRU'
    dh: np.ndarray                 # (L, D, T, B, P)
    dc: np.ndarray | None          # (L, D, T, B, H) for LSTM
    clip: float | None = None
    label: str = ""

    @property
    def per_sample(self) -> np.ndarray:
        """(L, D, T, B): ``||dL/dh_t||_2`` of each sequence."""
        return np.linalg.norm(self.dh, axis=-1)

    @property
    def norms(self) -> np.ndarray:
        """(L, D, T): ``||dL/dh_t||_2`` averaged over the batch (real steps only)."""
        return batch_mean(self.per_sample)

    @property
    def cell_norms(self) -> np.ndarray | None:
        """(L, D, T): ``||dL/dc_t||_2`` averaged over the batch (LSTM), else None."""
        return None if self.dc is None else batch_mean(np.linalg.norm(self.dc, axis=-1))

    def first_to_last(self, layer: int = -1, direction: int = 0) -> float:
        """``norms[layer, direction, 0] / norms[layer, direction, T-1]``: below 1 means vanishing."""
        n = self.norms[layer, direction]
        return float(n[0] / n[-1])


def _loss_gradient(layer, inp: Inputs, d_out) -> np.ndarray:
    """d_out as (T, B, F) on the top layer's merged output; None means L = sum(out[last])."""
    T, B = inp.T, inp.B
    F = merged_size(layer.merge_mode, layer.output_size, layer.num_directions)
    dt = inp.x.dtype
    last = np.full(B, T - 1) if inp.lengths is None else inp.lengths - 1       # (B,)
    full = np.zeros((T, B, F), dt)
    if d_out is None:
        full[last, np.arange(B)] = 1.0
        return full
    g = as_float_array("d_out", d_out, dt)
    if not inp.batched:
        g = g[None] if g.ndim == 1 else g[:, None]
    if g.ndim == 2:
        check_shape("d_out", g, (B, F))
        full[last, np.arange(B)] = g
        return full
    expected = (B, T, F) if layer.batch_first and inp.batched else (T, B, F)
    if g.shape != expected:
        raise ValueError(
            f"d_out expected shape {expected[-2:]} (the last step) or {expected} (every step), got {g.shape}"
        )
    return np.ascontiguousarray(g.transpose(1, 0, 2)) if layer.batch_first and inp.batched else g


def gradient_flow(layer, x, hx=None, lengths=None, *, d_out=None, clip=None, dtype=np.float64,
                  label: str = "") -> GradientFlow:
    """``dL/dh_t`` for every step, layer and direction of ``layer`` on the batch ``x``.

    The loss is ``L = sum(out[last step])`` by default (the last real step of each sequence
    when ``lengths`` is given); ``d_out`` may instead give ``dL/d out`` for the last step,
    shape ``(B, F)``, or for every step, shape of the layer's output. ``clip`` scales the
    per-sample state gradient (h and c together for LSTM) down to at most ``clip`` at every
    step of the backward pass (state-gradient clipping). Computed in ``dtype`` (float64 by
    default, so that a vanishing gradient does not underflow).

    Example::

        flow = gradient_flow(nn.RNN(4, 16), np.random.randn(50, 2, 4))
        flow.norms[0, 0]            # (50,) ||dL/dh_t||, tiny at t=0, largest at t=49
    """
    check_layer(layer)
    if clip is not None:
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not clip > 0:
            raise ValueError(f"clip must be a positive number or None, got {clip!r}")
        clip = float(clip)
    inp = prepare_inputs(layer, x, hx, lengths, dtype)
    traces = replay_forward(layer, inp, dtype)
    adj = replay_backward(layer, traces, _loss_gradient(layer, inp, d_out), inp.mask, clip)
    invalid = ~inp.valid()[:, :, None]                                     # (T, B, 1)
    dh = np.stack([np.stack([np.where(invalid, np.nan, a[0]) for a in row]) for row in adj])
    dc = None
    if len(layer.kind.state_names) > 1:                                    # dL/dc_t of a two-part state (LSTM)
        dc = np.stack([np.stack([np.where(invalid, np.nan, a[1]) for a in row]) for row in adj])
    return GradientFlow(layer.mode, dh, dc, clip, label)


def jacobian_norms(layer, x, hx=None, lengths=None, *, state: str = "joint", norm: str = "spectral",
                   dtype=np.float64) -> np.ndarray:
    """(L, D, T): ``||ds_final/ds_t||`` per layer and direction, averaged over the batch.

    ``s_final`` is the state after each sequence's last processed step (``h_n``); for the
    reverse direction that is step 0. ``norm='spectral'`` is the largest singular value,
    ``norm='fro'`` the Frobenius norm. ``state='joint'`` uses ``(h, c)`` for LSTM,
    ``state='h'`` the block ``dh_final/dh_t`` with ``c_t`` held fixed (the same for RNN/GRU).
    Computed by reverse-mode accumulation: S = P (+ H) copies of every sequence, copy k
    seeded with the unit vector e_k on the final state, so that at step t the state adjoints
    of the copies are the rows of ``J_T ... J_{t+1}``. Padded steps hold NaN.

    Example::

        jn = jacobian_norms(nn.GRU(3, 8), np.random.randn(20, 2, 3))   # (1, 1, 20), jn[..., -1] == 1
    """
    check_layer(layer)
    check_choice("state", state, ("joint", "h"))
    check_choice("norm", norm, ("spectral", "fro"))
    inp = prepare_inputs(layer, x, hx, lengths, dtype)
    traces = replay_forward(layer, inp, dtype)
    P = layer.output_size
    S = sum(layer.state_sizes)                                              # P (+ H for LSTM's c)
    B, T = inp.B, inp.T
    eye = np.tile(np.eye(S, dtype=inp.x.dtype), (B, 1))                     # (B*S, S)
    mask = None if inp.mask is None else np.repeat(inp.mask, S, axis=1)     # (T, B*S, 1)
    valid = inp.valid()                                                     # (T, B)
    result = np.empty((layer.num_layers, layer.num_directions, T))
    for l, row in enumerate(traces):
        for d, tr in enumerate(row):
            sub = direction_copy(layer, l, d, dtype)
            x_rep = np.repeat(tr.x, S, axis=1)                              # (T, B*S, I_l)
            s0 = tuple(np.repeat(s, S, axis=0) for s in tr.s0)
            forward_steps(sub, x_rep, s0, mask, tr.reverse)
            bounds = np.cumsum((0,) + layer.state_sizes)
            seed = tuple(eye[:, a:b] for a, b in zip(bounds[:-1], bounds[1:]))   # (eye[:, :P], eye[:, P:]) for LSTM
            zero_out = np.zeros((T, B * S, P), inp.x.dtype)
            _, adj, _ = backward_steps(sub, zero_out, seed, mask, tr.reverse)
            M = np.concatenate(adj, axis=2).reshape(T, B, S, S)             # M[t, b, k, j] = ds_T[k]/ds_t[j]
            if state == "h":
                M = M[:, :, :P, :P]
            n = np.linalg.norm(M, ord=2 if norm == "spectral" else "fro", axis=(2, 3))   # (T, B)
            result[l, d] = batch_mean(np.where(valid, n, np.nan))
    return result
