"""The forecaster's network: a recurrent encoder over the past window, a linear head over the
horizon, future covariates fed to the head: :class:`ForecastNet`.

::

    x (B, W, I)                      W past steps: [targets C | past covariates | future covariates]
    x (B, W + K, I)  (n_future > 0)  and K horizon steps whose last n_future columns hold the
                                     future covariates over the horizon (the other columns unused)
      -> RNN/LSTM/GRU over the W past steps            h_n of the last layer (B, H)
      -> (Dropout)  -> concat [h_n | future covariates over the horizon (B, K * n_future)]
      -> Linear                                         y (B, K * C)   (step k, channel c at k*C + c)

``K`` is the number of steps one forward predicts (the horizon for a direct forecast, 1 for a
recursive one) and ``C`` the number of target channels.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, as_rng, check_choice, check_float_range, check_int
from rnnkit.nn.dropout import Dropout
from rnnkit.nn.linear import Linear
from rnnkit.nn.module import Module, _as_float_dtype
from rnnkit.nn.rnn import GRU, LSTM, RNN
from rnnkit.serialization import register

__all__ = ["ForecastNet", "ForecastEnsemble"]

_CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


class ForecastNet(Module):
    """Recurrent encoder + linear multi-step head (see the module docstring for the data flow).

    Args:
        input_size: ``I``, features per past step (targets, past and future covariates).
        hidden_size: ``H``.
        window: ``W``, past steps per example.
        n_steps: ``K``, steps predicted by one forward.
        n_targets: ``C``, target channels.
        n_future: future covariates per step (the last ``n_future`` of the ``I`` columns);
            0 when there are none (then ``x`` has ``W`` steps, else ``W + K``).
        cell: ``'lstm'``, ``'gru'`` or ``'rnn'``; num_layers, dropout: as the recurrent layers
            (dropout also before the head).
        dtype: float32 (default) or float64; rng: Generator or int seed (init and dropout).

    Example:

    >>> import numpy as np
    >>> net = ForecastNet(3, 16, window=12, n_steps=4, n_targets=1, n_future=2, rng=0)
    >>> y = net(np.zeros((5, 16, 3), np.float32))      # x (5, 12 + 4, 3)
    >>> y.shape, net.backward(np.ones_like(y)).shape
    ((5, 4), (5, 16, 3))
    """

    def __init__(self, input_size: int, hidden_size: int, *, window: int, n_steps: int = 1, n_targets: int = 1,
                 n_future: int = 0, cell: str = "lstm", num_layers: int = 1, dropout: float = 0.0,
                 dtype=None, rng=None):
        super().__init__()
        self.cell = check_choice("cell", cell, tuple(_CELLS))
        self.input_size = check_int("input_size", input_size, 1)
        self.hidden_size = check_int("hidden_size", hidden_size, 1)
        self.window = check_int("window", window, 1)
        self.n_steps = check_int("n_steps", n_steps, 1)
        self.n_targets = check_int("n_targets", n_targets, 1)
        self.n_future = check_int("n_future", n_future, 0)
        if self.n_targets + self.n_future > self.input_size:
            raise ValueError(f"input_size ({input_size}) must hold n_targets ({n_targets}) and n_future "
                             f"({n_future}) columns")
        self.dropout_p = check_float_range("dropout", dropout, 0.0, 1.0)
        self.dtype = _as_float_dtype(dtype)
        rng = as_rng(rng)
        self.rnn = _CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True,
                                dropout=dropout if num_layers > 1 else 0.0, dtype=self.dtype, rng=rng)
        if self.dropout_p > 0:
            self.drop = Dropout(self.dropout_p, rng=rng)
        K, C = self.n_steps, self.n_targets
        self.head = Linear(hidden_size + K * self.n_future, K * C, dtype=self.dtype, rng=rng)

    @property
    def input_steps(self) -> int:
        """Steps of one input example: ``W``, or ``W + K`` with future covariates."""
        return self.window + (self.n_steps if self.n_future else 0)

    def forward(self, x):
        """``x (B, W[+K], I)`` -> ``y (B, K * C)``."""
        x = as_float_array("x", x, self.dtype)
        W, K, Fu = self.window, self.n_steps, self.n_future
        if x.ndim != 3 or x.shape[1:] != (self.input_steps, self.input_size):
            raise ValueError(f"x expected shape (B, {self.input_steps}, {self.input_size}), got {x.shape}")
        B = x.shape[0]
        past = x[:, :W]                                              # (B, W, I)
        _, state = self.rnn(past)
        h = (state[0] if isinstance(state, tuple) else state)[-1]    # (B, H)
        if self.dropout_p > 0:
            h = self.drop(h)
        feat = h
        if Fu:
            fut = x[:, W:, self.input_size - Fu:].reshape(B, K * Fu)  # (B, K * Fu)
            feat = np.concatenate([h, fut], axis=1)                  # (B, H + K * Fu)
        y = self.head(feat)                                          # (B, K * C)
        if self.keeps_cache:
            self._push((x.shape, state[0].shape if isinstance(state, tuple) else state.shape))
        return y

    def backward(self, d_output):
        """``d_output (B, K * C)`` -> ``dx`` of the input's shape; adds into every parameter's grad."""
        x_shape, h_shape = self._peek()
        d = as_float_array("d_output", d_output, self.dtype)
        B = x_shape[0]
        W, K, C, Fu, H = self.window, self.n_steps, self.n_targets, self.n_future, self.hidden_size
        if d.shape != (B, K * C):
            raise ValueError(f"d_output expected shape {(B, K * C)}, got {d.shape}")
        self._pop()
        dx = np.zeros(x_shape, self.dtype)                           # (B, W[+K], I)
        d_feat = self.head.backward(d)                               # (B, H + K * Fu)
        if Fu:
            dx[:, W:, self.input_size - Fu:] = d_feat[:, H:].reshape(B, K, Fu)
        d_h = d_feat[:, :H]
        if self.dropout_p > 0:
            d_h = self.drop.backward(np.ascontiguousarray(d_h))
        dh_n = np.zeros(h_shape, self.dtype)                         # (L, B, H)
        dh_n[-1] = d_h
        d_state = (dh_n, None) if self.cell == "lstm" else dh_n
        d_past, _ = self.rnn.backward(np.zeros((B, W, H), self.dtype), d_state)
        dx[:, :W] += d_past
        return dx

    def extra_repr(self) -> str:
        return (f"cell={self.cell!r}, window={self.window}, n_steps={self.n_steps}, n_targets={self.n_targets}, "
                f"n_future={self.n_future}")


class ForecastEnsemble(Module):
    """The mean of ``n_members`` :class:`ForecastNet` of the same shape: ``y = (1/n) sum_i net_i(x)``.

    Members are ``member0``, ``member1``, ... (each trained on its own by the forecaster, from
    its own random initialisation); the arguments after ``n_members`` are ForecastNet's.
    Averaging independently trained networks lowers the variance that a single short series
    leaves in one network (R's ``nnetar`` averages 20).

    Example:

    >>> import numpy as np
    >>> ens = ForecastEnsemble(3, 1, 8, window=12, rng=0)
    >>> ens(np.zeros((2, 12, 1), np.float32)).shape
    (2, 1)
    """

    def __init__(self, n_members: int, input_size: int, hidden_size: int, *, window: int, n_steps: int = 1,
                 n_targets: int = 1, n_future: int = 0, cell: str = "lstm", num_layers: int = 1,
                 dropout: float = 0.0, dtype=None, rng=None):
        super().__init__()
        self.n_members = check_int("n_members", n_members, 1)
        rng = as_rng(rng)
        for i in range(self.n_members):
            setattr(self, f"member{i}", ForecastNet(
                input_size, hidden_size, window=window, n_steps=n_steps, n_targets=n_targets, n_future=n_future,
                cell=cell, num_layers=num_layers, dropout=dropout, dtype=dtype, rng=rng))
        self.dtype = self.member0.dtype

    @property
    def members(self) -> list[ForecastNet]:
        return [getattr(self, f"member{i}") for i in range(self.n_members)]

    def forward(self, x):
        """``x (B, W[+K], I)`` -> the members' mean ``(B, K * C)``."""
        out = None
        for net in self.members:
            y = net(x)
            out = y if out is None else out + y
        return out / self.dtype.type(self.n_members) if self.n_members > 1 else out

    def backward(self, d_output):
        """Each member receives ``d_output / n``; returns the summed ``dx``."""
        d = as_float_array("d_output", d_output, self.dtype) / self.dtype.type(self.n_members)
        dx = None
        for net in reversed(self.members):
            g = net.backward(d)
            dx = g if dx is None else dx + g
        return dx

    def extra_repr(self) -> str:
        return f"n_members={self.n_members}"


register(ForecastNet)
register(ForecastEnsemble)
