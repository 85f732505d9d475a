"""rnnkit <-> Keras 3: :func:`to_keras` and :func:`from_keras` (keras imported inside them only).

Weights, per direction (``G`` gate blocks of ``H`` rows; Keras kernels are transposed)::

    rnnkit (PyTorch)                     Keras 3
    weight_ih (G*H, I), gates r,z,n      kernel (I, G*H), gates z,r,h      (LSTM: i,f,g,o = i,f,c,o)
    weight_hh (G*H, H)                   recurrent_kernel (H, G*H)
    GRU (reset_after=True)  b_ih, b_hh   bias (2, 3H) = [input bias; recurrent bias]   (same equations)
    GRU (reset_after=False) b_ih, b_hh   bias (3H,) = b_ih + b_hh      (Cho's form: b_hn sits outside r)
    LSTM, RNN               b_ih, b_hh   bias (G*H,) = b_ih + b_hh
    Linear weight (O, I), bias           Dense kernel (I, O), bias
    Embedding weight (V, E)              Embedding embeddings (V, E)

A stacked or bidirectional rnnkit layer becomes ``keras.Sequential`` of one ``Bidirectional``
(or plain) layer per rnnkit layer, merged by ``merge_mode`` after each, with ``Dropout`` between
(rnnkit's inter-layer dropout); Keras layers always take batch-first input ``(B, T, I)``.
Coming back, consecutive Keras recurrent layers of one kind and size join into one rnnkit
layer (``num_layers``); a single Keras bias goes to ``bias_ih`` with ``bias_hh`` zero, so
rnnkit -> Keras -> rnnkit keeps every weight and ``bias_ih + bias_hh`` bit for bit (the split
of the bias between the two is not kept: Keras has one). ``return_sequences=False`` is
:class:`~rnnkit.nn.LastStep` (``bidirectional_split`` for ``Bidirectional``, concat merge).
"""

from __future__ import annotations

import warnings

import numpy as np

from rnnkit import nn
from rnnkit.interop._gates import nonlinearity, reorder, reset_after
from rnnkit.nn.module import Module

__all__ = ["to_keras", "from_keras"]

_KERAS_RNN = {"RNN": "SimpleRNN", "LSTM": "LSTM", "GRU": "GRU"}
_ACTIVATIONS = {nn.Tanh: "tanh", nn.ReLU: "relu", nn.Sigmoid: "sigmoid"}


def _keras():
    try:
        import keras
    except ImportError as err:
        raise ImportError("rnnkit.interop's Keras functions need Keras 3: pip install 'rnnkit[keras]'") from err
    if not keras.__version__.startswith("3."):
        raise ImportError(f"rnnkit.interop needs Keras 3, found keras {keras.__version__}")
    return keras


def _dtype_name(m) -> str:
    return np.dtype(getattr(m, "dtype", np.float32)).name


# -- rnnkit -> Keras ---------------------------------------------------------------------------
def _keras_direction_weights(mode, p, reset_after):
    """One direction's rnnkit parameters -> ``[kernel, recurrent_kernel, (bias)]`` in Keras' layout."""
    w = [reorder(p.w_ih.data, mode, "keras").T.copy(), reorder(p.w_hh.data, mode, "keras").T.copy()]
    if p.b_ih is not None:
        b_ih, b_hh = reorder(p.b_ih.data, mode, "keras"), reorder(p.b_hh.data, mode, "keras")
        w.append(np.stack([b_ih, b_hh]) if mode == "GRU" and reset_after else b_ih + b_hh)
    return w


