"""Minibatches over a dataset of sequences, simple or bucketed by length.

Arrays are time-major by default: ``X`` is ``(T, N, *F)`` and the batch axis is 1; with
``batch_first=True`` ``X`` is ``(N, T, *F)``. Targets ``y`` may be per sequence (``(N,)``,
``(N, C)``) or per step (``(T, N)``, ``(T, N, C)``); their batch axis is found from the
shape, or given as ``y_axis`` when the shape is ambiguous (``T == N``).

``iterate_minibatches`` keeps the data order (or a random permutation): no sorting, so
batches mix short and long sequences. ``bucket_by_length`` groups sequences of similar
length so a padded batch wastes fewer steps; the batch order is shuffled.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from rnnkit._checks import as_rng, check_bool, check_int
from rnnkit.data.padding import _as_lengths_array

__all__ = ["iterate_minibatches", "bucket_by_length"]


def _batch_axis_of_y(y: np.ndarray, N: int, y_axis: int | None) -> int:
    if y_axis is not None:
        y_axis = check_int("y_axis", y_axis, 0)
        if y_axis >= y.ndim or y.shape[y_axis] != N:
            raise ValueError(f"y_axis={y_axis} must index an axis of y of size {N} (the batch), y has shape {y.shape}")
        return y_axis
    candidates = [ax for ax in range(min(2, y.ndim)) if y.shape[ax] == N]
    if not candidates:
        raise ValueError(f"y must have the batch size {N} on axis 0 or 1, got shape {y.shape}")
    if len(candidates) == 2:
        raise ValueError(f"y has shape {y.shape}: both axis 0 and axis 1 have the batch size {N}; pass y_axis=0 or 1")
    return candidates[0]


def bucket_by_length(
    lengths,
    batch_size: int,
    shuffle: bool = True,
    rng=None,
    drop_last: bool = False,
) -> list[np.ndarray]:
    """Group sequence indices into batches of similar length.

    Indices are sorted by length (ties broken randomly when ``shuffle``), cut into
    consecutive chunks of ``batch_size``, and the chunks are returned in random order when
    ``shuffle`` (ascending length otherwise). Every index appears once (unless
    ``drop_last`` drops the one short chunk).

    Args:
        lengths: ``(N,)`` non-negative integers.
        batch_size: sequences per batch, ``>= 1``.
        shuffle: randomize tie order and batch order.
        rng: ``numpy.random.Generator`` or int seed (used when ``shuffle``).
        drop_last: drop the last chunk when it is smaller than ``batch_size``.

    Returns:
        list of int64 index arrays, each of at most ``batch_size`` indices.
    """
    lengths = _as_lengths_array(lengths)
    batch_size = check_int("batch_size", batch_size, 1)
    shuffle = check_bool("shuffle", shuffle)
    drop_last = check_bool("drop_last", drop_last)
    N = lengths.shape[0]
    if shuffle:
        gen = as_rng(rng)
        tie = gen.permutation(N)
        order = tie[np.argsort(lengths[tie], kind="stable")]
    else:
        order = np.argsort(lengths, kind="stable")
    chunks = [order[i : i + batch_size] for i in range(0, N, batch_size)]
    if drop_last and chunks and len(chunks[-1]) < batch_size:
        chunks.pop()
    if shuffle:
        chunks = [chunks[i] for i in gen.permutation(len(chunks))]
    return [np.asarray(c, dtype=np.int64) for c in chunks]


def iterate_minibatches(
    X,
    y,
    batch_size: int,
    shuffle: bool = False,
    rng=None,
    lengths=None,
    *,
    batch_first: bool = False,
    y_axis: int | None = None,
    drop_last: bool = False,
    bucket: bool = False,
) -> Iterator[tuple]:
    """Yield ``(X_batch, y_batch)`` or, with ``lengths``, ``(X_batch, y_batch, lengths_batch)``.

    Args:
        X: ``(T, N, *F)`` (or ``(N, T, *F)`` with ``batch_first``).
        y: targets with the batch size ``N`` on axis 0 or 1 (see ``y_axis``).
        batch_size: sequences per batch, ``>= 1``; the last batch may be smaller.
        shuffle: visit the sequences in a random order (a new one each call).
        rng: ``numpy.random.Generator`` or int seed, used when ``shuffle`` or ``bucket``.
        lengths: optional ``(N,)`` sequence lengths, sliced along with the batch.
        batch_first: layout of ``X``.
        y_axis: batch axis of ``y`` when its shape does not tell (``T == N``).
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        bucket: group sequences of similar length (needs ``lengths``), see ``bucket_by_length``.

    Example::

        for xb, yb in iterate_minibatches(X, y, 32, shuffle=True, rng=0):  # xb (T, 32, F)
            ...
    """
    batch_first = check_bool("batch_first", batch_first)
    shuffle = check_bool("shuffle", shuffle)
    drop_last = check_bool("drop_last", drop_last)
    bucket = check_bool("bucket", bucket)
    batch_size = check_int("batch_size", batch_size, 1)
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"X must have a time and a batch axis (ndim >= 2), got shape {X.shape}")
    x_axis = 0 if batch_first else 1
    N = X.shape[x_axis]
    y = np.asarray(y)
    if y.ndim == 0:
        raise ValueError("y must have a batch axis, got a scalar")
    ya = _batch_axis_of_y(y, N, y_axis)
    lens = None
    if lengths is not None:
        lens = _as_lengths_array(lengths)
        if lens.shape[0] != N:
            raise ValueError(f"lengths expected shape ({N},) (one per sequence), got {lens.shape}")
    if bucket:
        if lens is None:
            raise ValueError("bucket=True needs lengths, got lengths=None")
        batches = bucket_by_length(lens, batch_size, shuffle=True, rng=rng, drop_last=drop_last)
    else:
        order = as_rng(rng).permutation(N) if shuffle else np.arange(N)
        batches = [order[i : i + batch_size] for i in range(0, N, batch_size)]
        if drop_last and batches and len(batches[-1]) < batch_size:
            batches.pop()
    for idx in batches:
        xb = np.take(X, idx, axis=x_axis)
        yb = np.take(y, idx, axis=ya)
        if lens is None:
            yield xb, yb
        else:
            yield xb, yb, lens[idx]
