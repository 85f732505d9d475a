"""Sequence-to-sequence tasks with different input and output lengths: reverse, sort.

Tokens are shared by source and target::

    PAD = 0, SOS = 1 (start of output), EOS = 2 (end of output), symbol s -> id s + 3

For a source ``a_1 .. a_L`` (``L`` varies per sequence) the arrays are::

    X       = a_1 .. a_L, PAD ...                  (T_in = max_len, N)   lengths = L
    y       = f(a)_1 .. f(a)_L, EOS, -100 ...      (T_in + 1, N)         y_lengths = L + 1
    y_input = SOS, f(a)_1 .. f(a)_L, PAD ...       (T_in + 1, N)         (teacher forcing)

An encoder reads ``X`` (with ``lengths``), a decoder starts from the encoder state, reads
``y_input`` and is trained to emit ``y`` (padded targets are ``-100``: ignored by the loss).
At test time the decoder feeds back its own outputs from ``SOS`` until ``EOS``.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_bool, check_int
from rnnkit.datasets._base import IGNORE_INDEX, SequenceDataset, resolve_rng, time_major_to_layout

__all__ = ["reverse_sequence", "sort_digits", "PAD", "SOS", "EOS", "OFFSET"]

PAD, SOS, EOS, OFFSET = 0, 1, 2, 3


def _seq2seq(gen, n, min_len, max_len, n_symbols, kind, batch_first, name, doc_rule):
    n = check_int("n", n, 1)
    min_len = check_int("min_len", min_len, 1)
    max_len = check_int("max_len", max_len, 1)
    if min_len > max_len:
        raise ValueError(f"min_len must be <= max_len={max_len}, got {min_len}")
    S = check_int("n_symbols", n_symbols, 2)
    batch_first = check_bool("batch_first", batch_first)
    T = max_len
    lengths = gen.integers(min_len, max_len + 1, size=n).astype(np.int64)  # (N,)
    sym = gen.integers(0, S, size=(T, n)).astype(np.int64)  # (T, N) symbols 0..S-1
    real = np.arange(T)[:, None] < lengths[None, :]  # (T, N)
    cols = np.arange(n)[None, :]  # (1, N)
    if kind == "reverse":
        src_t = np.clip(lengths[None, :] - 1 - np.arange(T)[:, None], 0, T - 1)  # (T, N) source step of output t
        out = sym[src_t, cols]  # (T, N)
    else:  # sort ascending; padded steps (set to S) sort to the end
        out = np.sort(np.where(real, sym, S), axis=0)  # (T, N)
    X = np.where(real, sym + OFFSET, PAD)  # (T, N)
    y = np.full((T + 1, n), IGNORE_INDEX, dtype=np.int64)  # (T+1, N)
    y[:T][real] = out[real] + OFFSET
    y[lengths, np.arange(n)] = EOS
    y_input = np.full((T + 1, n), PAD, dtype=np.int64)  # (T+1, N)
    y_input[0] = SOS
    y_input[1:][real] = out[real] + OFFSET
    desc = (
        f"{name}: seq2seq, lengths {min_len}..{max_len}, {S} symbols: {doc_rule}, then EOS. Chance per-token "
        f"accuracy {1 / S:.3f}; a good encoder-decoder gets per-token and whole-sequence accuracy near 1 "
        "on short lengths."
    )
    info = {
        "min_len": min_len, "max_len": max_len, "n_symbols": S, "pad": PAD, "sos": SOS, "eos": EOS,
        "offset": OFFSET, "vocab_size": S + OFFSET, "n_classes": S + OFFSET, "ignore_index": IGNORE_INDEX,
        "chance_token_accuracy": 1 / S,
    }
    return SequenceDataset(
        X=time_major_to_layout(X.astype(np.int64), batch_first), y=time_major_to_layout(y, batch_first),
        mapping="seq2seq", description=desc, lengths=lengths, y_lengths=lengths + 1,
        y_input=time_major_to_layout(y_input, batch_first), batch_first=batch_first, y_has_time=True, info=info,
    )


def reverse_sequence(
    n: int = 1000,
    min_len: int = 3,
    max_len: int = 10,
    n_symbols: int = 10,
    *,
    seed=None,
    rng=None,
    batch_first: bool = False,
) -> SequenceDataset:
    """Reverse a sequence of symbols (seq2seq, input and output of different lengths: output has EOS).

    ``y = a_L .. a_1, EOS``. The first output needs the last input, the last output the first
    input. Checked with PyTorch on the defaults (lengths 3..10, 10 symbols): an LSTM
    encoder-decoder (embedding 32, H = 128, 3000 Adam steps of 128 from 20000 examples,
    greedy decoding) reached token and whole-sequence accuracy 1.0 on held-out data; longer
    sequences stretch the fixed-size state.
    Token ids and the array layout are in the module doc.

    Returns:
        ``X`` ``(max_len, n)``, ``y`` and ``y_input`` ``(max_len + 1, n)`` int64,
        ``lengths`` and ``y_lengths`` ``(n,)``.
    """
    gen = resolve_rng(seed, rng)
    return _seq2seq(gen, n, min_len, max_len, n_symbols, "reverse", batch_first, "reverse_sequence",
                    "output the input reversed")


def sort_digits(
    n: int = 1000,
    min_len: int = 3,
    max_len: int = 10,
    *,
    n_symbols: int = 10,
    seed=None,
    rng=None,
    batch_first: bool = False,
) -> SequenceDataset:
    """Sort a sequence of digits ascending (seq2seq, output has EOS).

    Digits ``0 .. n_symbols - 1`` (id = digit + 3); ``y = sorted(a), EOS``. The model must
    count how many of each digit it has seen and write them out in order, a different use of
    memory than reversing. The same check as ``reverse_sequence`` (LSTM encoder-decoder,
    H = 128, defaults) reached token and whole-sequence accuracy 1.0.

    Returns:
        as ``reverse_sequence``.
    """
    gen = resolve_rng(seed, rng)
    return _seq2seq(gen, n, min_len, max_len, n_symbols, "sort", batch_first, "sort_digits",
                    "output the digits sorted ascending")
