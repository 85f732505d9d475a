"""``SequenceData``: labelled sequences read from a file (``.ts``, wide or long CSV, ``.npz``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnnkit._checks import check_bool
from rnnkit.data.padding import pad_sequences
from rnnkit.datasets._base import IGNORE_INDEX
from rnnkit.datasets._files import MAX_ELEMENTS

__all__ = ["SequenceData", "TASKS"]

TASKS = ("classification", "regression")
"""The tasks of one label per sequence; ``'tagging'`` (one label per step) is the third."""


@dataclass(frozen=True)
class SequenceData:
    """``N`` sequences of ``C`` channels and possibly different lengths, with their labels.

    Attributes:
        X: list of ``N`` float64 arrays ``(T_i, C)``, the sequences as the file gives them
            (missing values are NaN).
        y: ``(N,)`` labels as the file writes them (str for ``.ts`` and CSV class labels; the
            stored dtype for ``.npz``), or float64 regression targets; for ``'tagging'`` a list
            of ``N`` label arrays ``(T_i,)``, one label per step; None when unlabelled.
        task: ``'classification'``, ``'regression'``, ``'tagging'`` or None (no labels).
        class_labels: the class labels (the file's declared list, e.g. ``.ts`` ``@classLabel``,
            else the sorted distinct labels); None for regression and unlabelled data.
        name: the problem name (``.ts`` ``@problemName``, else the file name without suffix).
        path: the file read, or None.
        header: format facts: the ``.ts`` header keys (lower-case), the CSV columns, ...
        timestamps: for ``.ts`` files with ``@timeStamps true``: one ``(T_i,)`` array per
            sequence (datetime64 or float64), else None.

    Example::

        >>> import numpy as np
        >>> d = SequenceData(X=[np.zeros((3, 2)), np.ones((1, 2))], y=np.array(['a', 'b']),
        ...                  task='classification', class_labels=('a', 'b'), name='toy')
        >>> X, lengths = d.padded()
        >>> X.shape, lengths.tolist(), d.label_ids().tolist()
        ((2, 3, 2), [3, 1], [0, 1])
    """

    X: list
    y: np.ndarray | None
    task: str | None
    class_labels: tuple | None
    name: str
    path: str | None = None
    header: dict = field(default_factory=dict)
    timestamps: list | None = None

    def __len__(self) -> int:
        return len(self.X)

    @property
    def n(self) -> int:
        """Number of sequences ``N``."""
        return len(self.X)

    @property
    def n_channels(self) -> int:
        """``C``, the channels (dimensions) of every step."""
        return int(self.X[0].shape[1]) if self.X else 0

    @property
    def lengths(self) -> np.ndarray:
        """``(N,)`` int64, the length ``T_i`` of each sequence."""
        return np.array([x.shape[0] for x in self.X], dtype=np.int64)

    @property
    def equal_length(self) -> bool:
        """Whether all sequences have the same length."""
        lengths = self.lengths
        return bool(lengths.size == 0 or (lengths == lengths[0]).all())

    @property
    def has_missing(self) -> bool:
        """Whether any value is missing (NaN)."""
        return any(np.isnan(x).any() for x in self.X)

    def padded(self, batch_first: bool = True, padding_value: float = 0.0, dtype=np.float64):
        """``(X, lengths)``: the sequences padded to the longest, ``X`` ``(N, T, C)`` (or
        ``(T, N, C)`` with ``batch_first=False``), ``lengths`` ``(N,)`` int64. The padded steps
        hold ``padding_value``; missing values stay NaN. Refuses more than
        ``rnnkit.datasets._files.MAX_ELEMENTS`` values before allocating."""
        batch_first = check_bool("batch_first", batch_first)
        lengths = self.lengths
        total = int(lengths.max(initial=0)) * self.n * self.n_channels
        if total > MAX_ELEMENTS:
            raise ValueError(
                f"padded: {self.n} sequences x {int(lengths.max())} steps x {self.n_channels} channels = "
                f"{total} values, more than the limit of {MAX_ELEMENTS}; use the list X (or bucket by length)"
            )
        X, lengths = pad_sequences(self.X, batch_first=batch_first, padding_value=padding_value, dtype=dtype)
        return X, lengths

    def label_ids(self):
        """The position of each label in ``class_labels``: ``(N,)`` int64 (classification), or a
        list of ``(T_i,)`` int64 arrays (tagging)."""
        if self.task not in ("classification", "tagging"):
            raise ValueError(f"label_ids: the data's task is {self.task!r}, not 'classification' or 'tagging'")
        index = {label: i for i, label in enumerate(self.class_labels)}
        if self.task == "tagging":
            return [np.array([index[v] for v in tags.tolist()], dtype=np.int64) for tags in self.y]
        return np.array([index[label] for label in self.y.tolist()], dtype=np.int64)

    def padded_label_ids(self, batch_first: bool = True, padding_value: int = IGNORE_INDEX) -> np.ndarray:
        """Tagging: the per-step label ids padded like ``padded()``: ``(N, T)`` int64 (``(T, N)``
        with ``batch_first=False``), ``padding_value`` (PyTorch's ignore index) on padded steps."""
        if self.task != "tagging":
            raise ValueError(f"padded_label_ids: the data's task is {self.task!r}, not 'tagging'")
        ids, _ = pad_sequences(self.label_ids(), batch_first=batch_first, padding_value=padding_value, dtype=np.int64)
        return ids

    def summary(self) -> str:
        """One line: name, size, channels, lengths, task and classes."""
        lengths = self.lengths
        span = f"length {lengths[0]}" if self.equal_length else f"lengths {lengths.min()}-{lengths.max()}"
        if self.task == "classification":
            what = f"{len(self.class_labels)} classes"
        elif self.task == "tagging":
            what = f"{len(self.class_labels)} tags per step"
        elif self.task == "regression":
            what = "regression targets"
        else:
            what = "no labels"
        miss = ", missing values" if self.has_missing else ""
        return f"{self.name}: {self.n} sequences, {self.n_channels} channel(s), {span}, {what}{miss}"
