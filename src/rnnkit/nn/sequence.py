"""Pieces that map sequences to fixed-size features, and the feed-forward window baseline.

- :func:`length_mask` — bool mask of the real (unpadded) steps, for masked losses.
- :class:`LastStep` — many-to-one: each sequence's last real step of a recurrent output.
- :class:`FinalState` — the last layer's ``h_n`` of all directions as one ``(B, D*H)`` array.
- :class:`Flatten` — merge dimensions, as ``torch.nn.Flatten``.
- :class:`WindowMLP` — an MLP over a flattened fixed window ``(B, W, F) -> (B, n_outputs)``.

Many-to-many heads need no wrapper: :class:`Linear` and the activations act on the last
dimension of any ``(T, B, F)`` array, i.e. per time step.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from rnnkit._checks import as_float_array, as_lengths, as_rng, check_bool, check_int, check_shape
from rnnkit.data.padding import length_mask
from rnnkit.nn.activation import float_input, make_activation
from rnnkit.nn.container import Sequential
from rnnkit.nn.linear import Linear
from rnnkit.nn.module import Module, _as_float_dtype

__all__ = ["length_mask", "LastStep", "FinalState", "Flatten", "WindowMLP"]


class LastStep(Module):
    """Many-to-one: take each sequence's last real step from a recurrent output.

    Input ``(T, B, F)``, ``(B, T, F)`` with ``batch_first``, or ``(T, F)`` unbatched; output
    ``(B, F)`` (``(F,)`` unbatched). With ``lengths`` (B integers in [1, T]) sequence b gives
    step ``lengths[b] - 1``; without, step ``T - 1`` — PyTorch's ``out[-1]``.

    Bidirectional outputs: the reverse direction reads the sequence backwards, so its
    "last" (final) state sits at step 0, not at the end. ``bidirectional_split=True`` treats
    the first half of F as the forward direction (taken at the last real step) and the second
    half as the reverse direction (taken at step 0). For a layer with ``merge_mode='concat'``
    this equals PyTorch's ``torch.cat([h_n[-2], h_n[-1]], dim=1)``, the usual classifier
    input. Without the split, the reverse half at the last step has seen one step only.

    Backward puts ``d_output`` back at the selected steps; every other step gets zero.

    Example::

        gru = nn.GRU(3, 8, bidirectional=True)
        model = nn.Sequential(gru, nn.LastStep(bidirectional_split=True), nn.Linear(16, 2))
        y = model(x, lengths=[5, 3])                # x (5, 2, 3) -> (2, 2)
    """

    accepts_lengths = True

    def __init__(self, batch_first: bool = False, bidirectional_split: bool = False):
        super().__init__()
        self.batch_first = check_bool("batch_first", batch_first)
        self.bidirectional_split = check_bool("bidirectional_split", bidirectional_split)

    def forward(self, input, lengths=None):
        x, xt = time_major_input(input, self.batch_first, lengths)       # xt (T, B, F)
        T, B, F = xt.shape
        if self.bidirectional_split and F % 2:
            raise ValueError(f"bidirectional_split needs an even feature size (two directions), got F={F}")
        lens = as_lengths(lengths, B, T)
        last = np.full(B, T - 1) if lens is None else lens - 1      # (B,)
        b = np.arange(B)
        y = xt[last, b]                                            # (B, F), a copy
        Fh = F // 2 if self.bidirectional_split else F
        if self.bidirectional_split:
            y[:, Fh:] = xt[0, :, Fh:]
        if self.keeps_cache:
            self._push((x.shape, x.dtype, last, Fh))
        return y if x.ndim == 3 else y[0]

    def backward(self, d_output):
        shape, dtype, last, Fh = self._peek()    # popped once the arguments pass
        unbatched = len(shape) == 2
        F = shape[-1]
        B = last.shape[0]
        d = as_float_array("d_output", d_output, dtype)
        check_shape("d_output", d, (F,) if unbatched else (B, F))
        self._pop()
        d = d.reshape(B, F)
        T = shape[0] if (unbatched or not self.batch_first) else shape[1]
        dx = np.zeros((T, B, F), dtype)                            # (T, B, F)
        b = np.arange(B)
        dx[last, b, :Fh] = d[:, :Fh]
        dx[0, :, Fh:] = d[:, Fh:]
        if unbatched:
            return dx[:, 0]
        return np.ascontiguousarray(dx.transpose(1, 0, 2)) if self.batch_first else dx

    def extra_repr(self) -> str:
        parts = []
        if self.batch_first:
            parts.append("batch_first=True")
        if self.bidirectional_split:
            parts.append("bidirectional_split=True")
        return ", ".join(parts)


class FinalState(Module):
    """The last layer's final hidden state, directions concatenated: ``h_n (L*D, B, H) -> (B, D*H)``.

    For hand-written models that keep the recurrent layer's state (outside a Sequential, where
    only ``out`` is passed on; there :class:`LastStep` with ``bidirectional_split`` gives the same
    numbers). The input is ``h_n``, or an LSTM's ``(h_n, c_n)`` of which ``h_n`` is used.
    Unbatched ``(L*D, H)`` gives ``(D*H,)``. Backward returns ``dh_n`` (zero for the lower
    layers) — or ``(dh_n, None)`` for a tuple input — ready for ``layer.backward(d_out, .)``.

    Example::

        final = nn.FinalState(num_directions=2)
        out, (h_n, c_n) = lstm(x)                  # lstm bidirectional
        feat = final((h_n, c_n))                   # (B, 2H), as torch.cat([h_n[-2], h_n[-1]], 1)
        dh_n, dc_n = final.backward(d_feat)        # dc_n is None
        lstm.backward(np.zeros_like(out), (dh_n, dc_n))
    """

    def __init__(self, num_directions: int = 1):
        super().__init__()
        self.num_directions = check_int("num_directions", num_directions, 1)
        if self.num_directions > 2:
            raise ValueError(f"num_directions must be 1 or 2, got {num_directions}")

    def forward(self, state):
        is_tuple = isinstance(state, (tuple, list))
        if is_tuple:
            if len(state) != 2:
                raise TypeError(f"state must be h_n or a tuple (h_n, c_n), got a {type(state).__name__} "
                                f"of {len(state)} items")
            state = state[0]
        h = float_input("h_n", state)
        D = self.num_directions
        if h.ndim not in (2, 3) or h.shape[0] < D or h.shape[0] % D:
            raise ValueError(
                f"h_n must be (L*D, B, H) or (L*D, H) with D={D} dividing the first dimension, got shape {h.shape}"
            )
        y = np.concatenate([h[h.shape[0] - D + d] for d in range(D)], axis=-1)   # (B, D*H)
        if self.keeps_cache:
            self._push((h.shape, h.dtype, is_tuple))
        return y

    def backward(self, d_output):
        shape, dtype, is_tuple = self._peek()    # popped once the arguments pass
        D, H = self.num_directions, shape[-1]
        d = as_float_array("d_output", d_output, dtype)
        check_shape("d_output", d, shape[1:-1] + (D * H,))
        self._pop()
        dh = np.zeros(shape, dtype)                                # (L*D, B, H)
        for k in range(D):
            dh[shape[0] - D + k] = d[..., k * H:(k + 1) * H]
        return (dh, None) if is_tuple else dh

    def extra_repr(self) -> str:
        return f"num_directions={self.num_directions}"


class Flatten(Module):
    """Merge dimensions ``start_dim..end_dim`` into one, as ``torch.nn.Flatten`` (default: all but batch).

    ``(B, W, F) -> (B, W*F)``; backward reshapes the gradient back.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = check_int("start_dim", start_dim)
        self.end_dim = check_int("end_dim", end_dim)

    def forward(self, input):
        x = float_input("input", input)
        n = x.ndim
        s, e = self.start_dim, self.end_dim
        s, e = (s + n if s < 0 else s), (e + n if e < 0 else e)
        if not (0 <= s <= e < n):
            raise ValueError(
                f"Flatten(start_dim={self.start_dim}, end_dim={self.end_dim}) does not fit an input of shape {x.shape}"
            )
        y = x.reshape(x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:])
        if self.keeps_cache:
            self._push((x.shape, y.shape, x.dtype))
        return y

    def backward(self, d_output):
        in_shape, out_shape, dtype = self._peek()    # popped once the arguments pass
        d = as_float_array("d_output", d_output, dtype)
        check_shape("d_output", d, out_shape)
        self._pop()
        return d.reshape(in_shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class WindowMLP(Sequential):
    """Feed-forward baseline for time series: an MLP over a flattened window of past steps.

    ``(B, W, F) -> Flatten -> Linear(W*F, h1) -> act -> ... -> Linear(h_last, n_outputs) -> (B, n_outputs)``

    It sees exactly ``window`` steps and has no state: the comparison the tutorials make
    against recurrent models for next-value prediction. ``(B, W)`` is accepted when
    ``n_features == 1``. Modules are numbered as in the equivalent ``torch.nn.Sequential``
    (``"1.weight"`` is the first Linear), so a torch state_dict loads directly.

    Example::

        mlp = nn.WindowMLP(window=24, n_features=1, hidden_sizes=(64, 64), n_outputs=1, rng=0)
        y = mlp(windows)                       # windows (B, 24, 1) -> y (B, 1)
        mlp.backward(d_y)                      # grads in every Linear
    """

    def __init__(self, window: int, n_features: int, hidden_sizes: Sequence[int] | int = (64,),
                 n_outputs: int = 1, activation: str = "tanh", *, dtype=None, rng=None):
        window = check_int("window", window, 1)
        n_features = check_int("n_features", n_features, 1)
        n_outputs = check_int("n_outputs", n_outputs, 1)
        if isinstance(hidden_sizes, (int, np.integer)) and not isinstance(hidden_sizes, bool):
            hidden_sizes = (hidden_sizes,)
        if not isinstance(hidden_sizes, Sequence) or isinstance(hidden_sizes, str):
            raise TypeError(f"hidden_sizes must be an int or a sequence of ints, got {hidden_sizes!r}")
        hidden = [check_int(f"hidden_sizes[{i}]", h, 1) for i, h in enumerate(hidden_sizes)]
        make_activation(activation)   # validates the name
        dt = _as_float_dtype(dtype)
        rng = as_rng(rng)
        mods: list[Module] = [Flatten(1, -1)]
        sizes = [window * n_features] + hidden
        for a, b in zip(sizes[:-1], sizes[1:]):
            mods += [Linear(a, b, dtype=dt, rng=rng), make_activation(activation)]
        mods.append(Linear(sizes[-1], n_outputs, dtype=dt, rng=rng))
        super().__init__(OrderedDict((str(i), m) for i, m in enumerate(mods)))
        self.window, self.n_features, self.n_outputs = window, n_features, n_outputs
        self.hidden_sizes, self.activation, self.dtype = tuple(hidden), activation, dt

    accepts_lengths = False   # fixed windows: a Sequential does not pass lengths here

    def forward(self, input):
        """``input (B, W, F)`` (or ``(B, W)`` with one feature) -> ``(B, n_outputs)``."""
        x = as_float_array("input", input, self.dtype)
        in_shape = x.shape
        if x.ndim == 2 and self.n_features == 1:
            x = x[:, :, None]
        if x.ndim != 3 or x.shape[1:] != (self.window, self.n_features):
            raise ValueError(
                f"input expected shape (B, {self.window}, {self.n_features}) (batch, window, features), "
                f"got {x.shape}"
            )
        y = super().forward(x)
        if self.keeps_cache:
            self._push(in_shape)
        return y

    def backward(self, d_output):
        """``d_output (B, n_outputs)`` -> ``dx`` of the input's shape; adds into every Linear's grads."""
        shape = self._peek()
        dx = super().backward(d_output)    # checks d_output first: a rejected one keeps the forward
        self._pop()
        return dx.reshape(shape)

    def extra_repr(self) -> str:
        return (f"window={self.window}, n_features={self.n_features}, hidden_sizes={self.hidden_sizes}, "
                f"n_outputs={self.n_outputs}, activation={self.activation!r}")


def time_major_input(input, batch_first: bool, lengths=None):
    """``(x, xt)``: the float input as given and its time-major view ``(T, B, F)``.

    ``input`` is ``(T, B, F)``, ``(B, T, F)`` with ``batch_first``, or unbatched ``(T, F)``
    (then ``B = 1`` and ``lengths`` must be None); at least one time step.
    """
    x = float_input("input", input)
    if x.ndim == 2:
        if lengths is not None:
            raise ValueError("lengths requires batched 3-D input, got an unbatched 2-D input")
        xt = x[:, None, :]                                     # (T, 1, F)
    elif x.ndim == 3:
        xt = x.transpose(1, 0, 2) if batch_first else x        # (T, B, F), a view
    else:
        layout = "(B, T, F)" if batch_first else "(T, B, F)"
        raise ValueError(f"input must be 3-D {layout} or 2-D (T, F), got shape {x.shape}")
    if xt.shape[0] == 0:
        raise ValueError(f"input must hold at least one time step, got shape {x.shape}")
    return x, xt
