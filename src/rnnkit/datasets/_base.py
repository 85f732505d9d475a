"""What every task returns, and the shared helpers for seeds and layouts.

A task is a function ``task(<sizes>, *, seed=None, rng=None, batch_first=False) ->
SequenceDataset`` (``stdlib_text`` returns a ``TextCorpus``). Layouts are time-major by
default: inputs ``X`` are ``(T, N, F)`` (float features) or ``(T, N)`` (integer token ids),
with ``batch_first=True`` ``(N, T, ...)``. Targets with a time axis follow the same layout;
per-sequence targets are ``(N,)`` or ``(N, F)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from rnnkit._checks import as_rng, check_float_range

__all__ = ["SequenceDataset", "TextCorpus", "MAPPINGS", "IGNORE_INDEX"]

MAPPINGS = ("many-to-one", "many-to-many", "seq2seq", "forecasting", "generation")

IGNORE_INDEX = -100
"""Label of padded steps in per-step class targets (PyTorch's ``CrossEntropyLoss`` default)."""


@dataclass(frozen=True)
class SequenceDataset:
    """Arrays of one task plus what they mean.

    Attributes:
        X: inputs, ``(T, N, F)`` floats or ``(T, N)`` int64 token ids (``(N, T, ...)`` when
            ``batch_first``).
        y: targets: ``(N,)`` class ids / ``(N, F)`` values per sequence, or ``(T', N)`` /
            ``(T', N, F)`` per step (``y_has_time``).
        mapping: one of ``MAPPINGS``.
        description: what the task is, its baseline and what a good model reaches.
        lengths: ``(N,)`` input lengths when sequences differ in length, else None.
        y_lengths: ``(N,)`` target lengths (seq2seq), else None.
        y_input: decoder input for teacher forcing (seq2seq: start token then ``y`` shifted
            right), same shape as ``y``; else None.
        batch_first: layout of ``X`` (and of ``y``, ``y_input`` when they have a time axis).
        y_has_time: whether ``y`` has a time axis.
        info: task facts: sizes, number of classes, token ids, baselines.
    """

    X: np.ndarray
    y: np.ndarray
    mapping: str
    description: str
    lengths: np.ndarray | None = None
    y_lengths: np.ndarray | None = None
    y_input: np.ndarray | None = None
    batch_first: bool = False
    y_has_time: bool = False
    info: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of sequences ``N``."""
        return int(self.X.shape[0 if self.batch_first else 1])

    def __len__(self) -> int:
        return self.n

    def _axes(self) -> dict[str, int]:
        xa = 0 if self.batch_first else 1
        ya = xa if self.y_has_time else 0
        return {"X": xa, "y": ya, "y_input": ya, "lengths": 0, "y_lengths": 0}

    def subset(self, idx) -> SequenceDataset:
        """The sequences ``idx`` (an int index array or a slice), same layout."""
        changes = {}
        for name, axis in self._axes().items():
            a = getattr(self, name)
            if a is not None:
                if isinstance(idx, slice):
                    sl = [slice(None)] * a.ndim
                    sl[axis] = idx
                    changes[name] = np.ascontiguousarray(a[tuple(sl)])
                else:
                    changes[name] = np.take(a, np.asarray(idx, dtype=np.int64), axis=axis)
        return replace(self, **changes)

    def split(self, train_fraction: float = 0.8) -> tuple[SequenceDataset, SequenceDataset]:
        """The first ``round(train_fraction * N)`` sequences and the rest (order kept: the
        examples are already independent draws, and forecasting windows must not be shuffled)."""
        train_fraction = check_float_range("train_fraction", train_fraction, 0.0, 1.0)
        k = int(round(train_fraction * self.n))
        return self.subset(slice(0, k)), self.subset(slice(k, self.n))


@dataclass(frozen=True)
class TextCorpus:
    """A text for character-level modelling (one-to-many generation, bits per character).

    Attributes:
        text: the characters.
        ids: ``(S,)`` int64, ``vocab.encode(text)``.
        vocab: the ``rnnkit.data.CharVocab`` of ``text``.
        description: where the text comes from and what a good model reaches.
        mapping: ``'generation'``.
        info: facts: files used, unigram bits per character (the memoryless baseline).
    """

    text: str
    ids: np.ndarray
    vocab: object
    description: str
    mapping: str = "generation"
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.text)


def resolve_rng(seed, rng) -> np.random.Generator:
    """One Generator from ``seed`` (int or None) or ``rng`` (Generator or int); not both."""
    if seed is not None and rng is not None:
        raise ValueError(f"pass seed or rng, not both (got seed={seed!r} and rng={rng!r})")
    if rng is not None:
        return as_rng(rng)
    if isinstance(seed, bool) or not (seed is None or isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__} {seed!r}")
    if seed is not None and seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(seed)


def time_major_to_layout(a: np.ndarray, batch_first: bool) -> np.ndarray:
    """``a`` built as ``(T, N, ...)``, returned as it is or as ``(N, T, ...)``."""
    if batch_first:
        return np.ascontiguousarray(np.swapaxes(a, 0, 1))
    return np.ascontiguousarray(a)


def check_dtype(dtype) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt
