"""rnnkit <-> PyTorch: :func:`to_torch` and :func:`from_torch` (torch imported inside them only).

rnnkit's parameters already carry PyTorch's names, shapes and gate orders, so weights copy by
name, bit for bit. Where ``torch.nn`` has the layer, the result is that layer::

    rnnkit                                   torch
    RNN (tanh, relu) / LSTM (proj_size) / GRU, concat merge    torch.nn.RNN / LSTM / GRU
    RNNCell (tanh, relu) / LSTMCell / GRUCell                  torch.nn.RNNCell / LSTMCell / GRUCell
    Linear, Embedding, Dropout, Tanh, ReLU, Sigmoid, Identity, Flatten     the torch.nn namesakes
    merge_mode sum/mul/ave, GRU reset_after=False, RNN sigmoid  rnnkit.interop._torch_modules.Recurrent / Cell
    Sequential, WindowMLP, LastStep, FinalState, TemporalPooling, SequenceModel, CharRNN, Seq2Seq
                                                               the wrappers of the same names there

``lengths``: the wrappers take rnnkit's ``lengths`` argument (plain torch layers inside them run
packed sequences); a bare ``torch.nn.LSTM`` takes a ``PackedSequence`` as usual.
"""

from __future__ import annotations

import numpy as np

from rnnkit import nn
from rnnkit.interop._gates import nonlinearity, reset_after
from rnnkit.nn.module import Module
from rnnkit.serialization import build_module, module_config

__all__ = ["to_torch", "from_torch"]


def _torch():
    try:
        import torch
    except ImportError as err:
        raise ImportError("rnnkit.interop's PyTorch functions need the 'torch' package") from err
    from rnnkit.interop import _torch_modules

    return torch, _torch_modules


def _network(obj):
    from rnnkit.estimators._base import BaseEstimator, check_is_fitted

    if isinstance(obj, BaseEstimator):
        check_is_fitted(obj, "to_torch")
        return obj.model_
    if not isinstance(obj, Module):
        raise TypeError(f"model must be an rnnkit module or a fitted rnnkit estimator, got {type(obj).__name__}")
    return obj


def _plain_layer(m) -> bool:
    concat = not m.bidirectional or m.merge_mode == "concat"
    return concat and (m.mode != "RNN" or nonlinearity(m) in ("tanh", "relu")) and (m.mode != "GRU" or reset_after(m))


def _plain_cell(m) -> bool:
    return (m.mode != "RNN" or nonlinearity(m) in ("tanh", "relu")) and (m.mode != "GRU" or reset_after(m))


