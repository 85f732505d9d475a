"""Replay a recurrent layer one time step at a time, one (layer, direction) at a time.

The layer's kernels run a whole sequence in one call and keep the per-step gradients to
themselves. To see them, every (layer l, direction d) of the layer is copied into a
one-layer, one-direction layer of the same kind (same weights, same options: RNN
nonlinearity, GRU ``reset_after``, LSTM ``proj_size``) and driven one step at a time
through the public API: ``sub(x[t:t+1], s_{t-1})`` forward, then ``sub.backward`` in
reverse order (the caches are a LIFO stack). Between the steps we hold the adjoint of the
state, which is exactly ``dL/ds_t``.

Variable lengths follow the kernels' rule: at a padded step (``t >= lengths[b]``) the state
is carried and the output is zero::

    s_t   = m_t * step(x_t, s_{t-1}) + (1 - m_t) * s_{t-1}        # m_t (B, 1) in {0, 1}
    out_t = m_t * h_new_t

so backward hands ``m_t * a_t`` to the step and passes ``(1 - m_t) * a_t`` straight through.
The reverse direction runs the same recurrence over t = T-1 .. 0. Dropout between layers is
not applied (diagnostics describe the deterministic, eval-mode network).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit._checks import as_lengths
from rnnkit._grad_mode import enable_grad
from rnnkit.nn.directions import merge, merge_backward, merge_saved, suffix, time_order
from rnnkit.nn.module import _as_float_dtype
from rnnkit.nn.rnn_base import RNNBase, pack_state, state_parts


def check_layer(layer) -> RNNBase:
    if not isinstance(layer, RNNBase):
        raise TypeError(
            f"layer must be an rnnkit.nn.RNN, LSTM or GRU (an RNNBase), got {type(layer).__name__}"
        )
    return layer


@dataclass
class Inputs:
    """A layer's input in the time-major layout and the diagnostics dtype."""

    x: np.ndarray                  # (T, B, I)
    states0: tuple                 # (h0 (L*D, B, P),) or (h0, c0 (L*D, B, H))
    lengths: np.ndarray | None     # (B,) int64, or None when every sequence is full
    mask: np.ndarray | None        # (T, B, 1) in {0, 1}, or None
    batched: bool

    @property
    def T(self) -> int:
        return self.x.shape[0]

    @property
    def B(self) -> int:
        return self.x.shape[1]

    def valid(self) -> np.ndarray:
        """(T, B) bool: True where step t of sequence b is a real step."""
        if self.mask is None:
            return np.ones((self.T, self.B), bool)
        return self.mask[:, :, 0] > 0


def prepare_inputs(layer: RNNBase, x, hx, lengths, dtype) -> Inputs:
    """Validate ``x``, ``hx`` and ``lengths`` as the layer does; return time-major arrays."""
    dt = _as_float_dtype(dtype)
    x, batched = layer._prepare_input(x, dt, "x")                     # (T, B, I)
    T, B, _ = x.shape
    if lengths is not None and not batched:
        raise ValueError("lengths requires a batched (3-D) x, got a 2-D x")
    lengths = as_lengths(lengths, B, T)
    mask = None
    if lengths is not None:
        mask = (np.arange(T)[:, None] < lengths[None, :]).astype(dt)[:, :, None]   # (T, B, 1)
    states0 = layer._prepare_states(hx, B, batched, dt)
    return Inputs(x, tuple(states0), lengths, mask, batched)


def direction_copy(layer: RNNBase, l: int, d: int, dtype) -> RNNBase:
    """A one-layer, one-direction layer of the same kind and options holding the weights of
    (layer ``l``, direction ``d``)."""
    sfx = suffix(l, d)
    w_ih = getattr(layer, "weight_ih" + sfx).data               # (G*H, I_l)
    sub = RNNBase(w_ih.shape[1], layer.hidden_size, bias=layer.bias, proj_size=layer.proj_size, dtype=dtype, rng=0,
                  mode=layer.mode, **layer.options)
    sub.load_state_dict({n[: -len(sfx)] + "_l0": p.data for n, p in layer._parameters.items() if n.endswith(sfx)})
    sub.train()
    return sub


def forward_steps(sub: RNNBase, x, s0, mask, reverse):
    """Run ``sub`` step by step; each step's cache stays on ``sub`` for :func:`backward_steps`.

    x (T, B, I); s0 tuple of (B, .); mask (T, B, 1) or None.
    Returns ``out (T, B, P)`` (zero at padded steps), ``prev`` (tuple of (T, B, .) arrays:
    the state each step starts from) and the final state.
    """
    T, B, _ = x.shape
    out = np.zeros((T, B, sub.output_size), x.dtype)
    prev = tuple(np.empty((T,) + s.shape, x.dtype) for s in s0)
    s = s0
    with enable_grad():
        for t in time_order(T, reverse):
            for k, sk in enumerate(s):
                prev[k][t] = sk
            o, s_n = sub(x[t:t + 1], pack_state(tuple(sk[None] for sk in s)))
            s_new = tuple(a[0] for a in state_parts(s_n))
            if mask is None:
                s, out[t] = s_new, o[0]
            else:
                m = mask[t]                                      # (B, 1)
                s = tuple(m * a + (1 - m) * b for a, b in zip(s_new, s))
                out[t] = m * o[0]
    return out, prev, s


