"""Recurrent layers and cells as ONNX: one ``RNN``/``GRU``/``LSTM`` node per layer, both directions in it.

For layer ``l`` of ``L`` with ``D`` directions (time-major inside; batch-first input and output
are transposed at the edges, as onnxruntime rejects ``layout=1``)::

    x (T, B, I_l) -> GRU(W (D, 3H, I_l), R (D, 3H, H), B (D, 6H), sequence_lens, initial_h)
      -> Y (T, D, B, H), Y_h (D, B, H)
      -> merge: concat  Transpose (T, B, D, H) + Reshape (T, B, D*H)
                sum / mul / ave   Y_fwd (+ | *) Y_bwd  (ave: (Y_fwd + Y_bwd) * 0.5)

Weights are rnnkit's, gate blocks reordered (r, z, n -> z, r, n; i, f, g, o -> i, o, f, c), and
``B = [b_ih ; b_hh]`` per direction. The peephole LSTM is an ONNX ``LSTM`` with the peephole
input ``P = [w_ci ; w_co ; w_cf]`` (D, 3H), ONNX's order i, o, f. GRU's ``linear_before_reset``
is 1 for rnnkit's default (PyTorch's) form and 0 for ``reset_after=False``; the Elman
activation is ``Tanh``, ``Relu`` or ``Sigmoid``. onnxruntime zeroes the padded steps of ``Y``
and returns each sequence's last real step in ``Y_h``, running the reverse direction over each
sequence's own real steps: exactly rnnkit's ``lengths`` (checked in the tests).

ONNX's LSTM has no projection, so a ``proj_size`` layer is a ``Scan`` over time per direction::

    xp = x @ W_ih^T + b_ih + b_hh                                          (T, B, 4H), one MatMul
    Scan body (h (B, P), c (B, H), xp_t (B, 4H), m_t (B, 1)):
        i, f, g, o = split(xp_t + h @ W_hh^T);  c' = s(f) c + s(i) tanh(g);  h' = (s(o) tanh(c')) @ W_hr^T
        h, c <- where(m_t, h', h), where(m_t, c', c);   y_t = where(m_t, h', 0)

with ``m_t = t < lengths`` and, for the reverse direction with lengths, ``ReverseSequence`` on
``xp`` and on the outputs (each sequence reversed over its own real steps).
"""

from __future__ import annotations

import numpy as np

from rnnkit.interop._gates import nonlinearity, reorder, reset_after

__all__ = ["Lengths", "emit_recurrent", "emit_cell", "merge", "zeros_like_state", "LSTM_MODES"]

LSTM_MODES = ("LSTM", "PeepholeLSTM")      # the kinds written as an ONNX LSTM node (state h, c)
PEEPHOLES_ONNX = ("weight_ci", "weight_co", "weight_cf")   # ONNX LSTM's P: [p_i, p_o, p_f]

_ACTIVATIONS = {"tanh": "Tanh", "relu": "Relu", "sigmoid": "Sigmoid"}


class Lengths:
    """The ``lengths`` graph value (int64 ``(B,)``) and what is derived from it, made once."""

    def __init__(self, g, name: str):
        self.g, self.int64 = g, name
        self._int32 = self._mask = None

    def int32(self) -> str:
        if self._int32 is None:
            self._int32 = self.g.op("Cast", self.int64, to=self.g.onnx.TensorProto.INT32, hint="lengths32")
        return self._int32

    def mask(self, xt: str) -> str:
        """``t < lengths[b]`` as bool ``(T, B, 1)`` for the time-major ``xt``."""
        if self._mask is None:
            g = self.g
            T = g.gather(g.op("Shape", xt), 0, axis=0)                                 # ()
            steps = g.op("Range", g.const(np.int64(0)), T, g.const(np.int64(1)))      # (T,)
            real = g.op("Less", g.unsqueeze(steps, [1]), self.int64)                   # (T, B)
            self._mask = g.unsqueeze(real, [2])                                      # (T, B, 1)
        return self._mask


def zeros_like_state(g, xt: str, size: int) -> str:
    """Zeros ``(B, size)`` with B read from the time-major ``xt (T, B, .)``."""
    B = g.op("Slice", g.op("Shape", xt), g.ints([1]), g.ints([2]))
    return g.op("ConstantOfShape", g.op("Concat", B, g.ints([size]), axis=0),
                value=g.onnx.numpy_helper.from_array(np.zeros(1, np.float32)))


