"""One reader and one writer for every file rnnkit saves: models, estimators, checkpoints.

A file holds a JSON *description* (a dict with ``"format"``, e.g. ``"rnnkit.model"``, and
``"version"``, the version of that description's schema) and named arrays. New files use
the safetensors layout of :mod:`rnnkit.io._container` (file format version 2); files of
earlier releases (version 1, ``.npz``) are read by :mod:`rnnkit.io._npz_v1`. Either way the
result is ``(description, arrays)``, checked before anything is built from it.
"""

from __future__ import annotations

import os
import stat

import numpy as np

from rnnkit.errors import FileFormatError
from rnnkit.io import _json
from rnnkit.io._atomic import write_atomic
from rnnkit.io._container import read_container, write_container
from rnnkit.io._npz_v1 import META_KEY, read_npz_v1

__all__ = ["FORMAT_VERSION", "ArchiveArrays", "write_archive", "read_archive"]

FORMAT_VERSION = 1                     # schema version of the descriptions this rnnkit writes


class ArchiveArrays(dict):
    """``{name: ndarray}`` read from one file; ``source`` is the file's path (for messages)."""

    def __init__(self, arrays, source: str):
        super().__init__(arrays)
        self.source = source


def write_archive(path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write the description ``meta`` (JSON-able dict) and ``arrays`` to ``path`` atomically.

    Arrays may be numeric, boolean, string or datetime arrays of any layout; complex, object
    and structured arrays raise ``TypeError``, NaN/inf in ``meta`` (JSON has no words for
    them; :func:`rnnkit.io.pack` encodes them) ``ValueError``.
    """
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    if not isinstance(arrays, dict):
        raise TypeError(f"arrays must be a dict of name -> ndarray, got {type(arrays).__name__}")
    if META_KEY in arrays:
        raise ValueError(f"arrays must not use the reserved key {META_KEY!r}")
    try:
        text = _json.dumps(meta)
    except ValueError as err:
        raise ValueError(f"meta must be JSON without NaN or inf ({err})") from None
    write_atomic(path, lambda f: write_container(f, text, arrays))


def _open_checked(path: str):
    st = os.stat(path)                              # FileNotFoundError names the path
    if not stat.S_ISREG(st.st_mode):
        raise FileFormatError(f"{path}: not a regular file")
    return open(path, "rb")


def read_archive(path, expected_format: str | None = None) -> tuple[dict, ArchiveArrays]:
    """``(description, arrays)`` of a file written by :func:`write_archive` (or an rnnkit 0.1
    ``.npz``). ``expected_format`` (e.g. ``"rnnkit.model"``) refuses files of another kind.

    Raises :class:`~rnnkit.errors.FileFormatError`, naming the file and the problem, for
    anything that is not a whole, unchanged rnnkit file of a version this rnnkit reads.
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    with _open_checked(path) as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(9)
        f.seek(0)
        what = "rnnkit.json description"
        if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            text, arrays = read_npz_v1(f, size, path)
            what = f"{META_KEY} JSON"
        elif head[:6] == b"\x93NUMPY":
            raise FileFormatError(f"{path}: a NumPy .npy array, not an rnnkit file "
                                  "(rnnkit.save_model writes model files)")
        elif len(head) < 9:
            raise FileFormatError(f"{path}: {size} bytes is too short for an rnnkit file (truncated?)")
        elif head[8:9] != b"{":
            raise FileFormatError(f"{path}: not an rnnkit file (neither the rnnkit safetensors layout "
                                  "nor an rnnkit .npz archive)")
        else:
            text, arrays = read_container(f, size, path)
    meta = _json.loads(text, path, what)
    if not isinstance(meta, dict):
        raise FileFormatError(f"{path}: the description must be a JSON object, got {type(meta).__name__}")
    fmt = meta.get("format")
    if expected_format is not None and fmt != expected_format:
        raise FileFormatError(f"{path}: expected a {expected_format!r} file, got format {fmt!r}")
    version = meta.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise FileFormatError(f"{path}: file version must be an integer, got {version!r:.40}")
    if version > FORMAT_VERSION:
        raise FileFormatError(f"{path}: a {fmt!r:.40} description of version {version}, newer than this "
                              f"rnnkit reads ({FORMAT_VERSION}); upgrade rnnkit to load it")
    return meta, ArchiveArrays(arrays, path)
