"""SRU (Lei et al. 2018): :class:`SRU` (the layer) and :class:`SRUCell` (one step)."""

from __future__ import annotations

from rnnkit.nn.cells import _CellBase
from rnnkit.nn.rnn import _check_device
from rnnkit.nn.rnn_base import RNNBase

__all__ = ["SRU", "SRUCell"]


class SRU(RNNBase):
    """Simple Recurrent Unit (Lei et al. 2018), stacked and optionally bidirectional.

    All matrix work is one product for the whole sequence; the recurrence is elementwise.
    Each layer and direction runs, for t = 0 .. T-1 (T-1 .. 0 in the reverse direction)::

        [u_t | p_f | p_r | x'_t] = x_t @ W_ih.T + b_ih            # (B, 4H), one GEMM over all t
        f_t = sigmoid(p_f + v_f * c_{t-1}) ;  r_t = sigmoid(p_r + v_r * c_{t-1})
        c_t = f_t * c_{t-1} + (1 - f_t) * u_t
        h_t = r_t * c_t + (1 - r_t) * x'_t                         # the highway

    ``[v_f; v_r] = weight_hh`` (2H,). The highway ``x'_t`` is a learned projection of ``x_t``
    at every size (the ``sru`` package uses ``x_t`` itself when ``I == H``); there is no
    activation on ``c_t`` (the ``sru`` package's default). The state is ``(h, c)`` as for the
    LSTM, but only ``c`` is recurrent: ``h0`` is accepted and not used (its gradient is zero).

    Shapes (T time, B batch, I input, H hidden, D = 2 if bidirectional else 1, L layers):
    input ``(T, B, I)``, ``(B, T, I)`` with ``batch_first``, or ``(T, I)`` unbatched;
    ``h0``/``c0``/``h_n``/``c_n`` ``(L*D, B, H)``; output ``(T, B, D*H)`` (``merge_mode`` 'concat').
    Parameters per layer l and direction: ``weight_ih_l{l}`` (4H, I_l) = [W; W_f; W_r; W_hw],
    ``weight_hh_l{l}`` (2H,) = [v_f; v_r], ``bias_ih_l{l}`` (4H,); suffix ``_reverse`` for the
    reverse direction.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> rnn = nn.SRU(10, 20, num_layers=2, rng=0)
        >>> out, (h_n, c_n) = rnn(np.ones((5, 3, 10), np.float32))
        >>> dx, (dh0, dc0) = rnn.backward(np.ones_like(out))
        >>> out.shape, c_n.shape, dx.shape, rnn.weight_ih_l1.shape, rnn.weight_hh_l1.shape
        ((5, 3, 20), (2, 3, 20), (5, 3, 10), (80, 20), (40,))
    """

    mode = "SRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, *, merge_mode="concat", rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, merge_mode=merge_mode, rng=rng)


class SRUCell(_CellBase):
    """One SRU step::

        [u | p_f | p_r | x'] = x @ W_ih.T + b_ih          # (B, 4H)
        f = sigmoid(p_f + v_f * c) ;  r = sigmoid(p_r + v_r * c)
        c' = f * c + (1 - f) * u ;  h' = r * c' + (1 - r) * x'

    Args: ``input_size`` I, ``hidden_size`` H, ``bias``, ``dtype``, ``rng``. Parameters:
    ``weight_ih`` (4H, I), ``weight_hh`` (2H,) = [v_f; v_r], ``bias_ih`` (4H,). Call:
    ``h', c' = cell(x, (h, c))`` with x (B, I) or (I,), h and c (B, H) or (H,) (None: zeros;
    h is not used). Backward: ``dx, (dh, dc) = cell.backward((dh', dc'))``.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.SRUCell(10, 20, rng=0)
        >>> h1, c1 = cell(np.ones((3, 10), np.float32))
        >>> dx, (dh0, dc0) = cell.backward((np.ones_like(h1), None))
        >>> h1.shape, c1.shape, dx.shape, dc0.shape
        ((3, 20), (3, 20), (3, 10), (3, 20))
    """

    mode = "SRU"

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, bias, dtype, rng)