def backward_steps(sub: RNNBase, d_out, d_final, mask, reverse, clip=None):
    """BPTT through the steps run by :func:`forward_steps`, recording the state adjoints.

    d_out (T, B, P): gradient of the outputs; d_final: tuple, gradient of the final state.
    ``clip``: if set, the per-sample norm of the state adjoint (h and c together for LSTM)
    is scaled down to at most ``clip`` at every step before it flows further back.
    Returns ``dx (T, B, I)``, ``adj`` (tuple of (T, B, .): ``dL/dh_t`` (and ``dL/dc_t``),
    the total derivative through every later step) and ``d_s0``.
    """
    T, B, _ = d_out.shape
    a = tuple(np.array(g, copy=True) for g in d_final)
    adj = tuple(np.zeros((T,) + g.shape, g.dtype) for g in a)
    dx = np.zeros((T, B, sub.input_size), d_out.dtype)
    for t in reversed(time_order(T, reverse)):
        m = None if mask is None else mask[t]                     # (B, 1)
        gh = a[0] + (d_out[t] if m is None else m * d_out[t])     # total dL/dh_t
        g = (gh,) + a[1:]
        if clip is not None:
            norm = np.sqrt(sum((gk * gk).sum(axis=1) for gk in g))[:, None]   # (B, 1)
            scale = np.minimum(1.0, clip / np.maximum(norm, np.finfo(gh.dtype).tiny))
            g = tuple(gk * scale.astype(gh.dtype) for gk in g)
        for k, gk in enumerate(g):
            adj[k][t] = gk
        step_g = g if m is None else tuple(m * gk for gk in g)
        zero = np.zeros((1, B, sub.output_size), d_out.dtype)
        dx_t, ds = sub.backward(zero, pack_state(tuple(gk[None] for gk in step_g)))
        ds = tuple(s[0] for s in state_parts(ds))
        dx[t] = dx_t[0]
        a = ds if m is None else tuple(s + (1 - m) * gk for s, gk in zip(ds, g))
    return dx, adj, a


@dataclass
class DirectionTrace:
    """What one (layer, direction) saw and did during the forward replay."""

    sub: RNNBase                   # the one-direction copy (holds the step caches)
    x: np.ndarray                  # (T, B, I_l) the input of this layer
    s0: tuple                      # initial state, tuple of (B, .)
    prev: tuple                    # state each step starts from: (T, B, P) (, (T, B, H))
    out: np.ndarray                # (T, B, P)
    reverse: bool


def replay_forward(layer: RNNBase, inp: Inputs, dtype) -> list[list[DirectionTrace]]:
    """Forward through every layer and direction; returns traces indexed ``[l][d]``."""
    D = layer.num_directions
    traces = []
    layer_in = inp.x
    for l in range(layer.num_layers):
        row = []
        for d in range(D):
            sub = direction_copy(layer, l, d, dtype)
            s0 = tuple(s[l * D + d] for s in inp.states0)
            out, prev, _ = forward_steps(sub, layer_in, s0, inp.mask, bool(d))
            row.append(DirectionTrace(sub, layer_in, s0, prev, out, bool(d)))
        traces.append(row)
        layer_in = merge(layer.merge_mode, [tr.out for tr in row])
    return traces


def replay_backward(layer: RNNBase, traces, d_out, mask, clip=None):
    """Backward from ``d_out`` (T, B, F) on the top layer's merged output, top layer first.

    Returns ``adj[l][d]``: the tuple of state adjoints of :func:`backward_steps`.
    """
    adj = [[None] * len(row) for row in traces]
    d = d_out
    for l in range(len(traces) - 1, -1, -1):
        row = traces[l]
        outs = [tr.out for tr in row]
        parts = merge_backward(layer.merge_mode, d, outs[0].shape[2], merge_saved(layer.merge_mode, outs), len(outs))
        dx = None
        for k, tr in enumerate(row):
            final = tuple(np.zeros_like(s) for s in tr.s0)
            dxk, adj[l][k], _ = backward_steps(tr.sub, np.ascontiguousarray(parts[k]), final, mask,
                                               tr.reverse, clip)
            dx = dxk if dx is None else dx + dxk
        d = dx
    return adj
