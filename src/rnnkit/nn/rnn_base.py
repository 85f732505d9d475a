"""Multi-layer, optionally bidirectional recurrent layer: the common base of RNN, LSTM, GRU.

Data flow for ``num_layers = L`` and ``D = 2`` directions::

    x (T, B, I) -> layer 0 fwd, bwd -> merge -> dropout -> layer 1 ... -> out (T, B, D*H_out)

Backward runs the same path in reverse: the gradient of the merged output is split to the
two directions, each direction runs BPTT (two paths: back through time inside the kernel,
down to the layer below through ``dx``), and the directions' ``dx`` add up.

``merge_mode`` ('concat', 'sum', 'mul', 'ave') merges the two directions after every
layer (:mod:`rnnkit.nn.directions`); with 'concat' (the default) the result equals PyTorch's.

Beyond PyTorch (keyword arguments, off by default):

- ``recurrent_dropout`` p (Keras's name; Gal & Ghahramani 2016): in training, one mask m_h
  (B, P) per forward and per (layer, direction), 0 with probability p, else 1/(1-p),
  multiplies ``h_{t-1}`` before the recurrent product at every step (one mask for all gates:
  Gal's tied form); the kernels apply it (``kernels/_recurrent_mask.py``). With truncated BPTT
  each window is a forward, so each window draws its masks.
- ``input_dropout`` p: the same with a mask m_x (B, I_l) on every layer's input x_t, one per
  forward and per (layer, direction), before the input projection.
- ``share_directions`` (with ``bidirectional``): the reverse direction runs with the forward
  direction's parameters (there are no ``*_reverse`` parameters; their gradients add up);
  the two directions still have their own states, and their outputs merge as usual.

Nothing here names a cell kind: a subclass sets ``mode`` to the name of a registered kind and
everything else (gate count, state parts, options, projection, kernels) comes from its record,
``self.kind`` (:class:`rnnkit.kernels.CellKind`).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from rnnkit._checks import (
    as_float_array,
    as_lengths,
    as_rng,
    check_bool,
    check_choice,
    check_float_range,
    check_int,
    check_shape,
    owned,
)
from rnnkit.kernels import KINDS, STANDARD_PARAMETERS, CellKind, get_kind, implementation
from rnnkit.nn._recurrence import DirectionParams, backward_direction, forward_direction
from rnnkit.nn._state import state_arrays
from rnnkit.nn._variational import check_supported, draw_mask, with_mask
from rnnkit.nn.directions import MERGE_MODES, merge, merge_backward, merge_saved, merged_size, suffix
from rnnkit.nn.module import Module, Parameter, _as_float_dtype

__all__ = ["RNNBase", "MERGE_MODES", "pack_state", "state_parts"]


def pack_state(parts: tuple):
    """A state as the layers return it: the one array for a single-part state (h), else the tuple (h, c)."""
    return parts if len(parts) > 1 else parts[0]


def state_parts(state) -> tuple:
    """A state as a tuple of parts (the inverse of :func:`pack_state`)."""
    return state if isinstance(state, tuple) else (state,)


def _zero_padded_nonfinite(x: np.ndarray, lengths) -> np.ndarray:
    """``x`` (T, B, I) with its padded steps (t >= lengths[b]) set to 0 when any of them holds
    NaN or inf: the kernels ignore padded steps, but ``dW_ih = d_x_proj.T @ x`` multiplies their
    zero gradients by ``x``, and 0 * NaN is NaN. A copy only then; finite padding is left as is."""
    if lengths is None:
        return x
    pad = np.arange(x.shape[0])[:, None] >= lengths[None, :]          # (T, B)
    if not pad.any() or np.isfinite(x[pad]).all():
        return x
    return np.where(pad[:, :, None], x.dtype.type(0), x)


class RNNBase(Module):
    """Shared constructor, parameters, forward and backward. Use RNN, LSTM or GRU.

    ``RNNBase(..., mode='GRU')`` makes a layer of any registered kind without its class (the
    diagnostics' one-direction copies do); ``options`` are the kind's own (``kind.options``).

    ``recurrent_dropout``, ``input_dropout`` and ``share_directions`` are described in the
    module docstring. Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> lstm = nn.LSTM(3, 8, bidirectional=True, share_directions=True, recurrent_dropout=0.25, rng=0)
        >>> out, (h_n, c_n) = lstm(np.ones((5, 2, 3), np.float32))     # training: masks drawn
        >>> dx, _ = lstm.backward(np.ones_like(out))                   # the same masks
        >>> out.shape, len(list(lstm.parameters()))                    # one set of weights
        ((5, 2, 16), 4)
    """

    mode = "RNN"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        *,
        dtype=None,
        merge_mode: str = "concat",
        rng=None,
        recurrent_dropout: float = 0.0,
        input_dropout: float = 0.0,
        share_directions: bool = False,
        mode: str | None = None,
        **options,
    ):
        super().__init__()
        if mode is not None:
            self.mode = get_kind(mode).name
        self._kind = get_kind(self.mode)
        self._state_args = tuple(f"{n}0" for n in self._kind.state_names)       # ('h0', 'c0')
        self._d_state_args = tuple(f"d{n}_n" for n in self._kind.state_names)   # ('dh_n', 'dc_n')
        name = type(self).__name__
        self.input_size = check_int("input_size", input_size, 1)
        self.hidden_size = check_int("hidden_size", hidden_size, 1)
        self.num_layers = check_int("num_layers", num_layers, 1)
        self.bias = check_bool("bias", bias)
        self.batch_first = check_bool("batch_first", batch_first)
        self.dropout = check_float_range("dropout", dropout, 0.0, 1.0)
        self.bidirectional = check_bool("bidirectional", bidirectional)
        self.proj_size = check_int("proj_size", proj_size, 0)
        if self.proj_size and not self.kind.projection:
            with_proj = ", ".join(k.name for k in KINDS.values() if k.projection)
            raise ValueError(f"proj_size is only supported by {with_proj}, got proj_size={proj_size} on {name}")
        if self.proj_size >= self.hidden_size:
            raise ValueError(
                f"proj_size must be smaller than hidden_size, got proj_size={proj_size} "
                f"and hidden_size={hidden_size}"
            )
        self.merge_mode = check_choice("merge_mode", merge_mode, MERGE_MODES)
        self.options = self.kind.check_options(options)    # e.g. nonlinearity (RNN), reset_after (GRU)
        for opt, value in self.options.items():
            setattr(self, opt, value)
        self.dtype = _as_float_dtype(dtype)
        self.rng = as_rng(rng)
        self.recurrent_dropout = check_float_range("recurrent_dropout", recurrent_dropout, 0.0, 1.0)
        self.input_dropout = check_float_range("input_dropout", input_dropout, 0.0, 1.0)
        check_supported(self.kind, "recurrent_dropout", self.recurrent_dropout > 0, name)
        self.share_directions = check_bool("share_directions", share_directions)
        if self.share_directions and not self.bidirectional:
            raise ValueError("share_directions=True shares the weights of the two directions: it needs "
                             "bidirectional=True, got bidirectional=False")
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn(
                "dropout > 0 with num_layers=1 has no effect: dropout acts between layers",
                stacklevel=2,
            )
        self._create_parameters()

    # -- parameters ---------------------------------------------------------------------
    @property
    def kind(self) -> CellKind:
        """The record of this layer's cell kind (from ``mode``)."""
        return self._kind

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        """Size of h_t per direction: proj_size if set, else hidden_size."""
        return self.proj_size or self.hidden_size

    def parameter_suffix(self, layer: int, direction: int) -> str:
        """The suffix of the parameters (layer, direction) runs with: ``suffix(layer, direction)``,
        or the forward direction's with ``share_directions``."""
        return suffix(layer, 0 if self.share_directions else direction)

    def _layer_input_size(self, layer: int) -> int:
        if layer == 0:
            return self.input_size
        return merged_size(self.merge_mode, self.output_size, self.num_directions)

    def _create_parameters(self) -> None:
        H, P = self.hidden_size, self.output_size
        k = 1.0 / math.sqrt(H)
        for layer in range(self.num_layers):
            for d in range(1 if self.share_directions else self.num_directions):
                sfx = suffix(layer, d)
                shapes = self.kind.parameter_shapes(self._layer_input_size(layer), H, P)
                self._extra_names = tuple(n for n in shapes if n not in STANDARD_PARAMETERS)
                for pname, shape in shapes.items():
                    if pname.startswith("bias") and not self.bias:
                        continue
                    data = self.rng.uniform(-k, k, size=shape).astype(self.dtype)
                    setattr(self, pname + sfx, Parameter(data))

    def _direction_params(self, layer: int, d: int) -> DirectionParams:
        sfx = self.parameter_suffix(layer, d)
        get = self._parameters.get
        extra = {n: get(n + sfx) for n in self._extra_names if get(n + sfx) is not None}
        return DirectionParams(
            get("weight_ih" + sfx), get("weight_hh" + sfx), get("bias_ih" + sfx),
            get("bias_hh" + sfx), get("weight_hr" + sfx), extra,
        )

    def reset_parameters(self, rng=None) -> None:
        """Re-draw every parameter from U(-1/sqrt(H), 1/sqrt(H)), as PyTorch does."""
        rng = self.rng if rng is None else as_rng(rng)
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self._parameters.values():
            p.data = rng.uniform(-k, k, size=p.shape).astype(self.dtype)

    # -- input handling -----------------------------------------------------------------
    @property
    def _state_count(self) -> int:
        return len(self._kind.state_names)

    @property
    def state_sizes(self) -> tuple[int, ...]:
        """Features of each state part per direction: h has ``output_size``, the others ``hidden_size``."""
        return (self.output_size,) + (self.hidden_size,) * (self._state_count - 1)

    def _prepare_input(self, x, dtype=None, name: str = "input"):
        """``x`` as a time-major ``(T, B, I)`` array of ``dtype`` (the layer's by default), and
        whether it was batched."""
        x = as_float_array(name, x, self.dtype if dtype is None else dtype)
        if x.ndim not in (2, 3):
            raise ValueError(
                f"{name} must be 3-D {'(B, T, I)' if self.batch_first else '(T, B, I)'} "
                f"or 2-D (T, I) for an unbatched sequence, got shape {x.shape}"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name} expected {self.input_size} features in the last dimension, "
                f"got shape {x.shape}"
            )
        batched = x.ndim == 3
        if not batched:
            x = x[:, None, :]
        elif self.batch_first:
            x = np.ascontiguousarray(x.transpose(1, 0, 2))
        T, B = x.shape[0], x.shape[1]
        if T == 0 or B == 0:
            raise ValueError(f"{name} must hold at least one step and one sequence, got shape {x.shape}")
        return x, batched

    def _state_shapes(self, B: int) -> tuple[tuple[int, int, int], ...]:
        """Batched shapes of the state parts: ``(L*D, B, H_out)`` (and ``(L*D, B, H)`` for c)."""
        LD = self.num_layers * self.num_directions
        return tuple((LD, B, n) for n in self.state_sizes)

    def _prepare_states(self, hx, B: int, batched: bool, dtype=None):
        """Returns a tuple of (L*D, B, .) arrays: (h0,) or (h0, c0); missing parts are zeros."""
        dtype = self.dtype if dtype is None else dtype
        shapes = self._state_shapes(B)
        parts = state_arrays(hx, "state", self._state_args, shapes, dtype, batched, type(self).__name__)
        return tuple(np.zeros(s, dtype) if a is None else a for a, s in zip(parts, shapes))

    # -- forward ------------------------------------------------------------------------
    def forward(self, input, hx=None, lengths=None):
        """Run all layers and directions. See the class docstring for shapes."""
        x, batched = self._prepare_input(input)
        T, B, _ = x.shape
        if lengths is not None and not batched:
            raise ValueError("lengths requires batched input (3-D), got an unbatched 2-D input")
        lengths = as_lengths(lengths, B, T)
        states0 = self._prepare_states(hx, B, batched)
        keep = self.keeps_cache
        if keep:
            x = owned(x, input)                 # saved for dW_ih: the caller may reuse its buffer
        x = _zero_padded_nonfinite(x, lengths)  # padded steps are ignored: NaN/inf there too
        impl = implementation(self._kind)
        D = self.num_directions
        finals = [[] for _ in range(self._state_count)]   # each (L*D) of (B, .)
        layer_caches = []
        layer_in = x
        for layer in range(self.num_layers):
            outs, dir_caches = [], []
            for d in range(D):
                idx = layer * D + d
                s0 = tuple(s[idx] for s in states0)
                in_mask, rec_mask = self._variational_masks(B, layer_in.shape[2])
                out, s_n, c = forward_direction(
                    impl, with_mask(self.options, rec_mask), layer_in if in_mask is None else layer_in * in_mask,
                    self._direction_params(layer, d), s0, lengths, bool(d), keep,
                )
                outs.append(out)
                dir_caches.append((c, in_mask))
                for k, s in enumerate(s_n):
                    finals[k].append(s)
            merged = merge(self.merge_mode, outs)
            mask = None
            if self.training and layer < self.num_layers - 1:
                mask = draw_mask(self.rng, self.dropout, merged.shape, self.dtype)
                if mask is not None:
                    merged = merged * mask
            if keep:
                layer_caches.append((dir_caches, merge_saved(self.merge_mode, outs), mask))
            layer_in = merged
        out = layer_in
        if keep:
            self._push((layer_caches, out.shape, batched, lengths))
        h_n = tuple(np.stack(f) for f in finals)
        return self._format_output(out, h_n, batched)

    def _variational_masks(self, B: int, I: int):
        """One (layer, direction)'s masks for this forward: the input mask (B, I) and the
        recurrent mask (B, P), each None when its dropout is off or out of training."""
        if not self.training:
            return None, None
        return (draw_mask(self.rng, self.input_dropout, (B, I), self.dtype),
                draw_mask(self.rng, self.recurrent_dropout, (B, self.output_size), self.dtype))

    def _format_output(self, out, states, batched):
        if not batched:
            out = out[:, 0]
            states = tuple(s[:, 0] for s in states)
        elif self.batch_first:
            out = np.ascontiguousarray(out.transpose(1, 0, 2))
        return out, pack_state(states)

    # -- backward -----------------------------------------------------------------------
    def backward(self, d_output, d_state=None):
        """Backpropagation through time through all layers and directions.

        ``d_output`` has the shape of the forward output; ``d_state`` the shape of the final
        state (``dh_n``, or ``(dh_n, dc_n)`` for a two-part state (LSTM); None or None parts mean zero).
        Returns ``dx`` and the gradient of the initial state; adds into every ``p.grad``.
        """
        layer_caches, out_shape, batched, lengths = self._peek()   # popped once the arguments pass
        T, B, F = out_shape
        d = as_float_array("d_output", d_output, self.dtype)
        if batched:
            expected = (B, T, F) if self.batch_first else (T, B, F)
        else:
            expected = (T, F)
        check_shape("d_output", d, expected)
        if not batched:
            d = d[:, None, :]
        elif self.batch_first:
            d = np.ascontiguousarray(d.transpose(1, 0, 2))
        d_states_n = self._prepare_d_states(d_state, B, batched)
        self._pop()
        D, L = self.num_directions, self.num_layers
        d_states0 = [[None] * (L * D) for _ in range(self._state_count)]
        for layer in range(L - 1, -1, -1):
            dir_caches, saved, mask = layer_caches[layer]
            if mask is not None:
                d = d * mask
            parts = merge_backward(self.merge_mode, d, self.output_size, saved, D)
            dx = None
            for dd in range(D):
                idx = layer * D + dd
                ds_n = tuple(s[idx] if s is not None else None for s in d_states_n)
                cache, in_mask = dir_caches[dd]
                dxi, ds0 = backward_direction(
                    np.ascontiguousarray(parts[dd]), ds_n, self._direction_params(layer, dd), cache,
                )
                if in_mask is not None:
                    dxi = dxi * in_mask
                dx = dxi if dx is None else dx + dxi
                for k, s in enumerate(ds0):
                    d_states0[k][idx] = s
            d = dx
        d_s0 = tuple(np.stack(s) for s in d_states0)
        if not batched:
            d = d[:, 0]
            d_s0 = tuple(s[:, 0] for s in d_s0)
        elif self.batch_first:
            d = np.ascontiguousarray(d.transpose(1, 0, 2))
        return d, pack_state(d_s0)

    def _prepare_d_states(self, d_state, B, batched):
        shapes = self._state_shapes(B)
        return state_arrays(d_state, "d_state", self._d_state_args, shapes, self.dtype, batched, type(self).__name__)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for opt, value in self.options.items():
            if value != self.kind.defaults[opt]:
                s += f", {opt}={value!r}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.recurrent_dropout:
            s += f", recurrent_dropout={self.recurrent_dropout}"
        if self.input_dropout:
            s += f", input_dropout={self.input_dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
            if self.merge_mode != "concat":
                s += f", merge_mode={self.merge_mode!r}"
            if self.share_directions:
                s += ", share_directions=True"
        if self.dtype != np.float32:
            s += f", dtype={self.dtype}"
        return s
