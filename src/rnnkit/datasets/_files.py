"""What every file loader shares: checking the path, reading lines, numbers and errors that name
the file and the line.

Errors: a missing path is ``FileNotFoundError``, a directory where a file is expected
``IsADirectoryError``, a file that cannot be read ``PermissionError`` (all ``OSError``);
a file whose content is wrong is ``rnnkit.errors.FileFormatError`` (a ``ValueError``) with the
message ``"<file>, line <n>: <what is wrong>"``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import numpy as np

from rnnkit.errors import FileFormatError

__all__ = [
    "check_file", "file_error", "read_lines", "parse_float", "parse_floats", "check_size",
    "MISSING_TOKENS", "MAX_ELEMENTS",
]

MISSING_TOKENS = frozenset({"", "?", "nan", "na", "n/a", "null", "none", "#n/a"})
"""Cells read as a missing value (case-insensitive, after stripping spaces)."""

MAX_ELEMENTS = 2**28
"""The largest array (number of values) a loader builds: 2 GiB of float64. Larger requests are
refused before anything is allocated."""


def check_file(path, what: str = "path") -> str:
    """``path`` (str or ``os.PathLike``) as a str, checked to be an existing, readable file."""
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a str or os.PathLike file path, got {type(path).__name__} {path!r}")
    p = os.fspath(path)
    if not p:
        raise ValueError(f"{what} must be a file path, got an empty string")
    if not os.path.exists(p):
        raise FileNotFoundError(f"{p}: no such file")
    if os.path.isdir(p):
        raise IsADirectoryError(f"{p}: is a directory, expected a file")
    if not os.access(p, os.R_OK):
        raise PermissionError(f"{p}: not readable (permission denied)")
    return p


def file_error(path: str, line: int | None, message: str) -> FileFormatError:
    """The error for a bad file: ``"<path>, line <line>: <message>"`` (no line: ``"<path>: ..."``)."""
    where = f"{path}, line {line}" if line is not None else str(path)
    return FileFormatError(f"{where}: {message}")


def read_lines(path: str, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """``(line number from 1, text with its line end)`` for each line of ``path``.

    Each line is decoded on its own, so undecodable bytes are reported with their line; a UTF-8
    byte-order mark at the start of the file is dropped. An empty file (0 bytes, or only blank
    lines, which the caller sees) raises ``FileFormatError``.
    """
    if os.path.getsize(path) == 0:
        raise file_error(path, None, "the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield lineno, raw.decode(encoding)
            except UnicodeDecodeError as err:
                bad = raw[err.start:err.start + 8]
                msg = f"bytes that are not valid {encoding} at column {err.start + 1}: {bad!r}"
                raise file_error(path, lineno, msg) from None


def parse_float(token: str, missing=MISSING_TOKENS) -> float:
    """One number: tokens in ``missing`` (lower-cased, stripped) give NaN; raises ``ValueError``
    for anything else that is not a finite decimal number (``inf`` and ``1_000`` included)."""
    t = token.strip()
    if t.lower() in missing:
        return math.nan
    if "_" in t:
        raise ValueError(f"{token!r} is not a number")
    v = float(t)   # ValueError for text
    if math.isinf(v):
        raise ValueError(f"{token!r} is infinite")
    return v


def parse_floats(tokens: list[str], missing=MISSING_TOKENS) -> np.ndarray:
    """``tokens`` as a float64 array (fast path through NumPy, slow path to name the bad one).

    Raises ``ValueError`` naming the first bad token and its position (from 1)."""
    try:
        a = np.array(tokens, dtype=np.float64)  # (n,)
        if np.isfinite(a).all() and not any("_" in t for t in tokens):
            return a
    except ValueError:
        pass
    out = np.empty(len(tokens), dtype=np.float64)
    for i, t in enumerate(tokens):
        try:
            out[i] = parse_float(t, missing)
        except ValueError as err:
            raise ValueError(f"value {i + 1} {t.strip()!r} is not a number ({err})") from None
    return out


def check_size(path: str, n_elements: int, what: str) -> None:
    """Refuse (``FileFormatError``) to build an array of more than ``MAX_ELEMENTS`` values."""
    if n_elements > MAX_ELEMENTS:
        raise file_error(
            path, None, f"{what} would hold {n_elements} values, more than the limit of {MAX_ELEMENTS} (2 GiB float64)"
        )