def _convert(m, where):
    torch, tm = _torch()
    tnn = torch.nn
    dt = torch.float64 if np.dtype(getattr(m, "dtype", np.float32)) == np.float64 else torch.float32
    kind = type(m)
    kids = lambda: [(name, _convert(c, f"{where}.{name}")) for name, c in m._modules.items()]  # noqa: E731
    if kind in (nn.RNN, nn.LSTM, nn.GRU):
        common = dict(num_layers=m.num_layers, bias=m.bias, batch_first=m.batch_first, dropout=m.dropout,
                      bidirectional=m.bidirectional, dtype=dt)
        if _plain_layer(m):
            if kind is nn.RNN:
                return tnn.RNN(m.input_size, m.hidden_size, nonlinearity=nonlinearity(m), **common)
            if kind is nn.LSTM:
                return tnn.LSTM(m.input_size, m.hidden_size, proj_size=m.proj_size, **common)
            return tnn.GRU(m.input_size, m.hidden_size, **common)
        return tm.Recurrent(m.mode, m.input_size, m.hidden_size, proj_size=m.proj_size, merge_mode=m.merge_mode,
                            nonlinearity=nonlinearity(m), reset_after=reset_after(m), **common)
    if kind in (nn.RNNCell, nn.LSTMCell, nn.GRUCell):
        if _plain_cell(m):
            if kind is nn.RNNCell:
                return tnn.RNNCell(m.input_size, m.hidden_size, m.bias, nonlinearity(m), dtype=dt)
            return getattr(tnn, kind.__name__)(m.input_size, m.hidden_size, m.bias, dtype=dt)
        return tm.Cell(m.mode, m.input_size, m.hidden_size, m.bias, nonlinearity(m), reset_after(m), dtype=dt)
    if kind is nn.Linear:
        return tnn.Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dt)
    if kind is nn.Embedding:
        return tnn.Embedding(m.num_embeddings, m.embedding_dim, padding_idx=m.padding_idx, dtype=dt)
    if kind is nn.Dropout:
        return tnn.Dropout(m.p)
    if kind in (nn.Tanh, nn.ReLU, nn.Sigmoid, nn.Identity):
        return getattr(tnn, kind.__name__)()
    if kind is nn.Flatten:
        return tnn.Flatten(m.start_dim, m.end_dim)
    if kind is nn.LastStep:
        return tm.LastStep(m.batch_first, m.bidirectional_split)
    if kind is nn.FinalState:
        return tm.FinalState(m.num_directions)
    if kind.__name__ == "TemporalPooling" and kind is getattr(nn, "TemporalPooling", None):
        return tm.TemporalPooling(m.mode, m.batch_first)
    if kind is nn.Sequential:
        return tm.Sequential(kids())
    if kind is nn.WindowMLP:
        return tm.WindowMLP(kids(), rnnkit_config=module_config(m))
    from rnnkit.models import CharRNN, Seq2Seq, SequenceModel

    if kind in (SequenceModel, CharRNN):
        parts = getattr(m, "_parts", None)
        parts = tuple(parts) if parts is not None else (() if m.output == "sequence" else (m.output,))
        return tm.SequenceModel(kids(), parts, m.rnn.merge_mode, m.features, rnnkit_config=module_config(m))
    if kind is Seq2Seq:
        return tm.Seq2Seq(kids(), m.num_layers, m.bidirectional_encoder, m.sos_id, m.eos_id, m.pad_id,
                          rnnkit_config=module_config(m))
    raise TypeError(f"cannot convert {where} ({kind.__module__}.{kind.__qualname__}) to PyTorch: "
                    "rnnkit.interop knows rnnkit.nn's layers, cells and containers and rnnkit.models' networks")


def to_torch(model):
    """The ``torch.nn.Module`` computing what ``model`` (an rnnkit module or fitted estimator's network) computes.

    Weights are copied (bit for bit); the module is in the same train/eval mode. See the module
    docstring for what each rnnkit class becomes.

    Example::

        lstm = nn.LSTM(3, 8, num_layers=2, bidirectional=True, rng=0)
        t = to_torch(lstm)                                     # a torch.nn.LSTM
        out, (h_n, c_n) = t(torch.randn(5, 2, 3))
    """
    torch, _ = _torch()
    m = _network(model)
    t = _convert(m, "model")
    state = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in m.state_dict().items()}
    missing, unexpected = t.load_state_dict(state, strict=False)
    if missing or unexpected:            # a converter that names a parameter differently: a bug, say so
        raise RuntimeError(f"to_torch: parameter names differ (missing {missing}, unexpected {unexpected})")
    return t.train(m.training)


