"""What the sequence estimators accept as ``X``, turned into one padded batch plus lengths.

Numeric sequences (``C`` channels per step), in any of these forms::

    [x_0 (T_0, C), x_1 (T_1, C), ...]    a list of arrays of different lengths (1-D: C = 1)
    X (N, T, C), lengths=(N,)           a padded array and the real length of each example
    X (N, T)                            univariate (C = 1), all of length T unless lengths=

become ``padded (N, T, C)`` float64 and ``lengths (N,)`` int64 (:func:`read_numeric`).
Token sequences become a list of token lists (:func:`read_tokens`)::

    ["some text", "more"]               each character is a token
    [["the", "cat"], ["a", "dog", "."]] lists of hashable tokens

A padded array without ``lengths=`` is read as follows (so that forgetting ``lengths`` is
never silently wrong):

- trailing steps that are NaN in every channel are padding (the convention of tslearn and of
  unequal-length ``.ts`` files loaded into one array): the example is shorter;
- an example that ends with steps that are 0 in every channel is ambiguous (zero padding or
  real zeros?) and raises ``ValueError``: pass ``lengths=`` (``np.full(N, T)`` when the zeros are
  data), a list of arrays, or NaN padding.

Steps beyond an example's length are never read, whatever they hold. NaN or inf inside the
real steps raise ``ValueError`` naming the first few (example, step, channel) positions.
"""

from __future__ import annotations

import numbers

import numpy as np

from rnnkit.data.padding import length_mask

__all__ = ["read_numeric", "read_tokens", "looks_like_tokens", "INPUT_TYPES"]

INPUT_TYPES = ("auto", "numeric", "tokens")


def _is_token(v) -> bool:
    return not isinstance(v, (numbers.Number, np.ndarray, list, tuple))


def looks_like_tokens(X) -> bool:
    """True when ``X`` is a list of strings or of token lists (strings and other non-numbers)."""
    if isinstance(X, np.ndarray):
        return X.dtype.kind in "US" or (X.dtype == object and X.ndim == 1 and len(X) > 0
                                        and isinstance(X[0], str))
    if not isinstance(X, (list, tuple)) or not X:
        return False
    first = X[0]
    if isinstance(first, str):
        return True
    if isinstance(first, (list, tuple)) and first:
        return _is_token(first[0])
    return False


def _nan_positions(padded: np.ndarray, lengths: np.ndarray, name: str) -> None:
    """Raise naming the first non-finite values inside the real steps."""
    bad = ~np.isfinite(padded) & length_mask(lengths, padded.shape[1], batch_first=True)[:, :, None]
    if bad.any():
        where = np.argwhere(bad)
        shown = ", ".join(f"(example {n}, step {t}, channel {c})" for n, t, c in where[:5].tolist())
        more = f" and {len(where) - 5} more" if len(where) > 5 else ""
        raise ValueError(f"{name} holds NaN or inf at {shown}{more}; clean or impute the data first")


def _as_numeric(a, name: str) -> np.ndarray:
    if hasattr(a, "detach") and hasattr(a, "numpy"):      # a torch tensor
        a = a.detach().cpu().numpy()
    try:
        a = np.asarray(a)
    except ValueError as err:        # a ragged nested list
        raise ValueError(f"{name} is ragged ({err}); give a list of arrays, one per example") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}"
                        + ("; for token sequences pass input_type='tokens'" if a.dtype.kind in "OUS" else ""))
    return a.astype(np.float64, copy=False)


def _check_lengths(lengths, N: int, T: int, name: str) -> np.ndarray:
    a = np.asarray(lengths)
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or (
            np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)))):
        raise TypeError(f"lengths must be integers, got dtype {a.dtype}")
    if a.shape != (N,):
        raise ValueError(f"lengths must have shape ({N},) (one per example of {name}), got {a.shape}")
    a = a.astype(np.int64)
    if N and (a.min() < 1 or a.max() > T):
        raise ValueError(f"lengths must be in [1, {T}] (the padded length of {name}), got min {a.min()} max {a.max()}")
    return a


def _trailing(mask: np.ndarray) -> np.ndarray:
    """How many True values each row of ``mask (N, T)`` ends with."""
    return np.cumprod(mask[:, ::-1], axis=1).sum(axis=1)


