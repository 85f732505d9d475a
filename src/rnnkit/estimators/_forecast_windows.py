"""Training examples and forecast loops of the forecaster, on transformed series.

Times are indices of the original series (``0 .. T-1``); the model-space series ``w`` of a
transform of order ``d`` starts at time ``d``. An example with forecast origin ``t0`` (the
first predicted time) reads the ``L`` past steps ``t0-L .. t0-1`` and predicts ``K`` steps::

    x[j]     = [w(t0-L+j) (C) | past covariates(t0-L+j) | future covariates(t0-L+j)]   j < L
    x[L+k]   = [0             | 0                        | future covariates(t0+k)]     k < K
    y        = w(t0 .. t0+K-1), flattened to (K * C,)

(the K horizon rows exist only with future covariates), so ``t0`` runs over ``d + L .. T - K``:
a series gives ``T - K - d - L + 1`` examples. A forecast of ``h`` steps from a history of
``T0`` steps runs blocks of ``K`` steps (``K = 1``: recursive), each from the history extended
by the previous blocks' forecasts.
"""

from __future__ import annotations

import numpy as np

from rnnkit._grad_mode import inference_mode

__all__ = ["make_examples", "split_examples", "Covariates", "forecast_paths"]


class Covariates:
    """Scaled covariates of one series over the times a forecast may read (original time index).

    ``past (T0, Cp)`` or None, ``future (T0 + h', Cf)`` or None.
    """

    def __init__(self, past: np.ndarray | None, future: np.ndarray | None):
        self.past = past
        self.future = future

    def rows(self, t_from: int, t_to: int, n_targets: int, dtype) -> np.ndarray:
        """``[0 (C) | past | future]`` rows for times ``t_from .. t_to - 1`` (targets left 0)."""
        parts = [np.zeros((t_to - t_from, n_targets), dtype)]
        if self.past is not None:
            parts.append(self.past[t_from:t_to].astype(dtype))
        if self.future is not None:
            parts.append(self.future[t_from:t_to].astype(dtype))
        return np.concatenate(parts, axis=1)


def make_examples(w: np.ndarray, d: int, cov: Covariates, L: int, K: int, center: bool = False, dtype=np.float32):
    """All examples of one series: ``X (N, L[+K], I)``, ``Y (N, K*C)``, their origins ``t0 (N,)``.

    ``center``: the targets' window and values are taken relative to the mean of the window.
    """
    T = w.shape[0] + d
    C = w.shape[1]
    origins = np.arange(d + L, T - K + 1)                               # (N,)
    N = origins.size
    rows = cov.rows(0, T, C, dtype)                                     # (T, I)
    rows[d:, :C] = w
    steps = L + (K if cov.future is not None else 0)
    idx = origins[:, None] - L + np.arange(steps)[None, :]              # (N, steps)
    X = rows[idx]                                                       # (N, steps, I)
    if cov.future is not None:
        X[:, L:, :rows.shape[1] - cov.future.shape[1]] = 0.0            # horizon rows: future covariates only
    widx = origins[:, None] - d + np.arange(K)[None, :]                 # (N, K)
    Y = w[widx]                                                         # (N, K, C)
    if center:
        mu = X[:, :L, :C].mean(axis=1, keepdims=True)                   # (N, 1, C)
        X[:, :L, :C] -= mu
        Y = Y - mu
    return X, Y.reshape(N, K * C).astype(dtype), origins


def forecast_paths(net, transform, z_hist: np.ndarray, cov: Covariates, h: int, L: int, K: int,
                   noise=None, center: bool = False) -> np.ndarray:
    """Forecast ``h`` steps after the level history ``z_hist (B, T0, C)``: the levels ``(B, h, C)``.

    ``noise(block) -> (B, K, C)`` (optional) is added to each block's network output in model
    space: the simulated paths of the prediction intervals.
    """
    B, T0, C = z_hist.shape
    d = transform.order
    n_blocks = -(-h // K)
    z = np.empty((B, T0 + n_blocks * K, C))
    z[:, :T0] = z_hist
    dtype = net.dtype
    with inference_mode(net):
        for b in range(n_blocks):
            t0 = T0 + b * K
            w = (transform.difference(z[:, t0 - L - d:t0]) - transform.mean) / transform.std   # (B, L, C)
            steps = L + (K if cov.future is not None else 0)
            rows = cov.rows(t0 - L, t0 - L + steps, C, dtype)                                 # (steps, I)
            x = np.repeat(rows[None], B, axis=0)                                              # (B, steps, I)
            mu = w.mean(axis=1, keepdims=True) if center else 0.0                             # (B, 1, C)
            x[:, :L, :C] = w - mu
            out = net(x).reshape(B, K, C).astype(np.float64) + mu                             # (B, K, C)
            if noise is not None:
                out = out + noise(b)
            for k in range(K):
                transform.extend_level(z, t0 + k, out[:, k])
    return z[:, T0:T0 + h]


def split_examples(per_series: list, validation_fraction: float):
    """Pool the examples ``(X, Y, origins)`` of every series; the last ``round(fraction * N_i)``
    (at least 1 when the fraction is > 0 and the series has 2 or more) of each series in time
    are the validation set. Returns ``(X_train, Y_train, X_val, Y_val, val_where)`` with
    ``val_where (n_val, 2)``: the series index and origin of each validation example."""
    parts = ([], [], [], [], [])
    for i, (X, Y, origins) in enumerate(per_series):
        N = X.shape[0]
        n_val = 0
        if validation_fraction > 0 and N > 1:
            n_val = min(N - 1, max(1, int(round(validation_fraction * N))))
        where = np.stack([np.full(n_val, i), origins[N - n_val:]], axis=1)
        for dst, a in zip(parts, (X[:N - n_val], Y[:N - n_val], X[N - n_val:], Y[N - n_val:], where)):
            dst.append(a)
    return tuple(np.concatenate(p) for p in parts)
