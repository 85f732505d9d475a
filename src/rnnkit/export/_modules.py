"""The feed-forward pieces and containers as ONNX, and the table that finds each module's writer.

Each writer maps one module's forward (eval mode) to nodes: ``write(g, module, x, lengths, where)``
returns the output value. ``where`` is the module's path in the model (``"model.rnn"``), used
in errors. The table is keyed by exact class, so a subclass that changes ``forward`` is never
exported as its parent::

    Linear        x @ W^T + b                       MatMul, Add
    Embedding     W[ids]                            Gather
    Dropout, Identity                               (nothing: eval mode)
    Tanh, ReLU, Sigmoid                             Tanh, Relu, Sigmoid
    Flatten       merge dims start..end             Shape, Slice, Concat, Reshape
    LastStep      x[lengths - 1, b] (reverse half at step 0)   GatherND / Gather
    FinalState    concat of the last layer's h_n rows          Gather, Concat
    TemporalPooling  mean / max over the real steps            Where, ReduceSum / ReduceMax
    Sequential, WindowMLP   the children in order, lengths to those that take them
    RNN, LSTM, GRU, PeepholeLSTM  see :mod:`rnnkit.export._recurrent` (output only, as in a Sequential)
"""

from __future__ import annotations

import numpy as np

from rnnkit import nn
from rnnkit.export._recurrent import emit_recurrent
from rnnkit.nn.container import _accepts_lengths

__all__ = ["WRITERS", "write", "writer", "UnsupportedModuleError"]

WRITERS: dict[type, object] = {}
_BIG = np.iinfo(np.int64).max


class UnsupportedModuleError(TypeError):
    """A module (named by its path in the model) that has no ONNX form."""


def writer(*classes):
    """Register the decorated function as the writer of ``classes``."""
    def deco(fn):
        for cls in classes:
            WRITERS[cls] = fn
        return fn
    return deco


def write(g, module, x: str, lengths=None, where: str = "model") -> str:
    """``module(x)`` (with ``lengths`` when it takes them) as ONNX nodes; returns the output."""
    fn = WRITERS.get(type(module))
    if fn is None:
        raise UnsupportedModuleError(
            f"cannot export {where} ({type(module).__module__}.{type(module).__qualname__}): rnnkit.export has no "
            f"ONNX form for it; exportable: {sorted(c.__name__ for c in WRITERS)}"
        )
    return fn(g, module, x, lengths, where)


@writer(nn.Linear)
def _linear(g, m, x, lengths, where):
    return g.affine(x, m.weight.data, None if m.bias is None else m.bias.data, hint="linear")


@writer(nn.Embedding)
def _embedding(g, m, x, lengths, where):
    return g.op("Gather", g.const(m.weight.data, "embedding"), x, axis=0)          # (..., E)


@writer(nn.Dropout, nn.Identity)
def _identity(g, m, x, lengths, where):
    return x


@writer(nn.Tanh, nn.ReLU, nn.Sigmoid)
def _activation(g, m, x, lengths, where):
    return g.op({nn.Tanh: "Tanh", nn.ReLU: "Relu", nn.Sigmoid: "Sigmoid"}[type(m)], x)


@writer(nn.Flatten)
def _flatten(g, m, x, lengths, where):
    s, e = m.start_dim, m.end_dim            # negative ends count from the back, as Slice does
    shape = g.op("Shape", x)
    parts = [] if s == 0 else [g.op("Slice", shape, g.ints([0]), g.ints([s]))]
    parts.append(g.ints([-1]))
    if e != -1:
        parts.append(g.op("Slice", shape, g.ints([e + 1]), g.ints([_BIG])))
    return g.op("Reshape", x, g.op("Concat", *parts, axis=0) if len(parts) > 1 else parts[0])


def _time_major(g, x, batch_first):
    return g.transpose(x, [1, 0, 2]) if batch_first else x


def _last_real_step(g, xt, lengths):
    """``xt (T, B, F)`` at each sequence's last real step -> ``(B, F)``."""
    if lengths is None:
        return g.gather(xt, -1, axis=0)
    idx = g.unsqueeze(g.op("Sub", lengths.int64, g.const(np.int64(1))), [1])              # (B, 1)
    return g.op("GatherND", g.transpose(xt, [1, 0, 2]), idx, batch_dims=1)                  # (B, F)


@writer(nn.LastStep)
def _last_step(g, m, x, lengths, where):
    xt = _time_major(g, x, m.batch_first)
    y = _last_real_step(g, xt, lengths)                                                     # (B, F)
    if not m.bidirectional_split:
        return y
    half = g.op("Div", g.op("Slice", g.op("Shape", xt), g.ints([2]), g.ints([3])), g.ints([2]))   # (1,)
    first = g.gather(xt, 0, axis=0)                                                          # (B, F)
    zero, big, axis = g.ints([0]), g.ints([_BIG]), g.ints([1])
    return g.op("Concat", g.op("Slice", y, zero, half, axis), g.op("Slice", first, half, big, axis), axis=1)


@writer(nn.FinalState)
def _final_state(g, m, x, lengths, where):
    D = m.num_directions
    rows = [g.gather(x, k - D, axis=0) for k in range(D)]                                   # each (B, H)
    return rows[0] if D == 1 else g.op("Concat", *rows, axis=-1)


def pool(g, mode: str, xt: str, lengths) -> str:
    """Mean or max of ``xt (T, B, F)`` over the real steps -> ``(B, F)``."""
    if mode == "mean":
        if lengths is None:
            return g.reduce("ReduceMean", xt, [0])
        mask = g.op("Cast", lengths.mask(xt), to=g.onnx.TensorProto.FLOAT)                   # (T, B, 1)
        total = g.reduce("ReduceSum", g.op("Mul", xt, mask), [0])                             # (B, F)
        n = g.unsqueeze(g.op("Cast", lengths.int64, to=g.onnx.TensorProto.FLOAT), [1])      # (B, 1)
        return g.op("Div", total, n)
    if lengths is not None:
        xt = g.op("Where", lengths.mask(xt), xt, g.const(np.float32(-np.inf)))
    return g.reduce("ReduceMax", xt, [0])


if hasattr(nn, "TemporalPooling"):                     # the many-to-one pooling layer, where rnnkit has it
    @writer(nn.TemporalPooling)
    def _temporal_pooling(g, m, x, lengths, where):
        xt = _time_major(g, x, m.batch_first)
        parts = [pool(g, mode, xt, lengths) for mode in m.mode]
        return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=1)


@writer(nn.RNN, nn.LSTM, nn.GRU, nn.PeepholeLSTM)
def _recurrent(g, m, x, lengths, where):
    return emit_recurrent(g, m, x, lengths)[0]


@writer(nn.Sequential, nn.WindowMLP)
def _sequential(g, m, x, lengths, where):
    for name, child in m._modules.items():
        takes = lengths is not None and _accepts_lengths(child)
        x = write(g, child, x, lengths if takes else None, f"{where}.{name}")
    return x
