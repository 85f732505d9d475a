"""minGRU and minLSTM (Feng et al. 2024): layers :class:`MinGRU`, :class:`MinLSTM` and their
one-step cells. Their gates see the input only, so training can run a parallel scan over time."""

from __future__ import annotations

from rnnkit.nn.cells import _CellBase
from rnnkit.nn.rnn import _check_device
from rnnkit.nn.rnn_base import RNNBase

__all__ = ["MinGRU", "MinGRUCell", "MinLSTM", "MinLSTMCell"]

_SHAPES = """
    Shapes (T time, B batch, I input, H hidden, D = 2 if bidirectional else 1, L layers):
    input ``(T, B, I)``, ``(B, T, I)`` with ``batch_first``, or ``(T, I)`` unbatched;
    ``h0``/``h_n`` ``(L*D, B, H)``; output ``(T, B, D*H)`` (``merge_mode`` 'concat').
    ``algorithm``: 'loop' (the sequential compiled loop) or 'scan' (the parallel scan in log
    space); both give the same values to rounding. The NumPy backend always runs the loop.
"""


class _MinLayer(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, *, algorithm="loop", merge_mode="concat", rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, merge_mode=merge_mode, algorithm=algorithm, rng=rng)


class _MinCell(_CellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, bias, dtype, rng)


class MinGRU(_MinLayer):
    """minGRU (Feng et al. 2024), stacked and optionally bidirectional.

    Each layer and direction runs, for t = 0 .. T-1 (T-1 .. 0 in the reverse direction)::

        [p_z | p_h] = x_t @ W_ih.T + b_ih                       # (B, 2H), no recurrent weight
        z_t = sigmoid(p_z) ;  h_t = (1 - z_t) * h_{t-1} + z_t * p_h
    """ + _SHAPES + """
    Parameters per layer l and direction: ``weight_ih_l{l}`` (2H, I_l), ``bias_ih_l{l}`` (2H,).

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> rnn = nn.MinGRU(10, 20, num_layers=2, algorithm="scan", rng=0)
        >>> out, h_n = rnn(np.ones((5, 3, 10), np.float32))
        >>> dx, dh0 = rnn.backward(np.ones_like(out))
        >>> out.shape, h_n.shape, dx.shape, rnn.weight_ih_l1.shape
        ((5, 3, 20), (2, 3, 20), (5, 3, 10), (40, 20))
    """

    mode = "minGRU"


class MinLSTM(_MinLayer):
    """minLSTM (Feng et al. 2024), stacked and optionally bidirectional.

    Each layer and direction runs, for t = 0 .. T-1 (T-1 .. 0 in the reverse direction)::

        [p_f | p_i | p_h] = x_t @ W_ih.T + b_ih                 # (B, 3H), no recurrent weight
        f_t, i_t = sigmoid(p_f), sigmoid(p_i)
        h_t = f_t / (f_t + i_t) * h_{t-1} + i_t / (f_t + i_t) * p_h
    """ + _SHAPES + """
    Parameters per layer l and direction: ``weight_ih_l{l}`` (3H, I_l), ``bias_ih_l{l}`` (3H,).

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> rnn = nn.MinLSTM(10, 20, bidirectional=True, rng=0)
        >>> out, h_n = rnn(np.ones((5, 3, 10), np.float32))
        >>> out.shape, h_n.shape
        ((5, 3, 40), (2, 3, 20))
    """

    mode = "minLSTM"


class MinGRUCell(_MinCell):
    """One minGRU step: ``z = sigmoid(x @ W_z.T + b_z)``, ``h' = (1 - z) * h + z * (x @ W_h.T + b_h)``.

    Parameters: ``weight_ih`` (2H, I) = [W_z; W_h], ``bias_ih`` (2H,). Call ``h' = cell(x, h)``
    (x (B, I) or (I,); h None: zeros); ``dx, dh = cell.backward(dh')``.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.MinGRUCell(10, 20, rng=0)
        >>> cell(np.ones((3, 10), np.float32)).shape
        (3, 20)
    """

    mode = "minGRU"


class MinLSTMCell(_MinCell):
    """One minLSTM step: ``f, i = sigmoid(x @ W_f.T + b_f), sigmoid(x @ W_i.T + b_i)``,
    ``h' = (f * h + i * (x @ W_h.T + b_h)) / (f + i)``.

    Parameters: ``weight_ih`` (3H, I) = [W_f; W_i; W_h], ``bias_ih`` (3H,). Call ``h' = cell(x, h)``.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.MinLSTMCell(10, 20, rng=0)
        >>> cell(np.ones((3, 10), np.float32)).shape
        (3, 20)
    """

    mode = "minLSTM"