def _infer_lengths(padded: np.ndarray, name: str) -> np.ndarray:
    """Lengths of a padded array given without ``lengths=`` (see the module docstring)."""
    N, T, _ = padded.shape
    lens = T - _trailing(np.isnan(padded).all(axis=2))                       # (N,)
    if (lens == 0).any():
        raise ValueError(f"{name}[{int(np.flatnonzero(lens == 0)[0])}] has no real step: every step is NaN")
    zero_step = (padded == 0).all(axis=2)                                     # (N, T)
    ends_zero = np.flatnonzero(zero_step[np.arange(N), lens - 1])
    if ends_zero.size:
        n = int(ends_zero[0])
        k = int(_trailing(zero_step[n:n + 1, :lens[n]])[0])
        raise ValueError(
            f"{name}[{n}] ends with {k} step(s) that are 0 in every channel ({ends_zero.size} example(s) do): "
            f"zero padding or real zeros? Pass lengths= (np.full(N, T) if the zeros are data), a list of "
            f"arrays of their own lengths, or pad with NaN")
    return lens.astype(np.int64)


def read_numeric(X, lengths=None, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """``padded (N, T, C)`` float64 and ``lengths (N,)`` from any numeric form of ``X``.

    ``T`` is the longest length and steps beyond each length are 0, whatever ``X`` held
    there: every form of the same sequences gives the same array.
    """
    if isinstance(X, (list, tuple)) and not (len(X) and isinstance(X[0], numbers.Number)):
        if lengths is not None:
            raise ValueError("lengths= goes with a padded array; a list of sequences carries its own lengths")
        if not X:
            raise ValueError(f"{name} holds no examples")
        seqs = []
        for n, s in enumerate(X):
            a = _as_numeric(s, f"{name}[{n}]")
            if a.ndim == 1:
                a = a[:, None]
            if a.ndim != 2 or a.shape[0] == 0:
                raise ValueError(f"{name}[{n}] must be a (T, C) array (or 1-D (T,)) with T >= 1, got shape {a.shape}")
            if seqs and a.shape[1] != seqs[0].shape[1]:
                raise ValueError(f"every sequence must have the same channels: {name}[0] has {seqs[0].shape[1]}, "
                                 f"{name}[{n}] has {a.shape[1]}")
            seqs.append(a)
        lens = np.array([len(a) for a in seqs], dtype=np.int64)
        padded = np.zeros((len(seqs), int(lens.max()), seqs[0].shape[1]))        # (N, T, C)
        for n, a in enumerate(seqs):
            padded[n, :len(a)] = a
    else:
        padded = _as_numeric(X, name)
        if padded.ndim == 2:
            padded = padded[:, :, None]                                          # (N, T) -> (N, T, 1)
        if padded.ndim != 3:
            raise ValueError(f"{name} must be a list of (T_i, C) arrays, a padded (N, T, C) array or a "
                             f"univariate (N, T) array, got shape {padded.shape}")
        N, T, C = padded.shape
        if N == 0 or T == 0 or C == 0:
            raise ValueError(f"{name} must hold at least one example, step and channel, got shape {padded.shape}")
        if lengths is None:
            lens = _infer_lengths(padded, name)
        else:
            lens = _check_lengths(lengths, N, T, name)
        T = int(lens.max())
        padded = padded[:, :T]                    # as long as the longest example: as if unpadded
        pad = ~length_mask(lens, T, batch_first=True)                           # (N, T)
        if pad.any():
            padded = padded.copy()
            padded[pad] = 0.0
    _nan_positions(padded, lens, name)
    return padded, lens


def read_tokens(X, lengths=None, name: str = "X") -> list[list]:
    """``X`` as a list of token lists (a string is its characters)."""
    if lengths is not None:
        raise ValueError("lengths= goes with a padded numeric array, not with token sequences")
    if isinstance(X, np.ndarray):
        X = X.tolist()
    if not isinstance(X, (list, tuple)):
        raise TypeError(f"{name} must be a list of strings or of token lists, got {type(X).__name__}")
    if not X:
        raise ValueError(f"{name} holds no examples")
    out = []
    for n, s in enumerate(X):
        if isinstance(s, np.ndarray):
            s = s.tolist()
        if isinstance(s, str):
            toks = list(s)
        elif isinstance(s, (list, tuple)):
            toks = list(s)
        else:
            raise TypeError(f"{name}[{n}] must be a string or a list of tokens, got {type(s).__name__}")
        if not toks:
            raise ValueError(f"{name}[{n}] is empty: every sequence needs at least one token")
        for t, v in enumerate(toks):
            try:
                hash(v)
            except TypeError:
                raise TypeError(f"{name}[{n}][{t}] must be a hashable token, got {type(v).__name__}") from None
        out.append(toks)
    return out