def _from(t, where):
    torch, tm = _torch()
    tnn = torch.nn
    dt = next((p.dtype for p in t.parameters()), torch.float32)
    dtype = np.float64 if dt == torch.float64 else np.float32
    config = getattr(t, "rnnkit_config", None)
    if config is not None:
        return build_module(config)
    kids = lambda: [_from(c, f"{where}.{n}") for n, c in t._modules.items()]  # noqa: E731
    if isinstance(t, (tnn.RNN, tnn.LSTM, tnn.GRU)):
        kw = dict(num_layers=t.num_layers, bias=t.bias, batch_first=t.batch_first, dropout=t.dropout,
                  bidirectional=t.bidirectional, dtype=dtype)
        if type(t) is tnn.LSTM:
            return nn.LSTM(t.input_size, t.hidden_size, proj_size=t.proj_size, **kw)
        if type(t) is tnn.GRU:
            return nn.GRU(t.input_size, t.hidden_size, **kw)
        if type(t) is tnn.RNN:
            return nn.RNN(t.input_size, t.hidden_size, nonlinearity=t.nonlinearity, **kw)
    if isinstance(t, tm.Recurrent):
        kw = dict(num_layers=t.num_layers, bias=t.bias, batch_first=t.batch_first, dropout=t.dropout,
                  bidirectional=t.bidirectional, dtype=dtype, merge_mode=t.merge_mode)
        if t.mode == "RNN":
            return nn.RNN(t.input_size, t.hidden_size, nonlinearity=t.nonlinearity, **kw)
        if t.mode == "GRU":
            return nn.GRU(t.input_size, t.hidden_size, reset_after=t.reset_after, **kw)
        return nn.LSTM(t.input_size, t.hidden_size, proj_size=t.proj_size, **kw)
    if type(t) is tnn.RNNCell:
        return nn.RNNCell(t.input_size, t.hidden_size, t.bias, t.nonlinearity, dtype=dtype)
    if type(t) in (tnn.LSTMCell, tnn.GRUCell):
        return getattr(nn, type(t).__name__)(t.input_size, t.hidden_size, t.bias, dtype=dtype)
    if isinstance(t, tm.Cell):
        kw = {"RNN": {"nonlinearity": t.nonlinearity}, "GRU": {"reset_after": t.reset_after}}.get(t.mode, {})
        return getattr(nn, t.mode + "Cell")(t.input_size, t.hidden_size, t.bias, dtype=dtype, **kw)
    if type(t) is tnn.Linear:
        return nn.Linear(t.in_features, t.out_features, bias=t.bias is not None, dtype=dtype)
    if type(t) is tnn.Embedding:
        return nn.Embedding(t.num_embeddings, t.embedding_dim, padding_idx=t.padding_idx, dtype=dtype)
    if type(t) is tnn.Dropout:
        return nn.Dropout(t.p)
    if type(t) in (tnn.Tanh, tnn.ReLU, tnn.Sigmoid, tnn.Identity):
        return getattr(nn, type(t).__name__)()
    if type(t) is tnn.Flatten:
        return nn.Flatten(t.start_dim, t.end_dim)
    if type(t) is tm.LastStep:
        return nn.LastStep(t.batch_first, t.bidirectional_split)
    if type(t) is tm.FinalState:
        return nn.FinalState(t.num_directions)
    if type(t) is tm.TemporalPooling and hasattr(nn, "TemporalPooling"):
        return nn.TemporalPooling(t.mode, t.batch_first)
    if type(t) in (tm.Sequential, tnn.Sequential):
        return nn.Sequential(*kids())
    raise TypeError(f"cannot convert {where} ({type(t).__module__}.{type(t).__qualname__}) from PyTorch: "
                    "rnnkit.interop knows torch.nn's RNN/LSTM/GRU, cells, Linear, Embedding, Dropout, activations, "
                    "Flatten, Sequential and the modules to_torch makes")


def from_torch(module):
    """The rnnkit module computing what the ``torch.nn.Module`` computes (weights copied exactly).

    Accepts ``torch.nn.RNN``/``LSTM``/``GRU`` (with ``proj_size``), the cells, ``Linear``,
    ``Embedding``, ``Dropout``, ``Tanh``/``ReLU``/``Sigmoid``/``Identity``, ``Flatten``,
    ``torch.nn.Sequential`` of those, and everything :func:`to_torch` returns.

    Example::

        layer = from_torch(torch.nn.GRU(3, 8, batch_first=True))    # an rnnkit nn.GRU
    """
    torch, _ = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    m = _from(module, "module")
    state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
    m.load_state_dict(state)
    return m.train(module.training)
