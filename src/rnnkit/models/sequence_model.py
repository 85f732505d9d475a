"""The ready-made composite network: :class:`SequenceModel`.

``SequenceModel`` is the network the trainer, the CLI, the demos and the estimators use::

    x (B, T, I)  or token ids (B, T) -> Embedding (B, T, E)
      -> + N(0, input_noise^2) in training                                     (optional)
      -> input layers: [Linear -> activation -> Dropout] per step  (B, T, I')   (optional)
      -> recurrent layer (RNN | LSTM | GRU; layers, dropout, directions)   out (B, T, F), state
      -> many-to-many: out (B, T, F)
         many-to-one:  last state h_n (B, F) and/or mean / max of out over the real steps,
                       concatenated (B, K*F)
      -> head layers: [Dropout -> Linear -> activation]                     (optional)
      -> Dropout -> Linear head           (B, T, O) or (B, O)

with ``F = D * P`` (``P = proj_size or H``; ``P`` for a non-'concat' ``merge_mode``). With input
and head layers this is the frame-wise labelling network of Graves & Schmidhuber (2005): a
feed-forward layer, a bidirectional recurrent stack, a feed-forward layer, a per-step softmax.
It is batch-first and follows the stateful protocol of truncated BPTT::

    out, state = model(x, state=None, lengths=None)   # state: what the recurrent layer returns
    dx = model.backward(d_out)                        # None for token inputs; the gradient
                                                      # into the incoming state is cut

Many-to-one ``'last'`` reads the last layer's final state ``h_n``, which for a variable-length
batch is each sequence's last real step (and, bidirectional, the reverse direction's state
after reading back to step 0), merged like the outputs. ``'mean'`` and ``'max'`` pool ``out``
over the real steps (:class:`~rnnkit.nn.TemporalPooling`); ``'last+mean+max'`` (any ``+``-joined
combination, in the order written) concatenates them.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, as_rng, check_choice, check_float_range, check_int
from rnnkit._grad_mode import inference_mode
from rnnkit.nn.activation import make_activation
from rnnkit.nn.container import Sequential
from rnnkit.nn.dropout import Dropout
from rnnkit.nn.embedding import Embedding
from rnnkit.nn.linear import Linear
from rnnkit.nn.module import Module, _as_float_dtype
from rnnkit.nn.noise import GaussianNoise
from rnnkit.nn.pooling import TemporalPooling
from rnnkit.nn.rnn import GRU, LSTM, RNN
from rnnkit.serialization import register

__all__ = ["SequenceModel"]

_CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
_POOLED = ("last", "mean", "max")


def _output_parts(output) -> tuple[str, ...]:
    """``'sequence'`` -> ``()``; ``'last+mean'`` -> ``('last', 'mean')`` (validated)."""
    if output == "sequence":
        return ()
    parts = tuple(output.split("+")) if isinstance(output, str) else ()
    if not parts or any(p not in _POOLED for p in parts) or len(set(parts)) != len(parts):
        raise ValueError(f"output must be 'sequence' or one of {_POOLED} or a '+'-joined combination "
                         f"of distinct ones (e.g. 'last+mean+max'), got {output!r}")
    return parts


def _layer_sizes(name: str, sizes) -> tuple[int, ...]:
    if isinstance(sizes, (int, np.integer)) and not isinstance(sizes, bool):
        sizes = (sizes,)
    if not isinstance(sizes, (tuple, list)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {sizes!r}")
    return tuple(check_int(f"{name}[{i}]", h, 1) for i, h in enumerate(sizes))


class SequenceModel(Module):
    """(Embedding) -> (FF) -> RNN/LSTM/GRU -> (pooling) -> (FF) -> Linear, batch-first.

    Args:
        input_size: features per step ``I`` (the embedding size ``E`` when ``num_embeddings``).
        hidden_size: ``H`` of the recurrent layer.
        output_size: ``O`` of the linear head (classes, vocabulary size, or regression targets).
        cell: ``'rnn'``, ``'lstm'`` or ``'gru'``.
        num_layers, bidirectional, proj_size (LSTM), nonlinearity (RNN), merge_mode: as the layers.
        dropout: between recurrent layers, after each input layer, before each head layer and
            before the output Linear.
        output: ``'sequence'`` (many-to-many, ``(B, T, O)``) or many-to-one ``(B, O)`` from
            ``'last'`` (final state), ``'mean'``, ``'max'`` (over the real steps), or a
            ``+``-joined combination such as ``'last+mean+max'`` (features concatenated).
        num_embeddings: when given, inputs are integer ids ``(B, T)`` looked up in an
            ``Embedding(num_embeddings, input_size)``.
        padding_idx: the embedding row kept at zero (e.g. an unknown-token id); token inputs only.
        input_noise: standard deviation of Gaussian noise added to the inputs (or embeddings)
            in training only (:class:`~rnnkit.nn.GaussianNoise`); 0 (default) adds none.
        input_layers: sizes of per-step ``Linear -> activation`` layers before the recurrent
            layer (default none).
        head_layers: sizes of ``Linear -> activation`` layers between the recurrent features
            and the output Linear (default none).
        activation: of those layers: ``'tanh'`` (default), ``'relu'``, ``'sigmoid'``.
        dtype: float32 (default) or float64. rng: Generator or int seed for init and dropout.

    Example::

        model = SequenceModel(3, 16, 2, cell="gru", output="last", rng=0)
        y, h_n = model(np.random.randn(4, 7, 3), lengths=np.array([7, 5, 2, 1]))   # y (4, 2)
        dx = model.backward(np.ones_like(y))                                          # (4, 7, 3)
        tagger = SequenceModel(3, 16, 5, cell="lstm", bidirectional=True, input_layers=32,
                               head_layers=32, rng=0)                                 # (B, T, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, *, cell: str = "lstm",
                 num_layers: int = 1, dropout: float = 0.0, bidirectional: bool = False,
                 output: str = "sequence", num_embeddings: int | None = None, proj_size: int = 0,
                 nonlinearity: str = "tanh", merge_mode: str = "concat", padding_idx: int | None = None,
                 input_layers=(), head_layers=(), activation: str = "tanh", input_noise: float = 0.0,
                 dtype=None, rng=None):
        super().__init__()
        self.cell = check_choice("cell", cell, tuple(_CELLS))
        self._parts = _output_parts(output)
        self.output = output
        check_int("input_size", input_size, 1)
        check_int("output_size", output_size, 1)
        self.dropout_p = check_float_range("dropout", dropout, 0.0, 1.0)
        pre, post = _layer_sizes("input_layers", input_layers), _layer_sizes("head_layers", head_layers)
        make_activation(activation)                                   # validates the name
        self.dtype = _as_float_dtype(dtype)
        self.rng = as_rng(rng)
        if num_embeddings is not None:
            self.embedding = Embedding(num_embeddings, input_size, padding_idx=padding_idx, dtype=self.dtype,
                                       rng=self.rng)
        elif padding_idx is not None:
            raise ValueError("padding_idx applies to token inputs only (num_embeddings given)")
        self.num_embeddings = num_embeddings
        if check_float_range("input_noise", input_noise, 0.0, float("inf")) > 0:
            self.noise = GaussianNoise(input_noise, rng=self.rng)
        if pre:
            self.pre = self._feed_forward((input_size,) + pre, activation, drop_after=True)
        if cell != "rnn" and nonlinearity != "tanh":
            raise ValueError(f"nonlinearity applies to cell='rnn' only, got nonlinearity={nonlinearity!r} "
                             f"with cell={cell!r}")
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        if proj_size:
            extra["proj_size"] = proj_size
        self.rnn = _CELLS[cell](
            pre[-1] if pre else input_size, hidden_size, num_layers=num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional,
            dtype=self.dtype, merge_mode=merge_mode, rng=self.rng, **extra,
        )
        D = self.rnn.num_directions if merge_mode == "concat" else 1
        self.features = D * self.rnn.output_size
        pooled = tuple(p for p in self._parts if p != "last")
        if pooled:
            self.pool = TemporalPooling(pooled, batch_first=True)
        width = self.features * max(1, len(self._parts))
        if post:
            self.post = self._feed_forward((width,) + post, activation, drop_after=False)
            width = post[-1]
        if dropout > 0:
            self.drop = Dropout(dropout, rng=self.rng)
        self.head = Linear(width, output_size, dtype=self.dtype, rng=self.rng)

    def _feed_forward(self, sizes, activation: str, drop_after: bool) -> Sequential:
        """``[Linear -> activation -> Dropout]`` (input side) or ``[Dropout -> Linear -> activation]``."""
        mods: list[Module] = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            drop = [Dropout(self.dropout_p, rng=self.rng)] if self.dropout_p > 0 else []
            layer = [Linear(a, b, dtype=self.dtype, rng=self.rng), make_activation(activation)]
            mods += layer + drop if drop_after else drop + layer
        return Sequential(*mods)

    # -- forward ------------------------------------------------------------------------
    def forward(self, x, state=None, lengths=None):
        """``x (B, T, I)`` or ids ``(B, T)`` -> ``(out, state)``; out ``(B, T, O)`` or ``(B, O)``."""
        if self.num_embeddings is not None:
            ids = np.asarray(x)
            if ids.ndim != 2:
                raise ValueError(f"x must be token ids of shape (B, T), got shape {ids.shape}")
            x = self.embedding(ids)                                  # (B, T, E)
        else:
            x = as_float_array("x", x, self.dtype)
            if x.ndim != 3:
                raise ValueError(f"x must be batch-first (B, T, I), got shape {x.shape}")
        if "noise" in self._modules:
            x = self.noise(x)
        if "pre" in self._modules:
            x = self.pre(x)                                          # (B, T, I')
        out, state_n = self.rnn(x, state, lengths=lengths)           # (B, T, F), (L*D, B, P)
        feat = out if not self._parts else self._pooled(out, state_n, lengths)   # (B, T, F) | (B, K*F)
        if "post" in self._modules:
            feat = self.post(feat)
        if self.dropout_p > 0:
            feat = self.drop(feat)
        y = self.head(feat)                                          # (B, T, O) | (B, O)
        if self.keeps_cache:
            h = self._h(state_n)
            pair = h[-2:].copy() if "last" in self._parts and self.rnn.merge_mode == "mul" else None
            self._push((out.shape, h.shape, pair))
        return y, state_n

    def _pooled(self, out, state_n, lengths):
        """Many-to-one features: the parts of ``output`` concatenated, ``(B, K*F)``."""
        pooled = self.pool(out, lengths=lengths) if "pool" in self._modules else None   # (B, M*F)
        F, k, pieces = self.features, 0, []
        for p in self._parts:
            if p == "last":
                pieces.append(self._last(state_n))                   # (B, F)
            else:
                pieces.append(pooled[:, k * F:(k + 1) * F])
                k += 1
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=1)

    def _h(self, state):
        return state[0] if isinstance(state, tuple) else state

    def _last(self, state_n):
        """Last layer's final hidden state, directions merged: ``(L*D, B, P)`` -> ``(B, F)``."""
        h = self._h(state_n)
        D = self.rnn.num_directions
        if D == 1:
            return h[-1]
        fwd, bwd = h[-2], h[-1]
        mode = self.rnn.merge_mode
        if mode == "concat":
            return np.concatenate([fwd, bwd], axis=1)
        if mode == "sum":
            return fwd + bwd
        if mode == "mul":
            return fwd * bwd
        return (fwd + bwd) * self.dtype.type(0.5)

    # -- backward -----------------------------------------------------------------------
    def backward(self, d_output, d_state=None):
        """Backpropagate ``d_output`` (the shape of ``out``); returns ``dx`` (None for ids).

        ``d_state`` is accepted for symmetry with the layers and must be None: truncated BPTT
        cuts the gradient at the window boundary.
        """
        if d_state is not None:
            raise ValueError("d_state must be None: SequenceModel does not backpropagate into the final state")
        out_shape, h_shape, pair = self._peek()
        d = self.head.backward(d_output)                             # (B, T, F) | (B, F)
        self._pop()                      # the head accepted d_output: the forward is used
        if self.dropout_p > 0:
            d = self.drop.backward(d)
        if "post" in self._modules:
            d = self.post.backward(d)
        if not self._parts:
            d_out, d_h = d, None
        else:
            d_out, d_h = self._d_pooled(d, out_shape, h_shape, pair)
        d_state_n = (d_h, None) if self.cell == "lstm" and d_h is not None else d_h
        dx, _ = self.rnn.backward(d_out, d_state_n)
        if "pre" in self._modules:
            dx = self.pre.backward(dx)
        if "noise" in self._modules:
            dx = self.noise.backward(dx)
        if self.num_embeddings is not None:
            self.embedding.backward(dx)
            return None
        return dx

    def _d_pooled(self, d, out_shape, h_shape, pair):
        """Gradient of :meth:`_pooled`: ``d (B, K*F)`` -> ``(d_out (B, T, F), d_h_n or None)``."""
        F, pooled, d_h = self.features, [], None
        for i, p in enumerate(self._parts):
            di = d[:, i * F:(i + 1) * F]
            if p == "last":
                d_h = self._d_last(di, h_shape, pair)                # (L*D, B, P)
            else:
                pooled.append(di)
        if not pooled:
            return np.zeros(out_shape, self.dtype), d_h
        d_out = self.pool.backward(pooled[0] if len(pooled) == 1 else np.concatenate(pooled, axis=1))
        return d_out, d_h                                            # (B, T, F)

    def _d_last(self, d, h_shape, pair):
        """Gradient of :meth:`_last` with respect to the full ``h_n``."""
        dh = np.zeros(h_shape, self.dtype)                           # (L*D, B, P)
        if self.rnn.num_directions == 1:
            dh[-1] = d
            return dh
        mode, P = self.rnn.merge_mode, h_shape[-1]
        if mode == "concat":
            dh[-2], dh[-1] = d[:, :P], d[:, P:]
        elif mode == "sum":
            dh[-2], dh[-1] = d, d
        elif mode == "mul":
            dh[-2], dh[-1] = d * pair[1], d * pair[0]
        else:
            dh[-2], dh[-1] = d * 0.5, d * 0.5
        return dh

    # -- generation ---------------------------------------------------------------------
    def generate(self, prime, length: int, temperature: float = 1.0, rng=None) -> np.ndarray:
        """Sample ``length`` token ids after the prime ids ``(Tp,)``, feeding each one back.

        Needs token inputs, ``output='sequence'`` and ``output_size == num_embeddings``. Runs
        in eval mode under ``no_grad`` and restores the previous mode. ``temperature > 0``
        divides the logits; ``rng`` is a Generator or an int seed.
        """
        if self.num_embeddings is None or self.output != "sequence" or self.head.out_features != self.num_embeddings:
            raise ValueError("generate needs token inputs, output='sequence' and output_size == num_embeddings")
        length = check_int("length", length, 0)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
        prime = np.asarray(prime)
        if prime.ndim != 1 or prime.size == 0 or not np.issubdtype(prime.dtype, np.integer):
            raise ValueError(f"prime must be a non-empty 1-D array of token ids, got {prime!r:.60}")
        rng = as_rng(rng)
        out = np.empty(length, np.int64)
        with inference_mode(self):
            logits, state = self(prime[None, :])                  # (1, Tp, V)
            for t in range(length):
                z = logits[0, -1].astype(np.float64) / temperature   # (V,)
                p = np.exp(z - z.max())
                out[t] = rng.choice(p.size, p=p / p.sum())
                logits, state = self(out[None, t:t + 1], state)      # (1, 1, V)
        return out

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, output={self.output!r}"


register(SequenceModel)
