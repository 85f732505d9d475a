"""One-step cells: :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell` (PyTorch's API).

A cell computes one time step, ``(x_t, state) -> state'``, and ``backward`` runs the
gradient of that one step. Unrolling a cell by hand over T steps and calling ``backward``
T times in reverse order (the caches are a LIFO stack) is backpropagation through time.

The equations are those of the kind's reference step (``kernels/<kind>_ref.py``); in eval
mode or under ``no_grad`` a step is one compiled call of the kernels' ``step`` (nothing kept); in
training, RNN/GRU/LSTM steps on the compiled kernels take ``kernels/fast/step_train`` (a step and its
own backward, the weights read from the parameters at every call: no packing, nothing cached).

Example (the time loop written out; loss = sum of the last h)::

    >>> import numpy as np
    >>> from rnnkit import nn
    >>> cell = nn.LSTMCell(10, 20, rng=0)
    >>> x = np.random.default_rng(1).standard_normal((5, 3, 10)).astype(np.float32)   # (T, B, I)
    >>> h, c = np.zeros((3, 20), np.float32), np.zeros((3, 20), np.float32)
    >>> for x_t in x:
    ...     h, c = cell(x_t, (h, c))
    >>> dh, dc = np.ones_like(h), None
    >>> for _ in range(len(x)):             # backward in reverse order
    ...     dx_t, (dh, dc) = cell.backward((dh, dc))
    >>> dx_t.shape, cell.weight_hh.grad.shape
    ((3, 10), (80, 20))
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit._checks import as_float_array, as_rng, check_bool, check_float_range, check_int, owned
from rnnkit.kernels import STANDARD_PARAMETERS, CellKind, CellWeights, get_kind, implementation
from rnnkit.nn._recurrence import DirectionParams, backward_direction, forward_direction
from rnnkit.nn._state import state_arrays
from rnnkit.nn._variational import StepMask, check_supported, with_mask
from rnnkit.nn.module import Module, Parameter, _as_float_dtype
from rnnkit.nn.rnn import _check_device
from rnnkit.nn.rnn_base import pack_state

__all__ = ["RNNCell", "LSTMCell", "GRUCell"]

_new_tuple = tuple.__new__


def _data(p):
    return None if p is None else p.data


class _CellBase(Module):
    """Shared constructor, forward and backward of the cells; ``mode`` names the kind's record."""

    mode = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, dtype=None, rng=None, recurrent_dropout=0.0, **options):
        super().__init__()
        self._kind = get_kind(self.mode)
        self._n_states = len(self._kind.state_names)
        self.input_size = check_int("input_size", input_size, 1)
        self.hidden_size = check_int("hidden_size", hidden_size, 1)
        self.bias = check_bool("bias", bias)
        self.options = self.kind.check_options(options)
        for opt, value in self.options.items():
            setattr(self, opt, value)
        self.dtype = _as_float_dtype(dtype)
        self.rng = as_rng(rng)
        self.recurrent_dropout = check_float_range("recurrent_dropout", recurrent_dropout, 0.0, 1.0)
        check_supported(self._kind, "recurrent_dropout", self.recurrent_dropout > 0, type(self).__name__)
        self._step_mask = StepMask()        # Keras's cells: drawn on a sequence's first step, then kept
        H = self.hidden_size
        k = 1.0 / math.sqrt(H)
        shapes = self.kind.parameter_shapes(self.input_size, H, H)
        self._extra_names = tuple(n for n in shapes if n not in STANDARD_PARAMETERS)
        for name, shape in shapes.items():
            if name.startswith("bias") and not self.bias:
                continue
            setattr(self, name, Parameter(self.rng.uniform(-k, k, size=shape).astype(self.dtype)))

    @property
    def kind(self) -> CellKind:
        """The record of this cell's kind (from ``mode``)."""
        return self._kind

    def _params(self) -> DirectionParams:
        get = self._parameters.get
        return DirectionParams(get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"), None,
                               {n: get(n) for n in self._extra_names})

    def _train_path(self, dt):
        """``(forward, backward)`` of the compiled one-step training path (``kernels/fast/step_train``)
        when this cell's kernels are the compiled ones of a kind that has it and every weight is a
        C-contiguous array of ``dt``; else None (the general path through the sequence kernels)."""
        compiled = self._kind.compiled
        if compiled is None or self._extra_names or implementation(self._kind).forward.__module__ != compiled:
            return None
        from rnnkit.kernels.fast.step_train import PATHS

        path = PATHS.get(compiled)
        if path is None:
            return None
        for p in self._parameters.values():
            if type(p.data) is not np.ndarray or p.data.dtype != dt or not p.data.flags.c_contiguous:
                return None
        return path

    def _weights(self) -> tuple:
        """(W_ih, W_hh, b_ih, b_hh) as they are now (read at every step: nothing is cached)."""
        get = self._parameters.get
        return tuple(None if p is None else p.data for p in (get("weight_ih"), get("weight_hh"), get("bias_ih"),
                                                             get("bias_hh")))

    def _prepare(self, x, hx):
        x = as_float_array("input", x, self.dtype)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"input expected shape (B, {self.input_size}) or ({self.input_size},), got {x.shape}"
            )
        batched = x.ndim == 2
        if not batched:
            x = x[None]
        B = x.shape[0]
        if B == 0:
            raise ValueError("input must hold at least one sample, got batch size 0")
        shapes = ((B, self.hidden_size),) * self._n_states
        parts = state_arrays(hx, "state", tuple(f"{n}x" for n in self.kind.state_names), shapes, self.dtype,
                             batched, type(self).__name__)
        states = [np.zeros(sh, self.dtype) if a is None else a for a, sh in zip(parts, shapes)]
        return x[None], tuple(states), batched     # x (1, B, I)

    def reset_dropout_mask(self) -> None:
        """Forget the kept recurrent dropout mask: the next training step of a new sequence draws one."""
        self._step_mask.reset()

    def forward(self, input, hx=None, recurrent_mask=None):
        check_supported(self._kind, "recurrent_mask", recurrent_mask is not None, type(self).__name__)
        masked = recurrent_mask is not None or (self.training and self.recurrent_dropout > 0)
        if not self.keeps_cache and not masked:
            fast = self._step_no_cache(input, hx)      # streaming inference: one compiled call
            if fast is not None:
                return fast
        x, s0, batched = self._prepare(input, hx)
        keep = self.keeps_cache
        if keep and not masked:                 # (a recurrent mask runs the general path below)
            path = self._train_path(x.dtype)
            if path is not None:                # a training step with its own backward (no packing, no pool)
                x_t = np.ascontiguousarray(owned(x[0], input))
                s_n, saved = path[0](x_t, s0, self._weights(), self.options)
                self._push((saved, x_t.shape[0], batched, path[1]))
                return pack_state(tuple(s if batched else s[0] for s in s_n))
        if keep:
            x = owned(x, input)                 # saved for dW_ih: the caller may reuse its buffer
        options = self.options
        if masked:                          # (B, H): h multiplied by it before the recurrent product
            given = recurrent_mask if recurrent_mask is None or batched else np.asarray(recurrent_mask)[None]
            options = with_mask(options, self._step_mask.mask(self.recurrent_dropout, self.rng, x.shape[1],
                                                              self.hidden_size, self.dtype, self.training, given))
        _, s_n, cache = forward_direction(implementation(self.kind), options, x, self._params(), s0, None,
                                          False, keep)
        if keep:
            self._push((cache, x.shape[1], batched, None))
        return pack_state(tuple(s if batched else s[0] for s in s_n))

    def _step_no_cache(self, x, hx):
        """The lean path for eval()/no_grad steps: the kernels' one-step ``step`` (one compiled call).

        Only plain real-valued arrays of the exact shapes take it (cast to the cell's dtype, as
        the general path casts); anything else returns None and goes through :meth:`_prepare`,
        which converts or raises.
        """
        dt = self.dtype
        if type(x) is not np.ndarray or x.dtype.kind not in "biuf":
            return None
        if x.dtype != dt or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=dt)      # cast as the general path does (float64 -> float32)
        batched = x.ndim == 2
        if not (batched or x.ndim == 1) or x.shape[-1] != self.input_size or x.size == 0:
            return None
        H = self.hidden_size
        shape = x.shape[:-1] + (H,)
        n = self._n_states
        if hx is None:
            states = [np.zeros(shape, dt)] * n
        else:
            states = list(hx) if n > 1 and type(hx) in (tuple, list) and len(hx) == n else [hx]
            if len(states) != n:
                return None
            for k, a in enumerate(states):
                if a is None:
                    states[k] = np.zeros(shape, dt)
                elif type(a) is not np.ndarray or a.dtype.kind not in "biuf" or a.shape != shape:
                    return None
                elif a.dtype != dt or not a.flags.c_contiguous:
                    states[k] = np.ascontiguousarray(a, dtype=dt)
        par = self._parameters
        w_ih, w_hh = par["weight_ih"].data, _data(par.get("weight_hh"))    # a kind may have no weight_hh
        if w_ih.dtype != dt or not w_ih.flags.c_contiguous or (
                w_hh is not None and (w_hh.dtype != dt or not w_hh.flags.c_contiguous)):
            return None
        b_ih, b_hh = (_data(par.get("bias_ih")), _data(par.get("bias_hh"))) if self.bias else (None, None)
        extra = {n: par[n].data for n in self._extra_names} if self._extra_names else None
        if not batched:
            x, states = x[None], [s[None] for s in states]
        w = _new_tuple(CellWeights, (w_ih, w_hh, b_ih, b_hh, None, extra))    # CellWeights(...) without its __new__
        new = implementation(self._kind).step(x, tuple(states), w, self.options)
        if not batched:
            new = tuple(s[0] for s in new)
        return new if n > 1 else new[0]

    def backward(self, d_state):
        """Gradient of one step: ``d_state`` is dL/dh' (or ``(dh', dc')``, parts may be None).

        Returns ``dx`` and the gradient of the input state; adds into every ``p.grad``.
        """
        cache, B, batched, step_backward = self._peek()    # popped once the arguments pass
        H = self.hidden_size
        ds = state_arrays(d_state, "d_state", tuple(f"d{n}" for n in self.kind.state_names),
                          ((B, H),) * self._n_states, self.dtype, batched, f"{type(self).__name__}.backward")
        self._pop()
        if step_backward is not None:
            get = self._parameters.get
            grads = (get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"))
            dx, d_s0 = step_backward(ds, cache, self._weights(), grads)
            return (dx if batched else dx[0]), pack_state(tuple(s if batched else s[0] for s in d_s0))
        d_out = ds[0][None] if ds[0] is not None else np.zeros((1, B, H), self.dtype)
        d_n = (None,) + tuple(ds[1:])
        dx, d_s0 = backward_direction(d_out, d_n, self._params(), cache)
        dx = dx[0] if batched else dx[0, 0]
        return dx, pack_state(tuple(s if batched else s[0] for s in d_s0))

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        for opt, value in self.options.items():
            if value != self.kind.defaults[opt]:
                s += f", {opt}={value!r}"
        if self.recurrent_dropout:
            s += f", recurrent_dropout={self.recurrent_dropout}"
        return s


class RNNCell(_CellBase):
    """One Elman step::

        h' = f(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)       f: tanh (default), relu or sigmoid

    Args: ``input_size`` I, ``hidden_size`` H, ``bias``, ``nonlinearity``, ``dtype``, ``rng``.
    Parameters: ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih``, ``bias_hh`` (H,).
    Call: ``h' = cell(x, h)`` with x (B, I) or (I,), h (B, H) or (H,) (None: zeros).
    Backward: ``dx, dh = cell.backward(dh')`` (adds into the parameters' grads).

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.RNNCell(10, 20, rng=0)
        >>> h1 = cell(np.ones((3, 10), np.float32))          # h0 defaults to zeros
        >>> dx, dh0 = cell.backward(np.ones_like(h1))
        >>> h1.shape, dx.shape, dh0.shape
        ((3, 20), (3, 10), (3, 20))
    """

    mode = "RNN"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None, *, rng=None, recurrent_dropout=0.0):
        _check_device(device)
        super().__init__(input_size, hidden_size, bias, dtype, rng, recurrent_dropout, nonlinearity=nonlinearity)


