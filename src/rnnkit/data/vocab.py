"""Characters to integer ids and back, and a long id stream cut for truncated BPTT.

``CharVocab`` maps each character of a text to an id (sorted characters, so the same text
always gives the same ids). Characters it has not seen either raise ``ValueError`` (the
default, nothing silent) or map to an unknown token when the vocabulary has one (id 0).

For a character-level language model (char-rnn) a text becomes one long id stream, cut into
``B`` parallel streams and then into windows of ``k`` steps::

    ids (S,) --batchify--> data (N, B)   with N = S // B, column b = ids[b*N : (b+1)*N]
    data --tbptt_windows(k)--> (x (k, B), y (k, B)) with y[t] = x[t + 1] (the next character)

Consecutive windows continue the same columns, so the hidden state is carried from one
window to the next (detached) and gradients flow back at most ``k`` steps.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import numpy as np

from rnnkit._checks import check_int
from rnnkit.data.streams import split_streams, window_bounds

__all__ = ["CharVocab", "batchify", "tbptt_windows"]


class CharVocab:
    """A character vocabulary: ``encode(text) -> ids (S,) int64`` and ``decode(ids) -> text``.

    Args:
        chars: the characters (each a 1-character string, no repeats); ids follow this order.
        unk: ``None`` (default: unknown characters raise ``ValueError``) or a 1-character
            string used as the unknown token; it takes id 0 and unknown characters encode to it.

    Example::

        v = CharVocab.fit("hello")           # chars 'e', 'h', 'l', 'o'
        ids = v.encode("hell")               # array([1, 0, 2, 2])
        v.decode(ids) == "hell"
    """

    def __init__(self, chars, unk: str | None = None):
        if isinstance(chars, str):
            chars = list(chars)
        elif not isinstance(chars, (list, tuple)):
            raise TypeError(f"chars must be a string or a list of 1-character strings, got {type(chars).__name__}")
        chars = list(chars)
        for c in chars:
            if not isinstance(c, str) or len(c) != 1:
                raise TypeError(f"chars must be 1-character strings, got {c!r}")
        if len(set(chars)) != len(chars):
            dup = sorted(c for c, n in Counter(chars).items() if n > 1)
            raise ValueError(f"chars must not repeat, got duplicates {dup!r}")
        if unk is not None:
            if not isinstance(unk, str) or len(unk) != 1:
                raise TypeError(f"unk must be None or a 1-character string, got {unk!r}")
            if unk in chars:
                raise ValueError(f"unk {unk!r} must not also be one of chars")
            chars = [unk] + chars
        self.unk = unk
        self.itos: list[str] = chars
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(chars)}
        self._lut = None  # code point -> id table for fast encoding, built lazily

    @classmethod
    def fit(cls, text: str, unk: str | None = None, min_count: int = 1) -> CharVocab:
        """The vocabulary of ``text``: its characters seen at least ``min_count`` times, sorted.

        With ``min_count > 1`` rarer characters are left out, so an ``unk`` token is required.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        min_count = check_int("min_count", min_count, 1)
        if min_count > 1 and unk is None:
            raise ValueError(f"min_count={min_count} drops rare characters, so unk must be given, got unk=None")
        counts = Counter(text)
        chars = sorted(c for c, n in counts.items() if n >= min_count and c != unk)
        return cls(chars, unk=unk)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, c) -> bool:
        return c in self.stoi

    def __eq__(self, other) -> bool:
        return isinstance(other, CharVocab) and self.itos == other.itos and self.unk == other.unk

    def __repr__(self) -> str:
        return f"CharVocab(size={len(self)}, unk={self.unk!r})"

    @property
    def unk_id(self) -> int | None:
        """Id of the unknown token (0), or None when there is none."""
        return None if self.unk is None else 0

    def encode(self, text: str) -> np.ndarray:
        """``text`` as ids ``(S,)`` int64; unknown characters map to ``unk_id`` or raise ``ValueError``."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if self._lut is None:
            top = max((ord(c) for c in self.itos), default=0) + 1
            lut = np.full(top, -1, dtype=np.int64)
            for c, i in self.stoi.items():
                lut[ord(c)] = i
            self._lut = lut
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)  # (S,)
        inside = codes < self._lut.shape[0]
        ids = np.full(codes.shape, -1, dtype=np.int64)
        ids[inside] = self._lut[codes[inside]]
        unknown = ids < 0
        if unknown.any():
            if self.unk is None:
                bad = sorted({text[i] for i in np.flatnonzero(unknown)[:1000]})
                raise ValueError(
                    f"text has {int(unknown.sum())} characters not in the vocabulary, e.g. {bad[:10]!r}; "
                    "build the vocabulary with unk='...' to map them to an unknown token"
                )
            ids[unknown] = 0
        return ids

    def decode(self, ids) -> str:
        """The text of ``ids`` (any integer array-like in ``[0, len(self))``)."""
        a = np.asarray(ids)
        if a.size == 0:
            return ""
        if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"ids must be integers, got dtype {a.dtype}")
        a = a.reshape(-1)
        if a.min() < 0 or a.max() >= len(self):
            raise ValueError(f"ids must be in [0, {len(self)}) (the vocabulary size), got min {a.min()} max {a.max()}")
        return "".join(self.itos[i] for i in a.tolist())

    def to_dict(self) -> dict:
        """``{'chars': [...], 'unk': ...}`` (``chars`` without the unknown token)."""
        chars = self.itos[1:] if self.unk is not None else list(self.itos)
        return {"chars": chars, "unk": self.unk}

    @classmethod
    def from_dict(cls, d: dict) -> CharVocab:
        if not isinstance(d, dict) or "chars" not in d:
            raise ValueError(f"expected a dict with key 'chars' (and 'unk'), got {d!r:.80}")
        return cls(d["chars"], unk=d.get("unk"))

    def to_json(self) -> str:
        """A JSON string that ``CharVocab.from_json`` reads back to an equal vocabulary."""
        return json.dumps(self.to_dict(), ensure_ascii=True)

    @classmethod
    def from_json(cls, s: str) -> CharVocab:
        if not isinstance(s, str):
            raise TypeError(f"s must be a JSON string, got {type(s).__name__}")
        try:
            d = json.loads(s)
        except json.JSONDecodeError as err:
            raise ValueError(f"s is not valid JSON: {err}") from err
        return cls.from_dict(d)


def batchify(ids, batch_size: int) -> np.ndarray:
    """Cut one id stream into ``B = batch_size`` contiguous parallel streams.

    Args:
        ids: ``(S,)`` integer ids.
        batch_size: ``B >= 1``; needs ``S >= B``.

    Returns:
        ``(N, B)`` with ``N = S // B``; column ``b`` is ``ids[b*N : (b+1)*N]``. The last
        ``S - N*B`` ids are dropped.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    a = np.asarray(ids)
    if a.ndim != 1:
        raise ValueError(f"ids must be 1-D (one stream), got shape {a.shape}")
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"ids must be integers, got dtype {a.dtype}")
    return split_streams(a, batch_size, batch_first=False, name="ids")  # (N, B)


def tbptt_windows(stream, k: int, drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Windows of ``k`` steps over a batchified stream, with next-step targets.

    Args:
        stream: ``(N, B)`` (from ``batchify``) or ``(N,)``; ``N >= 2``.
        k: truncation length (steps per window), ``>= 1``.
        drop_last: skip the last window when it is shorter than ``k``.

    Yields:
        ``(x, y)``, both ``(k', B)`` (or ``(k',)``) with ``k' <= k``: ``x = stream[i : i+k']``,
        ``y = stream[i+1 : i+1+k']`` for ``i = 0, k, 2k, ...``; together the windows cover
        every step ``0 .. N-2`` of ``x`` once.
    """
    k = check_int("k", k, 1)
    a = np.asarray(stream)
    if a.ndim not in (1, 2):
        raise ValueError(f"stream must be (N,) or (N, B), got shape {a.shape}")
    if a.shape[0] < 2:
        raise ValueError(f"stream needs at least 2 steps (input and next-step target), got {a.shape[0]}")
    for i, stop in window_bounds(a.shape[0] - 1, k, drop_last):
        yield a[i:stop], a[i + 1 : stop + 1]
