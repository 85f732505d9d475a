"""Sequence labelling: one class per time step from a running property (many-to-many synchronous)."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_bool, check_choice, check_int
from rnnkit.datasets._base import IGNORE_INDEX, SequenceDataset, check_dtype, resolve_rng, time_major_to_layout

__all__ = ["sequence_labelling", "LABELLING_KINDS"]

LABELLING_KINDS = ("parity", "depth")


def _majority_per_step(y: np.ndarray) -> float:
    """Accuracy of the best content-blind rule: at each step t, the most frequent label at t."""
    hits = total = 0
    for row in y:  # (N,) labels at one step
        row = row[row != IGNORE_INDEX]
        if row.size:
            hits += np.bincount(row).max()
            total += row.size
    return float(hits / total)


def sequence_labelling(
    n: int = 1000,
    T: int = 30,
    kind: str = "parity",
    *,
    max_depth: int = 5,
    min_length: int | None = None,
    seed=None,
    rng=None,
    batch_first: bool = False,
    dtype=np.float32,
) -> SequenceDataset:
    """Label every step with a running property of the input so far (many-to-many synchronous).

    ``kind='parity'``: bits ``x_t`` uniform in {0, 1}, one feature; the label is the running
    XOR ``y_t = x_1 xor ... xor x_t`` (2 classes). One bit of state that flips on every 1:
    chance is 0.5; checked with PyTorch at T = 30, a GRU with H = 16 reached test accuracy
    1.0 in 1500 Adam steps.

    ``kind='depth'``: a random string of brackets, features one-hot ``(open, close)``; each
    step opens (depth + 1) or closes (depth - 1) with probability 1/2, except that it opens
    at depth 0 and closes at ``max_depth``; the label is the nesting depth after the step,
    ``y_t = #open - #close`` in ``0 .. max_depth``. The model must count.
    ``info['majority_accuracy']`` (the most frequent label at each step, blind to the input)
    is the baseline, 0.47 at T = 30, max_depth 5; a GRU with H = 16 reached test accuracy 1.0
    in 1500 Adam steps (checked with PyTorch).

    Args:
        n: number of sequences; T: (maximum) length; kind: 'parity' or 'depth'.
        max_depth: deepest nesting for 'depth', ``>= 1``.
        min_length: if given, lengths are uniform in ``[min_length, T]``; padded inputs are 0
            and padded labels ``IGNORE_INDEX`` (-100).
        seed, rng: randomness; batch_first: layout; dtype: float32 or float64 for ``X``.

    Returns:
        ``X`` ``(T, n, F)`` floats (F = 1 for parity, 2 for depth), ``y`` ``(T, n)`` int64,
        ``lengths`` ``(n,)`` or None (``(n, T, ...)`` with ``batch_first``).
    """
    n = check_int("n", n, 1)
    T = check_int("T", T, 1)
    kind = check_choice("kind", kind, LABELLING_KINDS)
    max_depth = check_int("max_depth", max_depth, 1)
    batch_first = check_bool("batch_first", batch_first)
    dt = check_dtype(dtype)
    gen = resolve_rng(seed, rng)
    lengths = None
    if min_length is not None:
        min_length = check_int("min_length", min_length, 1)
        if min_length > T:
            raise ValueError(f"min_length must be <= T={T}, got {min_length}")
        lengths = gen.integers(min_length, T + 1, size=n).astype(np.int64)  # (N,)

    if kind == "parity":
        bits = gen.integers(0, 2, size=(T, n)).astype(np.int64)  # (T, N)
        y = np.cumsum(bits, axis=0) % 2  # (T, N)
        X = bits[..., None].astype(dt)  # (T, N, 1)
        n_classes = 2
    else:
        coin = gen.random((T, n)) < 0.5  # (T, N) open when True (unless forced)
        opens = np.zeros((T, n), dtype=bool)  # (T, N)
        y = np.zeros((T, n), dtype=np.int64)  # (T, N)
        depth = np.zeros(n, dtype=np.int64)  # (N,)
        for t in range(T):
            o = np.where(depth == 0, True, np.where(depth == max_depth, False, coin[t]))  # (N,)
            depth = depth + np.where(o, 1, -1)
            opens[t] = o
            y[t] = depth
        X = np.stack([opens, ~opens], axis=-1).astype(dt)  # (T, N, 2)
        n_classes = max_depth + 1

    if lengths is not None:
        pad = np.arange(T)[:, None] >= lengths[None, :]  # (T, N)
        X[pad] = 0
        y = y.copy()
        y[pad] = IGNORE_INDEX
    majority = _majority_per_step(y)
    desc = (
        f"sequence_labelling[{kind}]: many-to-many synchronous, T={T}, label each step with the running "
        f"{'XOR of the bits' if kind == 'parity' else 'bracket depth'} ({n_classes} classes). "
        f"Step-wise majority accuracy {majority:.3f}; solved: accuracy ~1."
    )
    info = {
        "T": T, "kind": kind, "n_classes": n_classes, "n_features": X.shape[-1], "ignore_index": IGNORE_INDEX,
        "majority_accuracy": majority, "min_length": min_length,
    }
    if kind == "depth":
        info["max_depth"] = max_depth
    return SequenceDataset(
        X=time_major_to_layout(X, batch_first), y=time_major_to_layout(y, batch_first), mapping="many-to-many",
        description=desc, lengths=lengths, batch_first=batch_first, y_has_time=True, info=info,
    )
