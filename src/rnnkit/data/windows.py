"""Sliding windows over a time series: inputs and the values that follow them.

For a series ``s`` of shape ``(S, F)`` (``S`` steps, ``F`` features), window ``i`` starts at
``i * stride``::

    X[i] = s[i*stride           : i*stride + window]            # (window, F)
    y[i] = s[i*stride + window  : i*stride + window + horizon]  # (horizon, F)

    N = (S - window - horizon) // stride + 1

So a model sees ``window`` past steps and predicts the next ``horizon`` steps (forecasting).
Windows are in time order: split train/test by index (``X[:n]``, ``X[n:]``), never by a
random permutation, so no test value appears inside a training window.

The same windows feed a feed-forward baseline: ``X.reshape(N, window * F)`` is the input of an
MLP that sees the window as a flat vector, the comparison that shows what recurrence adds.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_bool, check_int

__all__ = ["make_windows"]


def make_windows(
    series,
    window: int,
    horizon: int = 1,
    stride: int = 1,
    *,
    batch_first: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into (input window, following values) pairs.

    Args:
        series: ``(S,)`` or ``(S, F)`` real array (a 1-D series has ``F = 1``).
        window: input steps per example, ``>= 1``.
        horizon: steps to predict after each window, ``>= 1``.
        stride: steps between consecutive window starts, ``>= 1``.
        batch_first: ``True`` (default) gives ``X (N, window, F)``; ``False`` gives the
            time-major ``X (window, N, F)`` the recurrent layers take by default.

    Returns:
        ``X`` ``(N, window, F)`` and ``y``: ``(N, F)`` when ``horizon == 1``, else
        ``(N, horizon, F)`` (``(horizon, N, F)`` when not ``batch_first``). Copies, same dtype
        as ``series`` (ints become float64).

    Example::

        X, y = make_windows(np.arange(10.0), window=3)  # X[0] = [[0], [1], [2]], y[0] = [3]
    """
    window = check_int("window", window, 1)
    horizon = check_int("horizon", horizon, 1)
    stride = check_int("stride", stride, 1)
    batch_first = check_bool("batch_first", batch_first)
    if isinstance(series, (str, bytes)) or series is None:
        raise TypeError(f"series must be a numeric array, got {type(series).__name__}")
    s = np.asarray(series)
    if s.dtype == np.bool_ or not (np.issubdtype(s.dtype, np.integer) or np.issubdtype(s.dtype, np.floating)):
        raise TypeError(f"series must be a real numeric array, got dtype {s.dtype}")
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    if s.ndim == 1:
        s = s[:, None]  # (S, 1)
    if s.ndim != 2:
        raise ValueError(f"series must be (S,) or (S, F), got shape {s.shape}")
    S = s.shape[0]
    if S < window + horizon:
        raise ValueError(
            f"series is too short: needs at least window + horizon = {window + horizon} steps, got {S}"
        )
    N = (S - window - horizon) // stride + 1
    starts = np.arange(N) * stride  # (N,)
    X = s[starts[:, None] + np.arange(window)[None, :]]  # (N, window, F)
    y = s[starts[:, None] + window + np.arange(horizon)[None, :]]  # (N, horizon, F)
    if horizon == 1:
        y = y[:, 0]  # (N, F)
    if not batch_first:
        X = np.ascontiguousarray(X.transpose(1, 0, 2))  # (window, N, F)
        if horizon > 1:
            y = np.ascontiguousarray(y.transpose(1, 0, 2))  # (horizon, N, F)
    return X, y
