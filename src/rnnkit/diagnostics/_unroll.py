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
from rnnkit.nn.module import _as_float_dtype
from rnnkit.nn.rnn import GRU, LSTM, RNN
from rnnkit.nn.rnn_base import RNNBase

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


def check_layer(layer) -> RNNBase:
    if not isinstance(layer, RNNBase):
        raise TypeError(
            f"layer must be an rnnkit.nn.RNN, LSTM or GRU (an RNNBase), got {type(layer).__name__}"
        )
    return layer


def suffix(l: int, d: int) -> str:
    """PyTorch's parameter suffix of layer ``l``, direction ``d``: ``_l0``, ``_l0_reverse``."""
    return f"_l{l}" + ("_reverse" if d else "")


def time_steps(T: int, reverse: bool) -> range:
    """Time indices in processing order."""
    return range(T - 1, -1, -1) if reverse else range(T)


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
    """A one-layer, one-direction layer holding the weights of (layer ``l``, direction ``d``)."""
    sfx = suffix(l, d)
    w_ih = getattr(layer, "weight_ih" + sfx).data               # (G*H, I_l)
    opts = {"bias": layer.bias, "dtype": dtype, "rng": 0}
    I_l, H = w_ih.shape[1], layer.hidden_size
    if layer.mode == "RNN":
        sub = RNN(I_l, H, nonlinearity=layer.nonlinearity, **opts)
    elif layer.mode == "LSTM":
        sub = LSTM(I_l, H, proj_size=layer.proj_size, **opts)
    else:
        sub = GRU(I_l, H, reset_after=layer.reset_after, **opts)
    params = layer._parameters
    sub.load_state_dict({n + "_l0": params[n + sfx].data for n in PARAM_NAMES if n + sfx in params})
    sub.train()
    return sub


def forward_steps(sub: RNNBase, x, s0, mask, reverse):
    """Run ``sub`` step by step; each step's cache stays on ``sub`` for :func:`backward_steps`.

    x (T, B, I); s0 tuple of (B, .); mask (T, B, 1) or None.
    Returns ``out (T, B, P)`` (zero at padded steps), ``prev`` (tuple of (T, B, .) arrays:
    the state each step starts from) and the final state.
    """
    T, B, _ = x.shape
    lstm = sub.mode == "LSTM"
    out = np.zeros((T, B, sub.output_size), x.dtype)
    prev = tuple(np.empty((T,) + s.shape, x.dtype) for s in s0)
    s = s0
    with enable_grad():
        for t in time_steps(T, reverse):
            for k, sk in enumerate(s):
                prev[k][t] = sk
            hx = (s[0][None], s[1][None]) if lstm else s[0][None]
            o, s_n = sub(x[t:t + 1], hx)
            s_new = tuple(a[0] for a in s_n) if lstm else (s_n[0],)
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
    lstm = sub.mode == "LSTM"
    a = tuple(np.array(g, copy=True) for g in d_final)
    adj = tuple(np.zeros((T,) + g.shape, g.dtype) for g in a)
    dx = np.zeros((T, B, sub.input_size), d_out.dtype)
    for t in reversed(time_steps(T, reverse)):
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
        d_state = (step_g[0][None], step_g[1][None]) if lstm else step_g[0][None]
        zero = np.zeros((1, B, sub.output_size), d_out.dtype)
        dx_t, ds = sub.backward(zero, d_state)
        ds = tuple(s[0] for s in ds) if lstm else (ds[0],)
        dx[t] = dx_t[0]
        a = ds if m is None else tuple(s + (1 - m) * gk for s, gk in zip(ds, g))
    return dx, adj, a


def merge(merge_mode: str, outs):
    """Merge the two directions' outputs as the layer does (concat, sum, mul, ave)."""
    if len(outs) == 1:
        return outs[0]
    a, b = outs
    if merge_mode == "concat":
        return np.concatenate(outs, axis=2)
    if merge_mode == "sum":
        return a + b
    if merge_mode == "mul":
        return a * b
    return 0.5 * (a + b)


def split_merge_grad(merge_mode: str, d, outs):
    """Gradient of the merged output -> gradient of each direction's output."""
    if len(outs) == 1:
        return [d]
    if merge_mode == "concat":
        P = outs[0].shape[2]
        return [d[:, :, :P], d[:, :, P:]]
    if merge_mode == "sum":
        return [d, d]
    if merge_mode == "mul":
        return [d * outs[1], d * outs[0]]
    return [0.5 * d, 0.5 * d]


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
        parts = split_merge_grad(layer.merge_mode, d, [tr.out for tr in row])
        dx = None
        for k, tr in enumerate(row):
            final = tuple(np.zeros_like(s) for s in tr.s0)
            dxk, adj[l][k], _ = backward_steps(tr.sub, np.ascontiguousarray(parts[k]), final, mask,
                                               tr.reverse, clip)
            dx = dxk if dx is None else dx + dxk
        d = dx
    return adj
