"""The recurrent layers: :class:`RNN`, :class:`LSTM`, :class:`GRU` (PyTorch's API)."""

from __future__ import annotations

from rnnkit.nn.rnn_base import RNNBase

__all__ = ["RNN", "LSTM", "GRU"]


def _check_device(device) -> None:
    if device not in (None, "cpu") and str(device) != "cpu":
        raise ValueError(f"device must be None or 'cpu' (rnnkit runs on the CPU), got {device!r}")


class RNN(RNNBase):
    r"""Elman RNN, stacked and optionally bidirectional.

    .. math::  h_t = f(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}),\quad
               f \in \{\tanh, \mathrm{relu}, \mathrm{sigmoid}\}

    Shapes (T time, B batch, I input, H hidden, D directions, L layers):
    input ``(T, B, I)``, ``(B, T, I)`` with ``batch_first``, or ``(T, I)``;
    ``h0``/``h_n`` ``(L*D, B, H)``; output ``(T, B, D*H)``.

    Example::

        rnn = nn.RNN(10, 20, num_layers=2)
        out, h_n = rnn(np.random.randn(5, 3, 10))       # out (5, 3, 20), h_n (2, 3, 20)
        dx, dh0 = rnn.backward(np.ones_like(out))
    """

    mode = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None,
                 *, proj_size=0, merge_mode="concat", rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, merge_mode=merge_mode,
                         nonlinearity=nonlinearity, rng=rng)


class LSTM(RNNBase):
    r"""Long short-term memory, stacked, optionally bidirectional and projected.

    .. math::
        i_t = \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) \\
        f_t = \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) \\
        g_t = \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) \\
        o_t = \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t,\quad h_t = o_t \odot \tanh(c_t)
        \ (\text{then } h_t \leftarrow W_{hr} h_t \text{ when proj\_size} > 0)

    Gate order in ``weight_ih``/``weight_hh`` rows: i, f, g, o. States: ``h`` is
    ``(L*D, B, P)`` with ``P = proj_size or H``, ``c`` is ``(L*D, B, H)``.

    Example::

        lstm = nn.LSTM(10, 20, num_layers=2)
        out, (h_n, c_n) = lstm(np.random.randn(5, 3, 10))   # out (5, 3, 20)
        dx, (dh0, dc0) = lstm.backward(np.ones_like(out))
    """

    mode = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None,
                 *, merge_mode="concat", rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, merge_mode=merge_mode, rng=rng)


class GRU(RNNBase):
    r"""Gated recurrent unit, stacked and optionally bidirectional.

    .. math::
        r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
        z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
        n_t = \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}

    With ``reset_after=False`` the candidate is Cho et al.'s
    :math:`n_t = \tanh(W_{in} x_t + b_{in} + W_{hn}(r_t \odot h_{t-1}) + b_{hn})`.
    Gate order in the weight rows: r, z, n. Three gate blocks against the LSTM's four:
    a quarter fewer parameters.

    Example::

        gru = nn.GRU(10, 20)
        out, h_n = gru(np.random.randn(5, 3, 10))       # out (5, 3, 20), h_n (1, 3, 20)
        dx, dh0 = gru.backward(np.ones_like(out))
    """

    mode = "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None,
                 *, proj_size=0, merge_mode="concat", reset_after=True, rng=None):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, merge_mode=merge_mode,
                         reset_after=reset_after, rng=rng)
