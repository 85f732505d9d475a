"""``load_sequences``: one entry point for files of labelled sequences (classification or
regression), by suffix:

- ``.ts``: the UCR/UEA format, ``load_ts``.
- ``.csv`` / ``.tsv`` / ``.txt``, **wide**: one row per sequence, one label cell, the values in
  the other cells (one channel). The label column is ``target`` (a name, or a position from 0
  for files without a header), else the column named ``label``, ``target``, ``class`` or ``y``,
  else the first column (the UCR archive's convention). Trailing empty cells and trailing
  ``NaN`` cells are padding: the sequence ends before them (unequal lengths); empty or ``NaN``
  cells between values are missing values (NaN). When the label column is the last one, the
  label is the last non-empty cell of each row.
- ``.csv``, **long**: one row per time step, chosen when ``id_column`` is given or a column is
  named ``id``, ``series_id``, ``sequence_id``, ``case_id`` or ``sample_id``. The steps of
  each id form one sequence (in file order, or sorted by ``time_column`` / a column named
  ``time``, ``t``, ``step`` or ``timestamp``); the label column (found as above, or none: then
  unlabelled) must be constant within a sequence; every other column is a channel.
- ``.npz``: arrays ``X`` ``(N, T, C)`` or ``(N, T)``, optional ``y`` ``(N,)`` and ``lengths``
  ``(N,)``; read with ``allow_pickle=False``, array sizes checked before loading.

Labels: class labels as str, or float targets (see ``task``).
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from rnnkit._checks import check_choice
from rnnkit.datasets._files import MAX_ELEMENTS, check_file, file_error, parse_float
from rnnkit.datasets._labels import sorted_labels, text_labels
from rnnkit.datasets._table import Table, read_table
from rnnkit.datasets.sequence_data import TASKS, SequenceData
from rnnkit.datasets.ts_format import load_ts

__all__ = ["load_sequences"]

_LABEL_NAMES = ("label", "target", "class", "y")
_ID_NAMES = ("id", "series_id", "sequence_id", "case_id", "sample_id")
_TIME_NAMES = ("time", "t", "step", "timestamp")
_PAD = frozenset({"", "nan"})


def find_column(t: Table, wanted, names: tuple, role: str) -> int | None:
    if wanted is not None:
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            if not 0 <= wanted < len(t.names):
                raise ValueError(f"{role} position must be in [0, {len(t.names) - 1}], got {wanted}")
            return wanted
        if not isinstance(wanted, str):
            raise TypeError(f"{role} must be a column name or position, got {type(wanted).__name__} {wanted!r}")
        return t.column(wanted, f"{role} column")
    lower = [n.lower() for n in t.names]
    return next((lower.index(n) for n in names if n in lower), None)


def _wide(t: Table, target) -> tuple[list, list[str]]:
    j = find_column(t, target, _LABEL_NAMES, "target")
    j = 0 if j is None else j
    last = j == len(t.names) - 1 and j > 0
    X, labels = [], []
    for i, row in enumerate(t.rows):
        cells = list(row)
        if last:
            while cells and not cells[-1]:
                cells.pop()
            label = cells.pop() if cells else ""
        else:
            label = cells.pop(j) if j < len(cells) else ""
        while cells and cells[-1].lower() in _PAD:
            cells.pop()
        if not cells:
            raise t.error(i, "the row has a label but no values")
        x = np.empty(len(cells), dtype=np.float64)
        for k, c in enumerate(cells):
            try:
                x[k] = parse_float(c)
            except ValueError:
                raise t.error(i, f"value {k + 1} {c!r} is not a number") from None
        X.append(x[:, None])  # (T_i, 1)
        labels.append(label)
    return X, labels


def long_sequences(t: Table, id_j: int | None, skip: tuple, time_j: int | None) -> tuple[list, list, list]:
    """The sequences of a long table: ``(X, rows, channels)``, ``X[s]`` ``(T_s, C)`` float64 and
    ``rows[s]`` the table rows of sequence ``s`` in time order. ``id_j`` None: the whole table is
    one sequence. The channels are the columns other than the id, time and ``skip`` ones."""
    feats = [k for k in range(len(t.names)) if k not in (id_j, time_j, *skip)]
    if not feats:
        raise t.error(None, "no feature column besides the id, time and label columns")
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(t.rows):
        if id_j is not None and not row[id_j]:
            raise t.error(i, f"the id cell (column {t.names[id_j]!r}) is empty")
        groups.setdefault("" if id_j is None else row[id_j], []).append(i)
    X, ordered = [], []
    for key, rows in groups.items():
        if time_j is not None:
            times = []
            for i in rows:
                try:
                    times.append(parse_float(t.rows[i][time_j], ()))
                except ValueError:
                    raise t.error(i, f"column {t.names[time_j]!r}: {t.rows[i][time_j]!r} is not a number") from None
            order = np.argsort(times, kind="stable")
            st = np.asarray(times)[order]
            dup = np.flatnonzero(np.diff(st) == 0)
            if dup.size:
                raise t.error(rows[order[dup[0] + 1]], f"sequence {key!r} has the time {st[dup[0]]:g} twice")
            rows = [rows[k] for k in order]
        x = np.empty((len(rows), len(feats)), dtype=np.float64)  # (T_s, C)
        for r, i in enumerate(rows):
            for c, k in enumerate(feats):
                try:
                    x[r, c] = parse_float(t.rows[i][k])
                except ValueError:
                    raise t.error(i, f"column {t.names[k]!r}: {t.rows[i][k]!r} is not a number") from None
        X.append(x)
        ordered.append(rows)
    return X, ordered, [t.names[k] for k in feats]


def check_full_rows(t: Table) -> None:
    """Every row has as many cells as the header (long tables)."""
    for i, r in enumerate(t.rows):
        if len(r) != len(t.names):
            raise t.error(i, f"{len(r)} cells but the header has {len(t.names)}: a ragged row")


def _long(t: Table, target, id_j: int, time_column) -> tuple[list, list[str] | None, list, list[int]]:
    label_j = find_column(t, target, _LABEL_NAMES, "target")
    time_j = find_column(t, time_column, _TIME_NAMES, "time_column")
    X, rows, channels = long_sequences(t, id_j, () if label_j is None else (label_j,), time_j)
    labels = None
    if label_j is not None:
        labels = []
        for seq_rows in rows:
            first = t.rows[seq_rows[0]][label_j]
            for i in seq_rows:
                if t.rows[i][label_j] != first:
                    key = t.rows[i][id_j]
                    raise t.error(i, f"sequence {key!r} changes its label from {first!r} to {t.rows[i][label_j]!r}: "
                                     "one label per sequence (per-step labels: load_tagged)")
            labels.append(first)
    return X, labels, channels, [r[0] for r in rows]


def npz_arrays(path: str) -> dict[str, np.ndarray]:
    """X, y, lengths of an ``.npz``, each array's header checked (size, no objects) before loading."""
    try:
        z = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise file_error(path, None, "not an .npz file (not a zip archive of .npy arrays)") from None
    with z:
        keys = sorted(n[:-4] for n in z.namelist() if n.endswith(".npy"))
        if "X" not in keys:
            raise file_error(path, None, f"no array 'X' (the arrays are {keys}; expected X, y, lengths)")
        wanted = [k for k in ("X", "y", "lengths") if k in keys]
        for k in wanted:
            with z.open(f"{k}.npy") as fh:
                try:
                    version = np.lib.format.read_magic(fh)
                    fmt = np.lib.format
                    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                    shape, _, dtype = read(fh)
                except ValueError as err:
                    raise file_error(path, None, f"array {k!r} has a bad .npy header: {err}") from None
            if dtype.hasobject:
                raise file_error(path, None, f"array {k!r} holds Python objects (needs pickle): save plain arrays")
            if float(np.prod(shape, dtype=np.float64)) > MAX_ELEMENTS:
                raise file_error(path, None, f"array {k!r} has shape {shape}: more than {MAX_ELEMENTS} values")
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in wanted}