def _recurrent_layers(keras, m, last_returns_sequences=True):
    """An rnnkit RNN/LSTM/GRU -> the list of Keras layers (one per rnnkit layer, Dropout between)."""
    if m.proj_size:
        raise TypeError("cannot convert an LSTM with proj_size to Keras: Keras' LSTM has no projection")
    layers = []
    for layer in range(m.num_layers):
        seqs = last_returns_sequences or layer < m.num_layers - 1
        kw = dict(return_sequences=seqs, use_bias=m.bias, dtype=_dtype_name(m))
        if m.mode == "RNN":
            kw["activation"] = nonlinearity(m)
        if m.mode == "GRU":
            kw["reset_after"] = reset_after(m)
        cls = getattr(keras.layers, _KERAS_RNN[m.mode])
        width = m._layer_input_size(layer)
        weights = []
        for d in range(m.num_directions):
            weights += _keras_direction_weights(m.mode, m._direction_params(layer, d), reset_after(m))
        k = cls(m.hidden_size, **kw)
        if m.bidirectional:
            k = keras.layers.Bidirectional(k, merge_mode=m.merge_mode, dtype=_dtype_name(m))
        k.build((None, None, width))
        k.set_weights(weights)
        if layer and m.dropout > 0:
            layers.append(keras.layers.Dropout(m.dropout))
        layers.append(k)
    return layers


def _layers(keras, m, where):
    """An rnnkit module -> a list of Keras layers applied in order."""
    kind = type(m)
    if kind in (nn.RNN, nn.LSTM, nn.GRU):
        return _recurrent_layers(keras, m)
    if kind is nn.Linear:
        k = keras.layers.Dense(m.out_features, use_bias=m.bias is not None, dtype=_dtype_name(m))
        k.build((None, m.in_features))
        k.set_weights([m.weight.data.T.copy()] + ([m.bias.data.copy()] if m.bias is not None else []))
        return [k]
    if kind is nn.Embedding:
        k = keras.layers.Embedding(m.num_embeddings, m.embedding_dim, dtype=_dtype_name(m))
        k.build((None, None))
        k.set_weights([m.weight.data.copy()])
        return [k]
    if kind is nn.Dropout:
        return [keras.layers.Dropout(m.p)]
    if kind in _ACTIVATIONS:
        return [keras.layers.Activation(_ACTIVATIONS[kind])]
    if kind is nn.Identity:
        return [keras.layers.Identity()]
    if kind is nn.Flatten and m.start_dim == 1 and m.end_dim == -1:
        return [keras.layers.Flatten()]
    if kind is nn.Sequential:
        return _sequential_layers(keras, m, where)
    raise TypeError(f"cannot convert {where} ({kind.__module__}.{kind.__qualname__}) to Keras: rnnkit.interop "
                    "converts RNN/LSTM/GRU, Linear, Embedding, Dropout, Tanh/ReLU/Sigmoid/Identity, Flatten() "
                    "and Sequentials of them")


def _sequential_layers(keras, m, where):
    out, prev_recurrent = [], None
    layouts = {c.batch_first for c in m.modules() if isinstance(c, (nn.RNN, nn.LSTM, nn.GRU, nn.LastStep))}
    if len(layouts) > 1:
        raise TypeError(f"cannot convert {where} to Keras: its recurrent layers and LastSteps mix batch-first and "
                        "time-major layouts (Keras is batch-first)")
    for name, c in m._modules.items():
        if type(c) is nn.LastStep:
            if prev_recurrent is None or out[-1] is not prev_recurrent[1][-1]:
                raise TypeError(f"cannot convert {where}.{name} to Keras: a LastStep converts only right after a "
                                "recurrent layer (as return_sequences=False)")
            rnn = prev_recurrent[0]
            if rnn.bidirectional and not (c.bidirectional_split and rnn.merge_mode == "concat"):
                raise TypeError(f"cannot convert {where}.{name} to Keras: after a bidirectional layer only "
                                "LastStep(bidirectional_split=True) with merge_mode='concat' is Keras' "
                                "return_sequences=False")
            layers = _recurrent_layers(keras, rnn, last_returns_sequences=False)
            del out[-len(prev_recurrent[1]):]
            out += layers
            prev_recurrent = None
            continue
        layers = _layers(keras, c, f"{where}.{name}")
        prev_recurrent = (c, layers) if type(c) in (nn.RNN, nn.LSTM, nn.GRU) else None
        out += layers
    return out


