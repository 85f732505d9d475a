"""Many-to-one classification of bit sequences: parity and counting.

Both read a sequence of bits and give one class per sequence, so the model must keep a
summary of everything seen. Sequences may vary in length (``min_length``): then padded steps
are 0, ``lengths`` says where each sequence ends, and the layers' ``lengths=`` argument
returns the state at each sequence's last real step.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_bool, check_float_range, check_int
from rnnkit.datasets._base import SequenceDataset, check_dtype, resolve_rng, time_major_to_layout

__all__ = ["parity", "counting"]


def _random_bits(gen, n, T, min_length, p):
    """Bits ``(T, N)`` (0 after each sequence's end) and lengths ``(N,)`` or None."""
    bits = (gen.random((T, n)) < p).astype(np.int64)  # (T, N)
    if min_length is None:
        return bits, None
    min_length = check_int("min_length", min_length, 1)
    if min_length > T:
        raise ValueError(f"min_length must be <= T={T}, got {min_length}")
    lengths = gen.integers(min_length, T + 1, size=n).astype(np.int64)  # (N,)
    bits[np.arange(T)[:, None] >= lengths[None, :]] = 0
    return bits, lengths


def parity(
    n: int = 1000,
    T: int = 20,
    *,
    min_length: int | None = None,
    seed=None,
    rng=None,
    batch_first: bool = False,
    dtype=np.float32,
) -> SequenceDataset:
    """Parity (XOR) of a bit sequence: many-to-one binary classification.

    ``x_t`` uniform in {0, 1}; ``y = x_1 xor x_2 xor ... xor x_L`` (``L`` the sequence length).
    Every bit matters until the end, and no partial count helps, so chance (accuracy 0.5)
    is all a model gets until it learns the flip-flop, and the single label at the end gives
    little gradient to find it. Hard for gradient descent: checked with PyTorch (H = 32,
    2000 Adam steps, lr 1e-2), a GRU and a tanh RNN both stayed at chance even for T = 10,
    while the same GRU learns the per-step version (``sequence_labelling(kind='parity')``)
    to accuracy 1.0. Expect many more steps, or a curriculum from short to long T.

    Args:
        n: number of sequences.
        T: (maximum) sequence length.
        min_length: if given, lengths are uniform in ``[min_length, T]`` and padded with 0.
        seed, rng, batch_first, dtype: see the module doc.

    Returns:
        ``X`` ``(T, n, 1)`` bits as floats (``(n, T, 1)`` with ``batch_first``), ``y`` ``(n,)``
        int64 in {0, 1}, ``lengths`` ``(n,)`` or None.
    """
    n = check_int("n", n, 1)
    T = check_int("T", T, 1)
    batch_first = check_bool("batch_first", batch_first)
    dt = check_dtype(dtype)
    gen = resolve_rng(seed, rng)
    bits, lengths = _random_bits(gen, n, T, min_length, 0.5)
    y = (bits.sum(axis=0) % 2).astype(np.int64)  # (N,)
    desc = (
        f"parity: many-to-one classification, XOR of {T if lengths is None else f'{min_length}..{T}'} bits. "
        "Chance accuracy 0.5; solved: accuracy ~1."
    )
    info = {"T": T, "n_classes": 2, "chance_accuracy": 0.5, "min_length": min_length}
    return SequenceDataset(
        X=time_major_to_layout(bits[..., None].astype(dt), batch_first), y=y, mapping="many-to-one",
        description=desc, lengths=lengths, batch_first=batch_first, info=info,
    )


def counting(
    n: int = 1000,
    T: int = 20,
    *,
    p: float = 0.5,
    min_length: int | None = None,
    seed=None,
    rng=None,
    batch_first: bool = False,
    dtype=np.float32,
) -> SequenceDataset:
    """Count the ones in a bit sequence: many-to-one classification into ``T + 1`` classes.

    ``x_t ~ Bernoulli(p)``; ``y = sum_t x_t`` in ``0 .. T``. The model must keep an exact
    counter. Always answering the most frequent count gives ``info['majority_accuracy']``
    (about 0.18 for T = 20, p = 0.5). An LSTM suits it (its cell state is a natural counter:
    add through the input gate, keep through the forget gate). Checked with PyTorch at T = 20
    (H = 32, 2000 Adam steps): LSTM test accuracy 0.976, tanh RNN 0.808.

    Args:
        n: number of sequences.
        T: (maximum) sequence length; classes are ``0 .. T``.
        p: probability of a one.
        min_length: if given, lengths are uniform in ``[min_length, T]`` and padded with 0.
        seed, rng, batch_first, dtype: see the module doc.

    Returns:
        ``X`` ``(T, n, 1)`` floats, ``y`` ``(n,)`` int64, ``lengths`` ``(n,)`` or None.
    """
    n = check_int("n", n, 1)
    T = check_int("T", T, 1)
    p = check_float_range("p", p, 0.0, 1.0)
    batch_first = check_bool("batch_first", batch_first)
    dt = check_dtype(dtype)
    gen = resolve_rng(seed, rng)
    bits, lengths = _random_bits(gen, n, T, min_length, p)
    y = bits.sum(axis=0).astype(np.int64)  # (N,)
    majority = float(np.bincount(y, minlength=T + 1).max() / n)
    desc = (
        f"counting: many-to-one classification, count the ones among {T if lengths is None else f'{min_length}..{T}'} "
        f"bits (p={p:g}), {T + 1} classes. Majority-class accuracy {majority:.3f}; solved: accuracy ~1."
    )
    info = {"T": T, "n_classes": T + 1, "p": p, "majority_accuracy": majority, "min_length": min_length}
    return SequenceDataset(
        X=time_major_to_layout(bits[..., None].astype(dt), batch_first), y=y, mapping="many-to-one",
        description=desc, lengths=lengths, batch_first=batch_first, info=info,
    )
