"""Files for the two other mappings: one label per step (``load_tagged``) and pairs of strings
(``load_pairs``).

``load_tagged`` reads

- a **long CSV**: one row per step, a label column (``target``, else the column named ``tag``,
  ``label``, ``target``, ``class`` or ``y``), an id column (``id_column``, else one named ``id``,
  ``series_id``, ``sequence_id``, ``case_id`` or ``sample_id``; none: the whole file is one
  sequence), an optional time column (``time_column``, else ``time``, ``t``, ``step`` or
  ``timestamp``) and the channels in the other columns;
- an **.npz**: ``X`` ``(N, T, C)`` or ``(N, T)``, ``y`` ``(N, T)`` (ints or strings), optional
  ``lengths`` ``(N,)`` (``allow_pickle=False``).

``load_pairs`` reads a CSV or TSV of ``source, target`` strings: the columns named ``source``
and ``target`` (or ``input``/``output``, ``src``/``tgt``; or named by the arguments) when the
first row names them, else the first two columns of a file without a header. Cells are stripped
of surrounding spaces and must not be empty.
"""

from __future__ import annotations

import os

import numpy as np

from rnnkit.datasets._files import check_file, file_error
from rnnkit.datasets._labels import sorted_labels
from rnnkit.datasets._table import read_table
from rnnkit.datasets.date_pairs import TextPairs
from rnnkit.datasets.sequence_data import SequenceData
from rnnkit.datasets.sequence_files import find_column, long_sequences, npz_sequences

__all__ = ["load_tagged", "load_pairs"]

_TAG_NAMES = ("tag", "label", "target", "class", "y")
_ID_NAMES = ("id", "series_id", "sequence_id", "case_id", "sample_id")
_TIME_NAMES = ("time", "t", "step", "timestamp")
_PAIR_NAMES = (("source", "target"), ("input", "output"), ("src", "tgt"))


def _tagged_npz(path: str) -> SequenceData:
    arrays, seqs, _ = npz_sequences(path)
    y = arrays.get("y")
    N, T = len(seqs), arrays["X"].shape[1]
    if y is None or y.shape != (N, T) or y.dtype.kind not in "biuU":
        got = "no y" if y is None else f"{y.dtype} {y.shape}"
        raise file_error(path, None, f"y must be ({N}, {T}) integer or string tags, one per step of X, got {got}")
    tags = [y[i, : len(x)].copy() for i, x in enumerate(seqs)]
    classes = sorted_labels(np.concatenate(tags).tolist())
    name = os.path.splitext(os.path.basename(path))[0]
    return SequenceData(X=seqs, y=tags, task="tagging", class_labels=classes, name=name, path=path,
                        header={"arrays": sorted(arrays)})


def load_tagged(path, target=None, *, id_column=None, time_column=None) -> SequenceData:
    """Sequences with one label per step (rules in the module docstring).

    Returns:
        ``SequenceData`` with ``task='tagging'``, ``y`` a list of ``(T_i,)`` label arrays (str
        for CSV), ``class_labels`` the sorted distinct tags; ``label_ids()`` and
        ``padded_label_ids()`` give the integer tags.

    Raises:
        FileFormatError naming the file and the line: no label column, an empty label, ragged
        rows, non-numeric channels, a time given twice within a sequence.

    Example::

        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), 'frames.csv')
        >>> _ = open(p, 'w').write('id,x,tag\\n1,0.5,a\\n1,0.7,b\\n2,0.1,a\\n')
        >>> d = load_tagged(p)
        >>> d.lengths.tolist(), [t.tolist() for t in d.y], d.padded_label_ids().tolist()
        ([2, 1], [['a', 'b'], ['a']], [[0, 1], [0, -100]])
    """
    p = check_file(path)
    if os.path.splitext(p)[1].lower() == ".npz":
        if target is not None or id_column is not None or time_column is not None:
            raise ValueError("target, id_column and time_column are for CSV files; an .npz holds X, y, lengths")
        return _tagged_npz(p)
    t = read_table(p, header=True)
    label_j = find_column(t, target, _TAG_NAMES, "target")
    if label_j is None:
        raise t.error(None, f"no tag column: name one with target=, or call a column one of {list(_TAG_NAMES)}")
    id_j = find_column(t, id_column, _ID_NAMES, "id_column")
    time_j = find_column(t, time_column, _TIME_NAMES, "time_column")
    X, rows, channels = long_sequences(t, id_j, (label_j,), time_j)
    tags = []
    for seq_rows in rows:
        for i in seq_rows:
            if not t.rows[i][label_j]:
                raise t.error(i, f"the tag cell (column {t.names[label_j]!r}) is empty")
        tags.append(np.array([t.rows[i][label_j] for i in seq_rows], dtype=str))
    classes = sorted_labels(np.concatenate(tags).tolist())
    header = {"format": "long", "channels": channels, "id_column": None if id_j is None else t.names[id_j]}
    name = os.path.splitext(os.path.basename(p))[0]
    return SequenceData(X=X, y=tags, task="tagging", class_labels=classes, name=name, path=p, header=header)


def load_pairs(path, source: str | None = None, target: str | None = None) -> TextPairs:
    """Pairs of strings for seq2seq from a CSV/TSV file (rules in the module docstring).

    Returns:
        ``TextPairs`` (``sources``, ``targets``), ``info['lines']`` the file line of each pair.
    """
    p = check_file(path)
    t = read_table(p, header=False)
    first = [c.lower() for c in t.rows[0]]
    names = (source, target) if source is not None or target is not None else None
    if names is None:
        names = next(((s, g) for s, g in _PAIR_NAMES if s in first and g in first), None)
    if names is not None:
        if None in names:
            raise ValueError(f"pass both source= and target= column names, got source={source!r} target={target!r}")
        for n in names:
            if n.lower() not in first:
                raise t.error(0, f"no column {n!r} in the header {t.rows[0]}")
        js, jt = first.index(names[0].lower()), first.index(names[1].lower())
        body, lines = t.rows[1:], t.lines[1:]
    else:
        if len(t.names) < 2:
            raise t.error(0, "expected two columns (source, target), found one")
        js, jt, body, lines = 0, 1, t.rows, t.lines
    if not body:
        raise t.error(0, "a header but no pairs")
    sources, targets = [], []
    for row, line in zip(body, lines):
        for j, role in ((js, "source"), (jt, "target")):
            if not row[j]:
                raise file_error(p, line, f"the {role} cell is empty")
        sources.append(row[js])
        targets.append(row[jt])
    desc = f"pairs from {os.path.basename(p)}: {len(sources)} (source, target) strings"
    return TextPairs(sources=sources, targets=targets, description=desc, info={"path": p, "lines": lines})