def to_keras(model):
    """A Keras 3 layer (or ``keras.Sequential``) computing what the rnnkit ``model`` computes.

    ``model``: ``RNN``/``LSTM``/``GRU`` (any layers, directions, merge mode; no proj_size),
    ``Linear``, ``Embedding``, ``Dropout``, activations, ``Flatten()``, or a ``Sequential`` of
    those (a ``LastStep`` right after a recurrent layer becomes ``return_sequences=False``).
    A recurrent layer's Keras counterpart returns the output sequence (``return_sequences``),
    batch-first. Weights are converted as the module docstring shows.

    Example::

        k = to_keras(nn.GRU(3, 8, bidirectional=True, merge_mode="sum", batch_first=True, rng=0))
        y = k(np.zeros((2, 5, 3), np.float32))          # keras.layers.Bidirectional, (2, 5, 8)
    """
    keras = _keras()
    if not isinstance(model, Module):
        raise TypeError(f"model must be an rnnkit module, got {type(model).__name__}")
    layers = _layers(keras, model, "model")
    return layers[0] if len(layers) == 1 and type(model) is not nn.Sequential else keras.Sequential(layers)


# -- Keras -> rnnkit ---------------------------------------------------------------------------
def _rnn_options(keras, layer, where):
    """``(mode, kwargs)`` of an rnnkit layer matching a Keras SimpleRNN/LSTM/GRU (one direction)."""
    kl = keras.layers
    cfg = layer.get_config()
    mode = {kl.SimpleRNN: "RNN", kl.LSTM: "LSTM", kl.GRU: "GRU"}.get(type(layer))
    if mode is None:
        raise TypeError(f"cannot convert {where} ({type(layer).__name__}) from Keras")
    if cfg.get("stateful"):
        raise TypeError(f"cannot convert {where}: stateful Keras layers carry state across calls; rnnkit does not")
    act = cfg.get("activation")
    kw = {"bias": bool(cfg.get("use_bias", True))}
    if mode == "RNN":
        if act not in ("tanh", "relu", "sigmoid"):
            raise TypeError(f"cannot convert {where}: SimpleRNN activation {act!r} (rnnkit has tanh, relu, sigmoid)")
        kw["nonlinearity"] = act
    else:
        if act != "tanh" or cfg.get("recurrent_activation") != "sigmoid":
            raise TypeError(f"cannot convert {where}: rnnkit's {mode} uses activation='tanh' and "
                            f"recurrent_activation='sigmoid', got {act!r} and {cfg.get('recurrent_activation')!r}")
    if mode == "GRU":
        kw["reset_after"] = bool(cfg.get("reset_after", True))
    if cfg.get("dropout") or cfg.get("recurrent_dropout"):
        warnings.warn(f"{where}: Keras' dropout / recurrent_dropout act in training only and are not converted",
                      stacklevel=3)
    return mode, kw, int(cfg["units"]), bool(cfg.get("return_sequences", False))


def _recurrent_spec(keras, layer, where):
    """A Keras recurrent layer (maybe Bidirectional) -> a dict describing one rnnkit layer of a stack."""
    if isinstance(layer, keras.layers.Bidirectional):
        fwd, bwd = layer.forward_layer, layer.backward_layer
        spec = _rnn_options(keras, fwd, where + ".forward_layer")
        if _rnn_options(keras, bwd, where + ".backward_layer") != spec or not bwd.go_backwards or fwd.go_backwards:
            raise TypeError(f"cannot convert {where}: the backward layer must be the forward layer's twin "
                            "with go_backwards=True")
        merge = layer.merge_mode
        if merge not in ("concat", "sum", "mul", "ave"):
            raise TypeError(f"cannot convert {where}: Bidirectional merge_mode {merge!r} "
                            "(rnnkit merges by concat, sum, mul or ave)")
        cells = [fwd, bwd]
    else:
        if layer.get_config().get("go_backwards"):
            raise TypeError(f"cannot convert {where}: a lone go_backwards layer (use Bidirectional)")
        spec, merge, cells = _rnn_options(keras, layer, where), "concat", [layer]
    mode, kw, units, seqs = spec
    return {"mode": mode, "kw": kw, "units": units, "seqs": seqs, "bidirectional": len(cells) == 2,
            "merge_mode": merge, "weights": [c.get_weights() for c in cells], "layer": layer}


