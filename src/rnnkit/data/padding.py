"""Padding variable-length sequences into one array, and masks from lengths.

A batch of ``B`` sequences of lengths ``L_b`` and trailing feature shape ``F`` becomes one
array padded to ``T = max_b L_b``::

    [(L_0, *F), (L_1, *F), ...]  --pad_sequences-->  padded (T, B, *F), lengths (B,)
                                  <--unpad_sequences--

This is the layout the recurrent layers take with ``lengths=``: steps ``t >= L_b`` of
sequence ``b`` are padding, the layer gives zeros there and ``h_n`` is the last real step.
``length_mask`` gives the boolean mask of real steps, e.g. to weight a per-step loss.
"""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit._checks import check_bool, check_int

__all__ = ["pad_sequences", "unpad_sequences", "length_mask"]


def _as_lengths_array(lengths) -> np.ndarray:
    """``lengths`` as a 1-D int64 array of non-negative integers."""
    a = np.asarray(lengths)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        if not (np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a))):
            raise TypeError(f"lengths must be integers, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"lengths must be 1-D (one length per sequence), got shape {a.shape}")
    a = a.astype(np.int64)
    if a.size and a.min() < 0:
        raise ValueError(f"lengths must be >= 0, got min {a.min()}")
    return a


def pad_sequences(
    sequences,
    batch_first: bool = False,
    padding_value=0,
    *,
    max_len: int | None = None,
    dtype=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Stack sequences of different lengths into one padded array.

    Args:
        sequences: non-empty list of arrays of shape ``(L_b, *F)`` (``F`` the same for all,
            possibly empty: 1-D token-id sequences give a ``(T, B)`` array).
        batch_first: return ``(B, T, *F)`` instead of ``(T, B, *F)``.
        padding_value: the value of the padded steps.
        max_len: pad to this length ``T`` (default: the longest sequence); must be at least
            the longest length.
        dtype: the result dtype (default: the common dtype of the sequences).

    Returns:
        ``padded`` of shape ``(T, B, *F)`` (or ``(B, T, *F)``) and ``lengths`` ``(B,)`` int64.
        Equals ``torch.nn.utils.rnn.pad_sequence`` for the same inputs.

    Example::

        padded, lengths = pad_sequences([np.ones((3, 2)), np.ones((1, 2))])  # (3, 2, 2), [3, 1]
    """
    batch_first = check_bool("batch_first", batch_first)
    if isinstance(sequences, np.ndarray) or not hasattr(sequences, "__len__"):
        raise TypeError(f"sequences must be a list of arrays, got {type(sequences).__name__}")
    if len(sequences) == 0:
        raise ValueError("sequences must contain at least one sequence, got an empty list")
    arrays = []
    for b, s in enumerate(sequences):
        if isinstance(s, (str, bytes)):
            raise TypeError(f"sequences[{b}] must be an array, got {type(s).__name__}")
        a = np.asarray(s)
        if a.dtype == object:
            raise TypeError(f"sequences[{b}] must be a numeric array, got dtype object")
        if a.ndim == 0:
            raise ValueError(f"sequences[{b}] must have a time axis (ndim >= 1), got a scalar")
        arrays.append(a)
    feat = arrays[0].shape[1:]
    for b, a in enumerate(arrays):
        if a.shape[1:] != feat:
            raise ValueError(
                f"sequences must share their trailing shape: sequences[0] has {feat}, sequences[{b}] has {a.shape[1:]}"
            )
    if not isinstance(padding_value, numbers.Number) or isinstance(padding_value, bool):
        raise TypeError(f"padding_value must be a number, got {type(padding_value).__name__} {padding_value!r}")
    lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)  # (B,)
    T = int(lengths.max())
    if max_len is not None:
        max_len = check_int("max_len", max_len, 0)
        if max_len < T:
            raise ValueError(f"max_len must be >= the longest sequence ({T}), got {max_len}")
        T = max_len
    out_dtype = np.result_type(*arrays) if dtype is None else np.dtype(dtype)
    B = len(arrays)
    padded = np.full((T, B) + feat, padding_value, dtype=out_dtype)  # (T, B, *F)
    for b, a in enumerate(arrays):
        padded[: a.shape[0], b] = a
    if batch_first:
        padded = np.ascontiguousarray(np.swapaxes(padded, 0, 1))  # (B, T, *F)
    return padded, lengths


def unpad_sequences(padded, lengths, batch_first: bool = False) -> list[np.ndarray]:
    """Inverse of ``pad_sequences``: the list of ``(L_b, *F)`` arrays (copies).

    Args:
        padded: ``(T, B, *F)`` (or ``(B, T, *F)`` with ``batch_first``).
        lengths: ``(B,)`` integers in ``[0, T]``.
    """
    batch_first = check_bool("batch_first", batch_first)
    padded = np.asarray(padded)
    if padded.ndim < 2:
        raise ValueError(f"padded must have a time and a batch axis (ndim >= 2), got shape {padded.shape}")
    if batch_first:
        padded = np.swapaxes(padded, 0, 1)  # (T, B, *F)
    T, B = padded.shape[:2]
    lengths = _as_lengths_array(lengths)
    if lengths.shape[0] != B:
        raise ValueError(f"lengths expected shape ({B},) (one per sequence), got {lengths.shape}")
    if lengths.size and lengths.max() > T:
        raise ValueError(f"lengths must be <= {T} (the padded length), got max {lengths.max()}")
    return [padded[: int(L), b].copy() for b, L in enumerate(lengths)]


def length_mask(lengths, max_len: int | None = None, batch_first: bool = False, dtype=bool) -> np.ndarray:
    """Mask of the real (non-padded) steps: ``mask[t, b] = t < lengths[b]``.

    Args:
        lengths: ``(B,)`` non-negative integers.
        max_len: ``T``, the padded length (default ``max(lengths)``); at least ``max(lengths)``.
        batch_first: return ``(B, T)`` instead of ``(T, B)``.
        dtype: ``bool`` (default) or a numeric dtype (1 on real steps, 0 on padding).

    Returns:
        ``(T, B)`` (or ``(B, T)``) array.
    """
    batch_first = check_bool("batch_first", batch_first)
    lengths = _as_lengths_array(lengths)
    T = int(lengths.max()) if lengths.size else 0
    if max_len is not None:
        max_len = check_int("max_len", max_len, 0)
        if max_len < T:
            raise ValueError(f"max_len must be >= max(lengths) ({T}), got {max_len}")
        T = max_len
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B)
    if batch_first:
        mask = np.ascontiguousarray(mask.T)  # (B, T)
    return mask.astype(dtype, copy=False)