def npz_sequences(path: str) -> tuple[dict, list, np.ndarray | None]:
    """``(arrays, X, lengths)`` of an ``.npz``: ``X`` the list of ``(T_i, C)`` float64 sequences."""
    arrays = npz_arrays(path)
    X = arrays["X"]
    if X.dtype.kind not in "biuf" or X.ndim not in (2, 3) or X.shape[0] == 0 or X.shape[1] == 0:
        raise file_error(path, None, f"X must be a numeric (N, T, C) or (N, T) array, got {X.dtype} {X.shape}")
    X = X.astype(np.float64)
    if X.ndim == 2:
        X = X[:, :, None]  # (N, T, 1)
    if np.isinf(X).any():
        at = tuple(int(v) for v in np.argwhere(np.isinf(X))[0])
        raise file_error(path, None, f"X holds infinite values, the first at index {at}")
    N, T = X.shape[:2]
    lengths = arrays.get("lengths")
    if lengths is not None:
        if lengths.dtype.kind not in "iu" or lengths.shape != (N,) or lengths.min() < 1 or lengths.max() > T:
            msg = f"lengths must be {N} integers in [1, {T}], got {lengths.dtype} {lengths.shape}"
            raise file_error(path, None, msg)
        return arrays, [X[i, : int(L)].copy() for i, L in enumerate(lengths)], lengths
    return arrays, list(X), None