def _rnnkit_direction(mode, weights, reset_after, use_bias):
    """``[kernel, recurrent_kernel, (bias)]`` -> rnnkit's ``(w_ih, w_hh, b_ih, b_hh)``."""
    w_ih = reorder(weights[0].T, mode, "keras", inverse=True)
    w_hh = reorder(weights[1].T, mode, "keras", inverse=True)
    if not use_bias:
        return w_ih, w_hh, None, None
    b = np.asarray(weights[2])
    if mode == "GRU" and reset_after:
        return w_ih, w_hh, reorder(b[0], mode, "keras", inverse=True), reorder(b[1], mode, "keras", inverse=True)
    b_ih = reorder(b, mode, "keras", inverse=True)
    return w_ih, w_hh, b_ih, np.zeros_like(b_ih)


def _build_stack(specs, dropout, input_size, dtype):
    s0 = specs[0]
    cls = getattr(nn, s0["mode"])
    kw = dict(s0["kw"])
    if s0["mode"] != "LSTM":
        kw.pop("proj_size", None)
    layer = cls(input_size, s0["units"], num_layers=len(specs), batch_first=True, bidirectional=s0["bidirectional"],
                dropout=dropout, merge_mode=s0["merge_mode"], dtype=dtype, rng=0, **kw)
    for li, s in enumerate(specs):
        for d, w in enumerate(s["weights"]):
            sfx = f"_l{li}" + ("_reverse" if d else "")
            w_ih, w_hh, b_ih, b_hh = _rnnkit_direction(s["mode"], w, kw.get("reset_after", True), kw["bias"])
            getattr(layer, "weight_ih" + sfx).data = np.ascontiguousarray(w_ih, dtype)
            getattr(layer, "weight_hh" + sfx).data = np.ascontiguousarray(w_hh, dtype)
            if b_ih is not None:
                getattr(layer, "bias_ih" + sfx).data = np.ascontiguousarray(b_ih, dtype)
                getattr(layer, "bias_hh" + sfx).data = np.ascontiguousarray(b_hh, dtype)
    return layer


def _same_stack(a, b) -> bool:
    keys = ("mode", "kw", "units", "bidirectional", "merge_mode")
    return all(a[k] == b[k] for k in keys)


def _layer_dtype(layer):
    name = getattr(layer, "dtype", None) or "float32"
    name = getattr(name, "name", name)
    return np.float64 if "float64" in str(name) else np.float32


def _from_layers(keras, layers, where):
    """Keras layers in order -> rnnkit modules in order (recurrent runs joined into stacks)."""
    kl = keras.layers
    recurrent = (kl.SimpleRNN, kl.LSTM, kl.GRU, kl.Bidirectional)
    mods, i = [], 0
    layers = [layer for layer in layers if not isinstance(layer, kl.InputLayer)]
    while i < len(layers):
        layer, name = layers[i], f"{where}[{i}]"
        if isinstance(layer, recurrent):
            specs, dropout, j = [_recurrent_spec(keras, layer, name)], 0.0, i + 1
            while specs[-1]["seqs"] and j < len(layers):    # the next layer of the same stack, maybe after a Dropout
                k, p = j, None
                if isinstance(layers[k], kl.Dropout) and k + 1 < len(layers):
                    p, k = float(layers[k].rate), k + 1
                if not isinstance(layers[k], recurrent):
                    break
                nxt = _recurrent_spec(keras, layers[k], f"{where}[{k}]")
                if not _same_stack(specs[0], nxt) or (len(specs) > 1 and (p or 0.0) != dropout):
                    break
                specs.append(nxt)
                dropout, j = p or 0.0, k + 1
            input_size = specs[0]["weights"][0][0].shape[0]
            mods.append(_build_stack(specs, dropout, input_size, _layer_dtype(layer)))
            if not specs[-1]["seqs"]:
                s = specs[-1]
                if s["bidirectional"] and s["merge_mode"] != "concat":
                    raise TypeError(f"cannot convert {where}[{j - 1}]: Bidirectional(return_sequences=False) with "
                                    f"merge_mode={s['merge_mode']!r} (rnnkit's LastStep splits concatenated halves)")
                mods.append(nn.LastStep(batch_first=True, bidirectional_split=s["bidirectional"]))
            i = j
            continue
        mods += _from_simple(keras, layer, name)
        i += 1
    return mods


