"""Layer-normalised recurrent layers (Ba, Kiros & Hinton 2016): :class:`LayerNormLSTM`,
:class:`LayerNormGRU` and their cells."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_float_range
from rnnkit.nn.cells import _CellBase
from rnnkit.nn.rnn import _check_device
from rnnkit.nn.rnn_base import RNNBase

__all__ = ["LayerNormLSTM", "LayerNormLSTMCell", "LayerNormGRU", "LayerNormGRUCell"]


def _check_eps(eps) -> float:
    value = check_float_range("eps", eps, 0.0, np.inf)
    if not (0.0 < value < np.inf):
        raise ValueError(f"eps must be a finite number > 0, got {value}")
    return value


class _LayerNormLayer(RNNBase):
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, *, eps=1e-5, merge_mode="concat", rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, merge_mode=merge_mode, rng=rng, eps=_check_eps(eps))


class _LayerNormCell(_CellBase):
    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, eps=1e-5, rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, bias, dtype, rng, eps=_check_eps(eps))


class LayerNormLSTM(_LayerNormLayer):
    """LSTM with layer normalisation (Ba, Kiros & Hinton 2016, sec. 3.1 and appendix), stacked
    and optionally bidirectional.

    Each layer and direction runs, for t = 0 .. T-1 (T-1 .. 0 in the reverse direction), with
    ``LN(v) = (1 + w) * (v - mean(v)) / sqrt(var(v) + eps) + beta`` over the feature axis::

        a_t = LN_ih(x_t @ W_ih.T) + LN_hh(h_{t-1} @ W_hh.T)    # (B, 4H), gates i, f, g, o
        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o) ;  g = tanh(a_g)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(LN_c(c_t))

    The input and recurrent products are normalised separately, each over all 4H gate
    pre-activations (as the paper), with their own gain and shift; the shifts are the gates'
    bias. The gains are stored as offsets from 1 (``weight_ln_*`` = gain - 1), so the uniform
    initialisation of every parameter starts them near 1. ``bias=False`` leaves out the shifts.

    Shapes (T time, B batch, I input, H hidden, D = 2 if bidirectional else 1, L layers):
    input ``(T, B, I)``, ``(B, T, I)`` with ``batch_first``, or ``(T, I)`` unbatched;
    ``(h0, c0)``/``(h_n, c_n)`` ``(L*D, B, H)`` each; output ``(T, B, D*H)`` ('concat').
    Parameters per layer l and direction: ``weight_ih_l{l}`` (4H, I_l), ``weight_hh_l{l}``
    (4H, H), ``weight_ln_ih_l{l}``, ``bias_ln_ih_l{l}``, ``weight_ln_hh_l{l}``,
    ``bias_ln_hh_l{l}`` (4H,), ``weight_ln_c_l{l}``, ``bias_ln_c_l{l}`` (H,); suffix
    ``_reverse`` for the reverse direction. ``eps`` (default 1e-5, as torch.nn.LayerNorm).

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> rnn = nn.LayerNormLSTM(10, 20, num_layers=2, rng=0)
        >>> out, (h_n, c_n) = rnn(np.ones((5, 3, 10), np.float32))
        >>> dx, (dh0, dc0) = rnn.backward(np.ones_like(out))
        >>> out.shape, c_n.shape, dx.shape, rnn.weight_ln_c_l0.shape
        ((5, 3, 20), (2, 3, 20), (5, 3, 10), (20,))
    """

    mode = "LayerNormLSTM"


class LayerNormLSTMCell(_LayerNormCell):
    """One LayerNorm LSTM step (the equations of :class:`LayerNormLSTM`)::

        a = LN_ih(x @ W_ih.T) + LN_hh(h @ W_hh.T) ;  c' = f c + i g ;  h' = o tanh(LN_c(c'))

    Args: ``input_size`` I, ``hidden_size`` H, ``bias`` (the LN shifts), ``dtype``, ``eps``,
    ``rng``. Parameters: ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``weight_ln_ih``,
    ``bias_ln_ih``, ``weight_ln_hh``, ``bias_ln_hh`` (4H,), ``weight_ln_c``, ``bias_ln_c`` (H,).
    Call: ``h', c' = cell(x, (h, c))`` with x (B, I) or (I,) (state None: zeros). Backward:
    ``dx, (dh, dc) = cell.backward((dh', dc'))``.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.LayerNormLSTMCell(10, 20, rng=0)
        >>> h1, c1 = cell(np.ones((3, 10), np.float32))
        >>> h1.shape, c1.shape
        ((3, 20), (3, 20))
    """

    mode = "LayerNormLSTM"


class LayerNormGRU(_LayerNormLayer):
    """GRU with layer normalisation, stacked and optionally bidirectional: the recipe of Ba,
    Kiros & Hinton (2016) for the LSTM (the input and the recurrent products normalised
    separately, each over all its gate pre-activations) applied to PyTorch's GRU.

    Each layer and direction runs, with ``LN(v) = (1 + w) * (v - mean(v)) / sqrt(var(v) + eps)
    + beta`` over the feature axis::

        [x_r, x_z, x_n] = LN_ih(x_t @ W_ih.T)                  # (B, 3H)
        [s_r, s_z, s_n] = LN_hh(h_{t-1} @ W_hh.T)              # (B, 3H)
        r = sigmoid(x_r + s_r) ;  z = sigmoid(x_z + s_z) ;  n = tanh(x_n + r * s_n)
        h_t = (1 - z) * n + z * h_{t-1}

    The shifts are the gates' biases (the n block of ``beta_hh`` sits inside ``r * (.)``, as
    PyTorch's ``b_hn``); the gains are stored as offsets from 1 (``weight_ln_*`` = gain - 1).
    ``bias=False`` leaves out the shifts.

    Shapes (T time, B batch, I input, H hidden, D = 2 if bidirectional else 1, L layers):
    input ``(T, B, I)``, ``(B, T, I)`` with ``batch_first``, or ``(T, I)`` unbatched;
    ``h0``/``h_n`` ``(L*D, B, H)``; output ``(T, B, D*H)`` ('concat'). Parameters per layer l
    and direction: ``weight_ih_l{l}`` (3H, I_l), ``weight_hh_l{l}`` (3H, H),
    ``weight_ln_ih_l{l}``, ``bias_ln_ih_l{l}``, ``weight_ln_hh_l{l}``, ``bias_ln_hh_l{l}``
    (3H,); suffix ``_reverse`` for the reverse direction. ``eps`` (default 1e-5).

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> rnn = nn.LayerNormGRU(10, 20, bidirectional=True, rng=0)
        >>> out, h_n = rnn(np.ones((5, 3, 10), np.float32))
        >>> dx, dh0 = rnn.backward(np.ones_like(out))
        >>> out.shape, h_n.shape, dx.shape
        ((5, 3, 40), (2, 3, 20), (5, 3, 10))
    """

    mode = "LayerNormGRU"


class LayerNormGRUCell(_LayerNormCell):
    """One LayerNorm GRU step (the equations of :class:`LayerNormGRU`)::

        [x_r, x_z, x_n] = LN_ih(x @ W_ih.T) ;  [s_r, s_z, s_n] = LN_hh(h @ W_hh.T)
        h' = (1 - z) * tanh(x_n + r * s_n) + z * h

    Args: ``input_size`` I, ``hidden_size`` H, ``bias`` (the LN shifts), ``dtype``, ``eps``,
    ``rng``. Parameters: ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``weight_ln_ih``,
    ``bias_ln_ih``, ``weight_ln_hh``, ``bias_ln_hh`` (3H,). Call: ``h' = cell(x, h)``.
    Backward: ``dx, dh = cell.backward(dh')``.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> cell = nn.LayerNormGRUCell(10, 20, rng=0)
        >>> h1 = cell(np.ones((3, 10), np.float32))
        >>> dx, dh0 = cell.backward(np.ones_like(h1))
        >>> h1.shape, dx.shape
        ((3, 20), (3, 10))
    """

    mode = "LayerNormGRU"
