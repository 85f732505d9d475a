"""The recurrent layers: :class:`RNN`, :class:`LSTM`, :class:`GRU` (PyTorch's API)."""

from __future__ import annotations

from rnnkit.nn.rnn_base import RNNBase

__all__ = ["RNN", "LSTM", "GRU"]


def _check_device(device) -> None:
    if device not in (None, "cpu") and str(device) != "cpu":
        raise ValueError(f"device must be None or 'cpu' (rnnkit runs on the CPU), got {device!r}")


def _variational_args(recurrent_dropout, input_dropout, share_directions) -> dict:
    """The options beyond PyTorch's every layer here takes (see :class:`RNNBase`)."""
    return {"recurrent_dropout": recurrent_dropout, "input_dropout": input_dropout,
            "share_directions": share_directions}


class RNN(RNNBase):
    """Elman RNN, stacked and optionally bidirectional.

    Each layer and direction runs, for t = 0 .. T-1 (T-1 .. 0 in the reverse direction)::

        h_t = f(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)     f: tanh (default), relu or sigmoid

    Shapes (T time, B batch, I input, H hidden, D = 2 if bidirectional else 1, L layers):
    input ``(T, B, I)``, ``(B, T, I)`` with ``batch_first``, or ``(T, I)`` unbatched;
    ``h0``/``h_n`` ``(L*D, B, H)``; output ``(T, B, D*H)`` (``merge_mode`` 'concat').
    Parameters per layer l and direction: ``weight_ih_l{l}`` (H, I_l), ``weight_hh_l{l}`` (H, H),
    ``bias_ih_l{l}``, ``bias_hh_l{l}`` (H,), with the suffix ``_reverse`` for the reverse direction.
    ``lengths=`` (B,) runs a variable-length batch: padded steps give zeros, ``h_n`` is each
    sequence's last real step. Beyond PyTorch (here and in LSTM, GRU): ``recurrent_dropout``
    and ``input_dropout`` (variational: one mask per sequence at every step) and
    ``share_directions`` (one set of weights for both directions); see :class:`RNNBase`.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> rnn = nn.RNN(10, 20, num_layers=2, rng=0)
        >>> out, h_n = rnn(np.ones((5, 3, 10), np.float32))
        >>> dx, dh0 = rnn.backward(np.ones_like(out))
        >>> out.shape, h_n.shape, dx.shape
        ((5, 3, 20), (2, 3, 20), (5, 3, 10))
    """

    mode = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None,
                 *, proj_size=0, merge_mode="concat", rng=None, recurrent_dropout=0.0, input_dropout=0.0,
                 share_directions=False):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, merge_mode=merge_mode,
                         nonlinearity=nonlinearity, rng=rng, **_variational_args(
                             recurrent_dropout, input_dropout, share_directions))


class LSTM(RNNBase):
    """Long short-term memory, stacked, optionally bidirectional and projected.

    Each layer and direction runs, per step (PyTorch's gate order i, f, g, o)::

        [a_i, a_f, a_g, a_o] = x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh      # (B, 4H)
        i_t, f_t, o_t = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o) ;  g_t = tanh(a_g)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)           (then h_t @ W_hr.T, (B, P), when proj_size = P > 0)

    Shapes (P = proj_size or H): input ``(T, B, I)`` (``(B, T, I)`` with ``batch_first``, or
    ``(T, I)``); ``h0``/``h_n`` ``(L*D, B, P)``, ``c0``/``c_n`` ``(L*D, B, H)``; output
    ``(T, B, D*P)``. Parameters: ``weight_ih_l{l}`` (4H, I_l), ``weight_hh_l{l}`` (4H, P),
    ``bias_ih_l{l}``, ``bias_hh_l{l}`` (4H,), ``weight_hr_l{l}`` (P, H) with a projection.

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> lstm = nn.LSTM(10, 20, num_layers=2, rng=0)
        >>> out, (h_n, c_n) = lstm(np.ones((5, 3, 10), np.float32))
        >>> dx, (dh0, dc0) = lstm.backward(np.ones_like(out))
        >>> out.shape, h_n.shape, c_n.shape, dx.shape
        ((5, 3, 20), (2, 3, 20), (2, 3, 20), (5, 3, 10))
    """

    mode = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None,
                 *, merge_mode="concat", rng=None, recurrent_dropout=0.0, input_dropout=0.0,
                 share_directions=False):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, merge_mode=merge_mode, rng=rng,
                         **_variational_args(recurrent_dropout, input_dropout, share_directions))


class GRU(RNNBase):
    """Gated recurrent unit, stacked and optionally bidirectional.

    Each layer and direction runs, per step (PyTorch's gate order r, z, n)::

        [x_r, x_z, x_n] = x_t @ W_ih.T + b_ih ;  [s_r, s_z, s_n] = h_{t-1} @ W_hh.T + b_hh
        r_t = sigmoid(x_r + s_r) ;  z_t = sigmoid(x_z + s_z)
        n_t = tanh(x_n + r_t * s_n)
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    With ``reset_after=False`` the candidate is Cho et al.'s
    ``n_t = tanh(x_n + (r_t * h_{t-1}) @ W_hn.T + b_hn)``. Three gate blocks against the LSTM's
    four: a quarter fewer parameters. Shapes: input ``(T, B, I)`` (``(B, T, I)`` with
    ``batch_first``, or ``(T, I)``); ``h0``/``h_n`` ``(L*D, B, H)``; output ``(T, B, D*H)``.
    Parameters: ``weight_ih_l{l}`` (3H, I_l), ``weight_hh_l{l}`` (3H, H), ``bias_ih_l{l}``,
    ``bias_hh_l{l}`` (3H,).

    Example::

        >>> import numpy as np
        >>> from rnnkit import nn
        >>> gru = nn.GRU(10, 20, bidirectional=True, rng=0)
        >>> out, h_n = gru(np.ones((5, 3, 10), np.float32), lengths=np.array([5, 3, 2]))
        >>> dx, dh0 = gru.backward(np.ones_like(out))
        >>> out.shape, h_n.shape, bool(out[3:, 2].any())
        ((5, 3, 40), (2, 3, 20), False)
    """

    mode = "GRU"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None,
                 *, proj_size=0, merge_mode="concat", reset_after=True, rng=None, recurrent_dropout=0.0,
                 input_dropout=0.0, share_directions=False):
        _check_device(device)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, dtype=dtype, merge_mode=merge_mode,
                         reset_after=reset_after, rng=rng, **_variational_args(
                             recurrent_dropout, input_dropout, share_directions))
