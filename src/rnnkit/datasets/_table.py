"""A table of text cells read from a CSV file (Python's ``csv`` module) or a Parquet file
(pyarrow, when installed), with the file line of every row for error messages."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

from rnnkit.datasets._files import MAX_ELEMENTS, check_file, file_error, read_lines
from rnnkit.errors import FileFormatError

__all__ = ["Table", "read_table", "PARQUET_SUFFIXES"]

PARQUET_SUFFIXES = (".parquet", ".pq")
_DELIMITERS = (",", ";", "\t")


@dataclass
class Table:
    """Rows of str cells. ``lines[i]`` is the file line of row ``i`` (None for Parquet, whose
    rows are named by their number from 1)."""

    path: str
    names: list
    rows: list
    lines: list | None
    header_line: int | None

    def where(self, i: int | None) -> str:
        """``'line L'`` of row ``i`` (or ``'row r'``), or the header's place for None."""
        if i is None:
            return "the header" if self.header_line is None else f"line {self.header_line}"
        return f"row {i + 1}" if self.lines is None else f"line {self.lines[i]}"

    def error(self, i: int | None, message: str) -> FileFormatError:
        if i is None and self.header_line is None:
            return FileFormatError(f"{self.path}: {message}")
        return FileFormatError(f"{self.path}, {self.where(i)}: {message}")

    def column(self, name: str, role: str = "column") -> int:
        """The position of column ``name``; a ``FileFormatError`` listing the columns if absent."""
        if name not in self.names:
            raise self.error(None, f"no {role} {name!r}; the columns are {self.names}")
        return self.names.index(name)

    def cells(self, j: int) -> list:
        """The cells of column ``j`` (rows shorter than ``j + 1`` give '')."""
        return [r[j] if j < len(r) else "" for r in self.rows]


def _delimiter(first_line: str, path: str) -> str:
    if path.lower().endswith(".tsv"):
        return "\t"
    counts = {d: first_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_csv(path: str, header: bool | str, allow_short_rows: bool, encoding: str) -> Table:
    numbered = list(read_lines(path, encoding))   # [(line number, text)]
    first = next((text for _, text in numbered if text.strip()), "")
    delim = _delimiter(first, path)
    current = [0]

    def texts():
        for lineno, text in numbered:
            current[0] = lineno
            yield text

    reader = csv.reader(texts(), delimiter=delim)
    names, rows, lines, header_line, n_cells = None, [], [], None, 0
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue   # a blank line
            row = [c.strip() for c in row]
            if names is None and (header is True or (header == "auto" and not _all_numbers(row))):
                names, header_line = row, current[0]
                continue
            if names is None:
                names = [f"column {j + 1}" for j in range(len(row))]
            if len(row) != len(names) and not (allow_short_rows and len(row) < len(names)):
                raise file_error(
                    path, current[0], f"{len(row)} cells but the {'header has' if header_line else 'first row has'} "
                    f"{len(names)} (delimiter {delim!r}): a ragged row",
                )
            n_cells += len(row)
            if n_cells > MAX_ELEMENTS:
                raise file_error(path, current[0], f"more than {MAX_ELEMENTS} cells: the file is too large to load")
            rows.append(row)
            lines.append(current[0])
    except csv.Error as err:
        raise file_error(path, current[0], f"not valid CSV: {err}") from None
    if names is None:
        raise file_error(path, None, "the file is empty (only blank lines)")
    if not rows:
        raise file_error(path, header_line, "the file has a header but no data rows")
    _check_names(path, names, header_line)
    return Table(path, names, rows, lines, header_line)


def _all_numbers(row: list) -> bool:
    try:
        [float(c) for c in row]
    except ValueError:
        return False
    return True


def _check_names(path: str, names: list, header_line: int | None) -> None:
    seen = {}
    for j, n in enumerate(names):
        if n in seen:
            raise file_error(path, header_line, f"columns {seen[n] + 1} and {j + 1} have the same name {n!r}")
        seen[n] = j


def _cell(v) -> str:
    if v is None:
        return ""
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _read_parquet(path: str) -> Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ModuleNotFoundError(f"{path}: reading Parquet files needs pyarrow: `pip install pyarrow`") from None
    try:
        table = pq.read_table(path)
    except Exception as err:  # noqa: BLE001 - pyarrow raises its own types for every kind of bad file
        raise file_error(path, None, f"not a readable Parquet file: {err}") from None
    if table.num_rows * max(table.num_columns, 1) > MAX_ELEMENTS:
        raise file_error(path, None, f"more than {MAX_ELEMENTS} cells: the file is too large to load")
    names = [str(n) for n in table.column_names]
    cols = [[_cell(v) for v in table.column(j).to_pylist()] for j in range(table.num_columns)]
    if not cols or table.num_rows == 0:
        raise file_error(path, None, "the Parquet file has no rows")
    _check_names(path, names, None)
    rows = [list(r) for r in zip(*cols)]
    return Table(path, names, rows, None, None)


def read_table(
    path, *, header: bool | str = "auto", allow_short_rows: bool = False, encoding: str = "utf-8"
) -> Table:
    """Read ``path``: Parquet by its suffix (``.parquet``, ``.pq``), else CSV.

    CSV: ``header`` True (the first row names the columns), False (no header: the columns are
    named ``'column 1'``, ...) or ``'auto'`` (a header unless every cell of the first row is a
    number). The delimiter is the most frequent of ``,`` ``;`` and tab on the first non-blank line
    (tab for ``.tsv``); blank lines are skipped; cells are stripped of spaces; every row must
    have as many cells as the header (``allow_short_rows``: fewer are allowed). Raises
    ``FileFormatError`` naming the line for ragged rows, an empty file, a header without rows,
    duplicate column names.
    """
    p = check_file(path)
    if os.path.splitext(p)[1].lower() in PARQUET_SUFFIXES:
        return _read_parquet(p)
    return _read_csv(p, header, allow_short_rows, encoding)