def _node(g, mode, params, H, xt, lengths, h0, c0, nonlinearity="tanh", reset_after=True, hint="rnn"):
    """One ONNX RNN/GRU/LSTM node over ``params`` (one DirectionParams per direction); the
    peephole LSTM is an ONNX LSTM with its peephole input ``P`` (D, 3H), order i, o, f."""
    D = len(params)
    peephole = mode == "PeepholeLSTM"
    mode = "LSTM" if peephole else mode
    W = np.stack([reorder(p.w_ih.data, mode, "onnx") for p in params])          # (D, G*H, I)
    R = np.stack([reorder(p.w_hh.data, mode, "onnx") for p in params])          # (D, G*H, H)
    B = None
    if params[0].b_ih is not None:
        B = g.const(np.stack([np.concatenate([reorder(p.b_ih.data, mode, "onnx"), reorder(p.b_hh.data, mode, "onnx")])
                              for p in params]), hint + "_B")                    # (D, 2*G*H)
    attrs = {"hidden_size": H, "direction": "bidirectional" if D == 2 else "forward"}
    if mode == "RNN":
        attrs["activations"] = [_ACTIVATIONS[nonlinearity]] * D
    if mode == "GRU":
        attrs["linear_before_reset"] = int(reset_after)
    seq = lengths.int32() if lengths is not None else None
    ins = [xt, g.const(W, hint + "_W"), g.const(R, hint + "_R"), B, seq, h0]
    if mode == "LSTM":
        ins.append(c0)
    if peephole:
        ins.append(g.const(np.stack([np.concatenate([p.extra[n].data for n in PEEPHOLES_ONNX]) for p in params]),
                           hint + "_P"))                                         # (D, 3H)
    return g.op(mode, *ins, n_out=3 if mode == "LSTM" else 2, hint=hint, **attrs)


def merge(g, ys, merge_mode, axis: int = 2):
    """Per-direction values (outputs ``(T, B, P)``, or states ``(B, P)`` with ``axis=1``) merged
    as rnnkit's ``RNNBase._merge``."""
    if len(ys) == 1:
        return ys[0]
    a, b = ys
    if merge_mode == "concat":
        return g.op("Concat", a, b, axis=axis)
    if merge_mode == "sum":
        return g.op("Add", a, b)
    if merge_mode == "mul":
        return g.op("Mul", a, b)
    return g.op("Mul", g.op("Add", a, b), g.const(np.float32(0.5)))


def _native_layer(g, layer, l, xt, lengths, s0):
    D, H = layer.num_directions, layer.hidden_size
    params = [layer._direction_params(l, d) for d in range(D)]
    outs = _node(g, layer.mode, params, H, xt, lengths, s0[0], s0[1] if len(s0) > 1 else None,
                 nonlinearity(layer), reset_after(layer), hint=f"{layer.mode.lower()}_l{l}")
    Y = outs[0]                                                                   # (T, D, B, H)
    if D == 1:
        out = g.squeeze(Y, [1])
    elif layer.merge_mode == "concat":
        out = g.reshape(g.transpose(Y, [0, 2, 1, 3]), [0, 0, D * H])              # (T, B, 2H)
    else:
        out = merge(g, [g.squeeze(y, [1]) for y in g.split(Y, [1, 1], axis=1)], layer.merge_mode)
    return out, outs[1], (outs[2] if layer.mode in LSTM_MODES else None)


def _proj_direction(g, p, H, P, xt, lengths, reverse, h0, c0, hint):
    """One direction of a projected LSTM as a Scan; returns ``y (T, B, P), h_n (B, P), c_n (B, H)``."""
    xp = g.op("MatMul", xt, g.const(np.ascontiguousarray(p.w_ih.data.T), hint + "_Wih"))       # (T, B, 4H)
    if p.b_ih is not None:
        xp = g.op("Add", xp, g.const(p.b_ih.data + p.b_hh.data, hint + "_b"))
    if reverse and lengths is not None:
        xp = g.op("ReverseSequence", xp, lengths.int64, batch_axis=1, time_axis=0)
    f32, boolean = np.float32, np.bool_
    body = g.body(hint + "_step")
    h = body.input("h_prev", f32, ["B", P], fresh=True)
    c = body.input("c_prev", f32, ["B", H], fresh=True)
    x_t = body.input("xp_t", f32, ["B", 4 * H], fresh=True)
    gates = body.op("Add", x_t, body.op("MatMul", h, g.const(np.ascontiguousarray(p.w_hh.data.T), hint + "_Whh")))
    i, f, gg, o = body.split(gates, [H] * 4, axis=1)
    c_new = body.op("Add", body.op("Mul", body.op("Sigmoid", f), c),
                    body.op("Mul", body.op("Sigmoid", i), body.op("Tanh", gg)))                # (B, H)
    h_new = body.op("MatMul", body.op("Mul", body.op("Sigmoid", o), body.op("Tanh", c_new)),
                    g.const(np.ascontiguousarray(p.w_hr.data.T), hint + "_Whr"))               # (B, P)
    scan_in = [xp]
    if lengths is not None:
        m = body.input("m_t", boolean, ["B", 1], fresh=True)
        y = body.op("Where", m, h_new, g.const(np.float32(0.0)))
        h_new, c_new = body.op("Where", m, h_new, h), body.op("Where", m, c_new, c)
        scan_in.append(lengths.mask(xt))
    else:
        y = body.op("Identity", h_new)
    body.output(h_new, "h", f32, ["B", P], fresh=True)
    body.output(c_new, "c", f32, ["B", H], fresh=True)
    body.output(y, "y", f32, ["B", P], fresh=True)
    attrs = {"body": body.graph_proto(), "num_scan_inputs": len(scan_in)}
    if reverse and lengths is None:
        attrs.update(scan_input_directions=[1], scan_output_directions=[1])
    h_n, c_n, ys = g.op("Scan", h0, c0, *scan_in, n_out=3, hint=hint, **attrs)
    if reverse and lengths is not None:
        ys = g.op("ReverseSequence", ys, lengths.int64, batch_axis=1, time_axis=0)
    return ys, h_n, c_n


