"""Where :func:`~rnnkit.train.fit`'s batches come from: arrays of examples, or a stream of batches.

- ``ArrayData``: ``(X, Y[, lengths])`` with the examples on axis 0; each epoch is one pass in a
  new random order (``rnnkit.data.iterate_minibatches``), ``ceil(N / batch_size)`` batches.
- ``BatchStream``: batches made by the caller, fresh data every step if wanted. ``data`` is

  - a callable ``epoch -> iterable of batches`` (called once per epoch, epochs count from 1),
  - an iterator (a generator): one stream shared by all epochs, each taking the next batches,
  - any other iterable (a list of batches): iterated anew each epoch;

  and each epoch takes at most ``steps_per_epoch`` batches from it (all of them when None),
  ending earlier when they run out. A batch is a tuple ``(x, y)`` or ``(x, y, lengths)`` or a
  dict with keys ``x``, ``y`` and optionally ``lengths``, examples on axis 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from rnnkit._checks import to_numpy
from rnnkit.data.batching import iterate_minibatches

__all__ = ["ArrayData", "BatchStream", "as_examples", "as_batch", "check_lengths", "is_arrays"]


def is_arrays(data) -> bool:
    """True for ``(X, Y)`` / ``(X, Y, lengths)`` of arrays; False for a stream of batches."""
    return isinstance(data, (tuple, list)) and len(data) in (2, 3) and \
        not any(isinstance(a, (tuple, dict)) for a in data)


def check_lengths(L, N: int, T: int, name: str) -> np.ndarray:
    """``lengths``: ``N`` integers in ``[1, T]``; the first bad one is named."""
    L = np.asarray(to_numpy(L))
    if L.shape != (N,):
        raise ValueError(f"{name}: lengths must have shape ({N},) (one per example), got {L.shape}")
    if L.dtype == np.bool_ or not np.issubdtype(L.dtype, np.integer):
        if not (np.issubdtype(L.dtype, np.floating) and np.all(np.isfinite(L)) and np.all(L == np.round(L))):
            raise TypeError(f"{name}: lengths must be integers, got dtype {L.dtype}")
        L = L.astype(np.int64)
    bad = np.flatnonzero((L < 1) | (L > T))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}: lengths[{i}] is {L[i]}, but every sequence needs 1 to {T} real steps "
                         f"(T={T} is the padded length); {bad.size} length(s) out of range")
    return L


def as_examples(data, name: str):
    """``(X, Y, lengths or None)`` with one length along axis 0, lengths in ``[1, T]``."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise TypeError(f"{name} must be a tuple (X, Y) or (X, Y, lengths), got {type(data).__name__}")
    X, Y = np.asarray(to_numpy(data[0])), np.asarray(to_numpy(data[1]))
    if X.ndim < 2:
        raise ValueError(f"{name}: X must have examples on axis 0 and a time axis, got shape {X.shape}")
    N = X.shape[0]
    if N == 0:
        raise ValueError(f"{name}: X holds no examples")
    if Y.ndim == 0 or Y.shape[0] != N:
        raise ValueError(f"{name}: Y must have {N} examples on axis 0 (as X), got shape {Y.shape}")
    L = None if len(data) == 2 or data[2] is None else check_lengths(data[2], N, X.shape[1], name)
    return X, Y, L


def as_batch(batch, where: str) -> dict:
    """A batch of a stream as ``{"x", "y", "lengths"}``, checked like ``as_examples``."""
    if isinstance(batch, dict):
        if "x" not in batch or "y" not in batch:
            raise ValueError(f"{where}: a batch dict needs keys 'x' and 'y', got {sorted(batch)}")
        parts = (batch["x"], batch["y"], batch.get("lengths"))
    elif isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
        parts = tuple(batch) + (None,) * (3 - len(batch))
    else:
        raise TypeError(f"{where}: a batch must be a tuple (x, y) or (x, y, lengths) or a dict, "
                        f"got {type(batch).__name__}")
    x, y, L = as_examples(parts, where)
    return {"x": x, "y": y, "lengths": L}


class ArrayData:
    """Mini-batches of ``(X, Y[, L])``, reshuffled every epoch with the trainer's Generator."""

    def __init__(self, X, Y, L, batch_size: int, shuffle: bool):
        self.X, self.Y, self.L = X, Y, L
        self.batch_size, self.shuffle = batch_size, shuffle
        self.num_batches = -(-X.shape[0] // batch_size)

    def batches(self, rng=None) -> Iterator[dict]:
        for b in iterate_minibatches(self.X, self.Y, self.batch_size, shuffle=self.shuffle, rng=rng, lengths=self.L,
                                     batch_first=True, y_axis=0):
            yield {"x": b[0], "y": b[1], "lengths": b[2] if len(b) == 3 else None}


class BatchStream:
    """Batches from a callable, an iterator or an iterable (see the module docstring).

    ``check_first(batch)`` runs on the run's first batch before its step (a dry run of the
    model, the loss and the metrics), so that a mismatch is refused before anything changes.
    """

    def __init__(self, data, steps_per_epoch: int | None, name: str = "train_data",
                 check_first: Callable[[dict], None] | None = None):
        if isinstance(data, (str, bytes, dict, np.ndarray)) or not (callable(data) or isinstance(data, Iterable)):
            raise TypeError(f"{name} must be (X, Y[, lengths]) arrays, a callable epoch -> batches, or an iterable "
                            f"(a generator, a list) of batches, got {type(data).__name__}")
        self.data, self.name = data, name
        self.num_batches = steps_per_epoch
        self.kind = "callable" if callable(data) and not isinstance(data, Iterable) else \
            "iterator" if isinstance(data, Iterator) else "iterable"
        self.check_first = check_first

    def batches(self, epoch: int) -> Iterator[dict]:
        if self.kind == "callable":
            source = self.data(epoch)
            if isinstance(source, (str, bytes, dict)) or not isinstance(source, Iterable):
                raise TypeError(f"{self.name}({epoch}) must return an iterable of batches, got {type(source).__name__}")
        else:
            source = self.data
        it = itertools.islice(iter(source), self.num_batches)
        for b, batch in enumerate(it, start=1):
            batch = as_batch(batch, f"{self.name}, epoch {epoch}, batch {b}")
            if self.check_first is not None:
                check, self.check_first = self.check_first, None
                check(batch)
            yield batch