def _from_simple(keras, layer, where):
    kl = keras.layers
    dtype = _layer_dtype(layer)
    if isinstance(layer, kl.Dense):
        w = layer.get_weights()
        lin = nn.Linear(w[0].shape[0], w[0].shape[1], bias=len(w) > 1, dtype=dtype, rng=0)
        lin.weight.data = np.ascontiguousarray(w[0].T, dtype)
        if len(w) > 1:
            lin.bias.data = np.ascontiguousarray(w[1], dtype)
        return [lin] + _from_activation(layer.get_config().get("activation"), where)
    if isinstance(layer, kl.Embedding):
        if layer.get_config().get("mask_zero"):
            warnings.warn(f"{where}: Embedding(mask_zero=True): the mask is not converted; pass lengths to rnnkit",
                          stacklevel=3)
        (w,) = layer.get_weights()
        return [nn.Embedding.from_pretrained(w, freeze=False, dtype=dtype)]
    if isinstance(layer, kl.Dropout):
        return [nn.Dropout(float(layer.rate))]
    if isinstance(layer, kl.Activation):
        return _from_activation(layer.get_config().get("activation"), where)
    if isinstance(layer, kl.Identity):
        return [nn.Identity()]
    if isinstance(layer, kl.Flatten):
        return [nn.Flatten(1, -1)]
    if isinstance(layer, keras.Sequential):
        return [nn.Sequential(*_from_layers(keras, layer.layers, where))]
    raise TypeError(f"cannot convert {where} ({type(layer).__module__}.{type(layer).__qualname__}) from Keras: "
                    "rnnkit.interop converts SimpleRNN, LSTM, GRU, Bidirectional, Dense, Embedding, Dropout, "
                    "Activation (tanh, relu, sigmoid, linear), Identity, Flatten and keras.Sequential")


def _from_activation(name, where):
    if name in (None, "linear"):
        return []
    acts = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
    if name not in acts:
        raise TypeError(f"cannot convert {where}: activation {name!r} (rnnkit has tanh, relu, sigmoid)")
    return [acts[name]()]


def from_keras(layer_or_model):
    """The rnnkit module computing what a Keras 3 layer or ``keras.Sequential`` computes.

    Recurrent layers become batch-first rnnkit layers (consecutive ones of one kind and size
    join into one stacked layer); ``Dense`` with an activation becomes ``Linear`` and the
    activation; a layer with ``return_sequences=False`` is followed by ``LastStep``. A single
    layer or ``keras.Sequential`` that maps to one rnnkit module gives that module (so a stacked
    rnnkit layer comes back as itself), else a ``Sequential``.

    Example::

        import keras
        k = keras.layers.Bidirectional(keras.layers.GRU(8, return_sequences=True), merge_mode="ave")
        k.build((None, None, 3))
        gru = from_keras(k)            # nn.GRU(3, 8, bidirectional=True, merge_mode='ave', batch_first=True)
    """
    keras = _keras()
    if not isinstance(layer_or_model, keras.layers.Layer):
        raise TypeError(f"layer_or_model must be a Keras layer or model, got {type(layer_or_model).__name__}")
    if isinstance(layer_or_model, keras.Sequential):
        mods = _from_layers(keras, layer_or_model.layers, "model")
    elif isinstance(layer_or_model, keras.Model):
        raise TypeError("cannot convert a functional or subclassed Keras model: pass a keras.Sequential or a layer")
    else:
        mods = _from_layers(keras, [layer_or_model], "layer")
    return mods[0] if len(mods) == 1 else nn.Sequential(*mods)