def _proj_layer(g, layer, l, xt, lengths, s0):
    D, H, P = layer.num_directions, layer.hidden_size, layer.proj_size
    ys, hs, cs = [], [], []
    for d in range(D):
        if s0[0] is None:
            h0, c0 = zeros_like_state(g, xt, P), zeros_like_state(g, xt, H)
        else:
            h0, c0 = (g.gather(s, d, axis=0) for s in s0)
        y, h_n, c_n = _proj_direction(g, layer._direction_params(l, d), H, P, xt, lengths, bool(d), h0, c0,
                                      f"lstm_l{l}" + ("_reverse" if d else ""))
        ys.append(y)
        hs.append(g.unsqueeze(h_n, [0]))
        cs.append(g.unsqueeze(c_n, [0]))
    cat = (lambda v: v[0]) if D == 1 else (lambda v: g.op("Concat", *v, axis=0))
    return merge(g, ys, layer.merge_mode), cat(hs), cat(cs)


def emit_recurrent(g, layer, x: str, lengths: Lengths | None = None, state0=None):
    """``layer`` (RNN/LSTM/GRU) applied to ``x`` in its own layout, in eval mode.

    ``state0`` is ``None`` (zeros) or a tuple of graph values ``(h0,)`` / ``(h0, c0)``
    ``(L*D, B, .)``. Returns ``(out, h_n, c_n)``; ``c_n`` is None but for the LSTM.
    """
    xt = g.transpose(x, [1, 0, 2]) if layer.batch_first else x                # (T, B, I)
    L, D = layer.num_layers, layer.num_directions
    hs, cs = [], []
    inp = xt
    for l in range(L):
        if state0 is None:
            s0 = (None, None)
        else:
            s0 = tuple(g.slice(s, l * D, (l + 1) * D, axis=0) for s in state0)   # (D, B, .)
        make = _proj_layer if layer.proj_size else _native_layer
        inp, h_n, c_n = make(g, layer, l, inp, lengths, s0)                     # dropout: identity (eval)
        hs.append(h_n)
        cs.append(c_n)
    cat = (lambda v: v[0]) if L == 1 else (lambda v: g.op("Concat", *v, axis=0))
    out = g.transpose(inp, [1, 0, 2]) if layer.batch_first else inp
    return out, cat(hs), (cat(cs) if layer.mode in LSTM_MODES else None)


def emit_cell(g, cell, x: str, hx: str | None, cx: str | None = None):
    """One step of an RNNCell / GRUCell / LSTMCell: ``x (B, I)`` -> ``h' (B, H)`` (and ``c'``).

    Written as the layer's ONNX node over one time step (``T = 1``).
    """
    H = cell.hidden_size
    xt = g.unsqueeze(x, [0])                                                  # (1, B, I)
    if hx is None:
        hx = zeros_like_state(g, xt, H)
    if cell.mode in LSTM_MODES and cx is None:
        cx = zeros_like_state(g, xt, H)
    h0 = g.unsqueeze(hx, [0])
    c0 = g.unsqueeze(cx, [0]) if cell.mode in LSTM_MODES else None
    outs = _node(g, cell.mode, [cell._params()], H, xt, None, h0, c0, nonlinearity(cell), reset_after(cell),
                 hint=cell.mode.lower() + "_cell")
    h = g.squeeze(outs[1], [0])
    return (h, g.squeeze(outs[2], [0])) if cell.mode in LSTM_MODES else (h, None)