def _load_npz(path: str, task) -> SequenceData:
    arrays, seqs, _ = npz_sequences(path)
    N = len(seqs)
    y = arrays.get("y")
    class_labels = None
    if y is not None:
        if y.shape != (N,) or y.dtype.kind not in "biufU":
            raise file_error(path, None, f"y must be ({N},) numbers or strings, got {y.dtype} {y.shape}")
        if task is None:
            task = "regression" if y.dtype.kind == "f" else "classification"
        if task == "regression":
            if y.dtype.kind == "U" or not np.isfinite(y.astype(np.float64)).all():
                raise file_error(path, None, "y: regression targets must be finite numbers")
            y = y.astype(np.float64)
        else:
            class_labels = sorted_labels(y.tolist())
    else:
        task = None
    name = os.path.splitext(os.path.basename(path))[0]
    return SequenceData(X=seqs, y=y, task=task, class_labels=class_labels, name=name, path=path,
                        header={"arrays": sorted(arrays)})


def load_sequences(path, target=None, *, task: str | None = None, id_column=None, time_column=None) -> SequenceData:
    """Labelled sequences from a ``.ts``, ``.csv`` (wide or long) or ``.npz`` file; the rules
    for each format are in the module docstring.

    Args:
        path: the file.
        target: the label column of a CSV file (a name, or a position from 0); None: by the rule.
        task: ``'classification'`` or ``'regression'``; None decides from the labels (CSV:
            regression when every label is a number and one is not an integer; ``.npz``:
            regression for a float ``y``; ``.ts``: from the header).
        id_column, time_column: for long CSV files (see the module docstring).

    Returns:
        ``SequenceData`` (``X`` a list of ``(T_i, C)`` float64 arrays, ``y``, ``class_labels``).

    Raises:
        FileFormatError: naming the file and the line; ValueError for an unknown suffix.
    """
    p = check_file(path)
    if task is not None:
        check_choice("task", task, TASKS)
    suffix = os.path.splitext(p)[1].lower()
    if suffix == ".ts":
        if target is not None or id_column is not None or time_column is not None:
            raise ValueError("target, id_column and time_column are for CSV files; a .ts file names its labels itself")
        d = load_ts(p)
        if task is not None and d.task != task:
            raise ValueError(f"task={task!r} but {p} holds {d.task or 'no labels'} (its header)")
        return d
    if suffix == ".npz":
        return _load_npz(p, task)
    if suffix not in (".csv", ".tsv", ".txt"):
        raise ValueError(f"path: expected a .ts, .csv, .tsv, .txt or .npz file, got {p!r}")
    t = read_table(p, header="auto", allow_short_rows=True)
    id_j = find_column(t, id_column, _ID_NAMES, "id_column")
    if id_j is not None:
        check_full_rows(t)
        X, labels, channels, first_rows = _long(t, target, id_j, time_column)
        header = {"format": "long", "channels": channels, "id_column": t.names[id_j]}
    else:
        X, labels = _wide(t, target)
        first_rows = list(range(len(t.rows)))
        header = {"format": "wide"}
    if labels is None:
        y, task_out, classes = None, None, None
    else:
        y, task_out, classes = text_labels(labels, task, lambda i, m: t.error(first_rows[i], m))
    name = os.path.splitext(os.path.basename(p))[0]
    return SequenceData(X=X, y=y, task=task_out, class_labels=classes, name=name, path=p, header=header)
