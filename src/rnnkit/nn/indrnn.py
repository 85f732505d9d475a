"""IndRNN (Li et al. 2018): :class:`IndRNN` (the layer) and :class:`IndRNNCell` (one step)."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_float_range
from rnnkit.nn.cells import _CellBase
from rnnkit.nn.rnn import _check_device
from rnnkit.nn.rnn_base import RNNBase

__all__ = ["IndRNN", "IndRNNCell"]


def _check_bound(recurrent_max):
    return None if recurrent_max is None else check_float_range("recurrent_max", recurrent_max, 0.0, np.inf)


def _clip(module) -> None:
    if module.recurrent_max is not None:
        for name, p in module.named_parameters():
            if name.startswith("weight_hh"):
                np.clip(p.data, -module.recurrent_max, module.recurrent_max, out=p.data)


class IndRNN(RNNBase):
    """Independently recurrent network (Li et al. 2018), stacked and optionally bidirectional.

    Each layer and direction runs, for t = 0 .. T-1 (T-1 .. 0 in the reverse direction)::

        h_t = f(x_t @ W_ih.T + b_ih + u * h_{t-1} + b_hh)    u = weight_hh (H,), elementwise
                                                            f: relu (default) or tanh

    The units of a layer do not mix in time (the mixing is the next layer's ``W_ih``), which
    lets deep stacks of relu units learn dependencies over thousands of steps. The paper bounds
    the recurrent weights, ``|u| <= recurrent_max`` (``2 ** (1 / T)`` for relu over T steps):
    with ``recurrent_max`` set, the weights are clipped at construction and by
    :meth:`constrain_`, to be called after each optimiser step.

    Shapes (T time, B batch, I input, H hidden, D = 2 if bidirectional else 1, L layers):
    input ``(T, B, I)``, ``(B, T, I)`` with ``batch_first``, or ``(T, I)`` unbatched;
    ``h0``/``h_n`` ``(L*D, B, H)``; output ``(T, B, D*H)`` (``merge_mode`` 'concat').
    Parameters per layer l and direction: ``weight_ih_l{l}`` (H, I_l), ``weight_hh_l{l}`` (H,),
    ``bias_ih_l{l}``, ``bias_hh_l{l}`` (H,), suffix ``_reverse`` for the reverse direction.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> rnn = nn.IndRNN(10, 20, num_layers=2, recurrent_max=1.0, rng=0)
        >>> out, h_n = rnn(np.ones((5, 3, 10), np.float32))
        >>> dx, dh0 = rnn.backward(np.ones_like(out))
        >>> out.shape, h_n.shape, dx.shape, rnn.weight_hh_l1.shape
        ((5, 3, 20), (2, 3, 20), (5, 3, 10), (20,))
    """

    mode = "IndRNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="relu", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None,
                 *, recurrent_max=None, merge_mode="concat", rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype=dtype, merge_mode=merge_mode,
                         nonlinearity=nonlinearity, rng=rng)
        self.recurrent_max = _check_bound(recurrent_max)
        _clip(self)

    def constrain_(self) -> None:
        """Clip every ``weight_hh`` into ``[-recurrent_max, recurrent_max]`` (nothing without a bound)."""
        _clip(self)


class IndRNNCell(_CellBase):
    """One IndRNN step::

        h' = f(x @ W_ih.T + b_ih + u * h + b_hh)      u = weight_hh (H,); f: relu (default) or tanh

    Args: ``input_size`` I, ``hidden_size`` H, ``bias``, ``nonlinearity``, ``dtype``, ``rng``,
    ``recurrent_max`` (as :class:`IndRNN`). Parameters: ``weight_ih`` (H, I), ``weight_hh`` (H,),
    ``bias_ih``, ``bias_hh`` (H,). Call: ``h' = cell(x, h)`` with x (B, I) or (I,), h (B, H) or
    (H,) (None: zeros). Backward: ``dx, dh = cell.backward(dh')``.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.IndRNNCell(10, 20, rng=0)
        >>> h1 = cell(np.ones((3, 10), np.float32))
        >>> dx, dh0 = cell.backward(np.ones_like(h1))
        >>> h1.shape, dx.shape, dh0.shape
        ((3, 20), (3, 10), (3, 20))
    """

    mode = "IndRNN"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="relu", device=None,
                 dtype=None, *, recurrent_max=None, rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, bias, dtype, rng, nonlinearity=nonlinearity)
        self.recurrent_max = _check_bound(recurrent_max)
        _clip(self)

    def constrain_(self) -> None:
        """Clip ``weight_hh`` into ``[-recurrent_max, recurrent_max]`` (nothing without a bound)."""
        _clip(self)