class LSTMCell(_CellBase):
    """One LSTM step (PyTorch's gate order i, f, g, o)::

        [a_i, a_f, a_g, a_o] = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh     # (B, 4H)
        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o) ;  g = tanh(a_g)
        c' = f * c + i * g ;  h' = o * tanh(c')

    Args: ``input_size`` I, ``hidden_size`` H, ``bias``, ``dtype``, ``rng``.
    Parameters: ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih``, ``bias_hh`` (4H,).
    Call: ``h', c' = cell(x, (h, c))`` with x (B, I) or (I,), h and c (B, H) or (H,) (None: zeros).
    Backward: ``dx, (dh, dc) = cell.backward((dh', dc'))`` (either part may be None).

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.LSTMCell(10, 20, rng=0)
        >>> h1, c1 = cell(np.ones((3, 10), np.float32))
        >>> dx, (dh0, dc0) = cell.backward((np.ones_like(h1), None))
        >>> h1.shape, c1.shape, dx.shape, dc0.shape
        ((3, 20), (3, 20), (3, 10), (3, 20))
    """

    mode = "LSTM"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, rng=None,
                 recurrent_dropout=0.0):
        _check_device(device)
        super().__init__(input_size, hidden_size, bias, dtype, rng, recurrent_dropout)


class GRUCell(_CellBase):
    """One GRU step (PyTorch's gate order r, z, n)::

        [x_r, x_z, x_n] = x @ W_ih.T + b_ih ;  [s_r, s_z, s_n] = h @ W_hh.T + b_hh
        r = sigmoid(x_r + s_r) ;  z = sigmoid(x_z + s_z)
        n = tanh(x_n + r * s_n)                          (reset_after=True, PyTorch)
        n = tanh(x_n + (r * h) @ W_hn.T + b_hn)          (reset_after=False, Cho et al. 2014)
        h' = (1 - z) * n + z * h

    Args: ``input_size`` I, ``hidden_size`` H, ``bias``, ``dtype``, ``reset_after``, ``rng``.
    Parameters: ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``bias_ih``, ``bias_hh`` (3H,).
    Call: ``h' = cell(x, h)`` with x (B, I) or (I,), h (B, H) or (H,) (None: zeros).
    Backward: ``dx, dh = cell.backward(dh')``.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.GRUCell(10, 20, rng=0)
        >>> h1 = cell(np.ones((3, 10), np.float32))
        >>> dx, dh0 = cell.backward(np.ones_like(h1))
        >>> h1.shape, dx.shape
        ((3, 20), (3, 10))
    """

    mode = "GRU"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *,
                 reset_after=True, rng=None, recurrent_dropout=0.0):
        _check_device(device)
        super().__init__(input_size, hidden_size, bias, dtype, rng, recurrent_dropout, reset_after=reset_after)
