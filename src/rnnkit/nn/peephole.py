"""LSTM with peephole connections (Gers & Schmidhuber 2000; Graves 2013, eq. 7-11):
:class:`PeepholeLSTM` (the layer) and :class:`PeepholeLSTMCell` (one step)."""

from __future__ import annotations

from rnnkit.nn.cells import _CellBase
from rnnkit.nn.rnn import _check_device
from rnnkit.nn.rnn_base import RNNBase

__all__ = ["PeepholeLSTM", "PeepholeLSTMCell"]


class PeepholeLSTM(RNNBase):
    """LSTM with peephole connections, stacked and optionally bidirectional.

    Each layer and direction runs, for t = 0 .. T-1 (T-1 .. 0 in the reverse direction), with
    PyTorch's gate order i, f, g, o and diagonal peephole weights ``w_ci, w_cf, w_co`` (H,)::

        [a_i, a_f, a_g, a_o] = x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh
        i = sigmoid(a_i + w_ci * c_{t-1}) ;  f = sigmoid(a_f + w_cf * c_{t-1}) ;  g = tanh(a_g)
        c_t = f * c_{t-1} + i * g
        o = sigmoid(a_o + w_co * c_t)              # the output gate sees the new cell state
        h_t = o * tanh(c_t)

    With the peephole weights zero it is :class:`LSTM`. Every parameter, the peepholes
    included, starts from U(-1/sqrt(H), 1/sqrt(H)), as PyTorch initialises its LSTM.

    Shapes (T time, B batch, I input, H hidden, D = 2 if bidirectional else 1, L layers):
    input ``(T, B, I)``, ``(B, T, I)`` with ``batch_first``, or ``(T, I)`` unbatched;
    ``(h0, c0)``/``(h_n, c_n)`` ``(L*D, B, H)`` each; output ``(T, B, D*H)`` ('concat').
    Parameters per layer l and direction: ``weight_ih_l{l}`` (4H, I_l), ``weight_hh_l{l}``
    (4H, H), ``bias_ih_l{l}``, ``bias_hh_l{l}`` (4H,), ``weight_ci_l{l}``, ``weight_cf_l{l}``,
    ``weight_co_l{l}`` (H,); suffix ``_reverse`` for the reverse direction. No ``proj_size``.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> rnn = nn.PeepholeLSTM(10, 20, num_layers=2, rng=0)
        >>> out, (h_n, c_n) = rnn(np.ones((5, 3, 10), np.float32))
        >>> dx, (dh0, dc0) = rnn.backward(np.ones_like(out))
        >>> out.shape, c_n.shape, dx.shape, rnn.weight_co_l1.shape
        ((5, 3, 20), (2, 3, 20), (5, 3, 10), (20,))
    """

    mode = "PeepholeLSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, *, merge_mode="concat", rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, merge_mode=merge_mode, rng=rng)


class PeepholeLSTMCell(_CellBase):
    """One peephole LSTM step (the equations of :class:`PeepholeLSTM`)::

        i = sigmoid(a_i + w_ci c) ;  f = sigmoid(a_f + w_cf c) ;  c' = f c + i tanh(a_g)
        o = sigmoid(a_o + w_co c') ;  h' = o tanh(c')

    Args: ``input_size`` I, ``hidden_size`` H, ``bias``, ``dtype``, ``rng``. Parameters:
    ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih``, ``bias_hh`` (4H,), ``weight_ci``,
    ``weight_cf``, ``weight_co`` (H,). Call: ``h', c' = cell(x, (h, c))`` with x (B, I) or (I,)
    (state None: zeros). Backward: ``dx, (dh, dc) = cell.backward((dh', dc'))``.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.PeepholeLSTMCell(10, 20, rng=0)
        >>> h1, c1 = cell(np.ones((3, 10), np.float32))
        >>> h1.shape, c1.shape, cell.weight_ci.shape
        ((3, 20), (3, 20), (20,))
    """

    mode = "PeepholeLSTM"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, bias, dtype, rng)
