"""A long sequence cut into ``B`` contiguous parallel streams, and windows of ``k`` steps along them.

::

    a (S, *F) --split_streams--> (B, n, *F)  with n = S // B: stream b is a[b*n : (b+1)*n]
                                 (n, B, *F)  time-major (batch_first=False)
    window_bounds(n, k) -> (0, k), (k, 2k), ..., (.., n): the windows of truncated BPTT

This is what :func:`rnnkit.data.batchify` (character ids, time-major) and
:func:`rnnkit.train.fit_tbptt` (any features, batch-first) both use.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rnnkit._checks import check_bool, check_int

__all__ = ["split_streams", "window_bounds"]


def split_streams(a, batch_size: int, *, batch_first: bool = True, name: str = "sequence") -> np.ndarray:
    """Cut ``a`` (``S`` steps on axis 0) into ``B = batch_size`` contiguous streams.

    Args:
        a: ``(S, *F)`` array (ids, features, targets).
        batch_size: ``B >= 1``; needs ``S >= B``.
        batch_first: ``(B, n, *F)`` (default, a view of ``a``) or time-major ``(n, B, *F)`` (a copy).
        name: what ``a`` is called in the error message.

    Returns:
        the streams, ``n = S // B`` steps each; the last ``S - n*B`` steps of ``a`` are dropped.

    Example::

        split_streams(np.arange(7), 2)            # [[0, 1, 2], [3, 4, 5]]
    """
    batch_size = check_int("batch_size", batch_size, 1)
    batch_first = check_bool("batch_first", batch_first)
    a = np.asarray(a)
    if a.ndim == 0:
        raise ValueError(f"{name} must have a time axis (ndim >= 1), got a scalar")
    n = a.shape[0] // batch_size
    if n < 1:
        raise ValueError(f"{name} has {a.shape[0]} steps, fewer than batch_size={batch_size}")
    streams = a[: n * batch_size].reshape((batch_size, n) + a.shape[1:])   # (B, n, *F)
    return streams if batch_first else np.ascontiguousarray(np.swapaxes(streams, 0, 1))   # (n, B, *F)


def window_bounds(n: int, k: int, drop_last: bool = False) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive windows of ``k`` steps over ``n`` steps; the last may be
    shorter (or, with ``drop_last``, is left out when it is)."""
    k = check_int("k", k, 1)
    for start in range(0, n, k):
        stop = min(start + k, n)
        if drop_last and stop - start < k:
            return
        yield start, stop
