"""``load_text``: the user's text, from a file, a folder (recursively) or a list of them.

Rules (documented choices):

- A folder is walked recursively in sorted order; only files whose name ends with one of
  ``suffixes`` (case-insensitive; None: every file) are read; hidden files and folders (a
  name starting with ``.``) and ``__pycache__`` are skipped; empty files found in a folder are
  skipped. A file named explicitly is read whatever its suffix, and must not be empty.
- Bytes that are not valid in ``encoding`` are replaced by U+FFFD (the replacement character),
  so one stray byte does not stop a run; a file holding a NUL byte is binary, not text, and is
  an error. A UTF-8 byte-order mark is dropped. Line ends become ``\\n``.
- ``as_documents=False`` joins the documents in order, each ending with ``\\n``.
"""

from __future__ import annotations

import codecs
import os

from rnnkit._checks import check_bool
from rnnkit.datasets._files import MAX_ELEMENTS, check_file, file_error

__all__ = ["load_text", "text_files"]


def _check_suffixes(suffixes) -> tuple[str, ...] | None:
    if suffixes is None:
        return None
    if isinstance(suffixes, str):
        suffixes = (suffixes,)
    out = tuple(suffixes)
    if not out or not all(isinstance(s, str) and s for s in out):
        raise TypeError(f"suffixes must be None or non-empty strings such as ('.txt', '.py'), got {suffixes!r}")
    return tuple(s.lower() for s in out)


def text_files(path, suffixes=(".txt", ".py", ".md")) -> list[tuple[str, bool]]:
    """``(file, named)`` for each file ``load_text`` reads from ``path`` (a file, a folder, or a
    list of files and folders), in order; ``named`` is whether the caller named it directly."""
    sfx = _check_suffixes(suffixes)
    items = [path] if isinstance(path, (str, os.PathLike)) else path
    if isinstance(items, bytes) or not hasattr(items, "__iter__"):
        raise TypeError(f"path must be a file or folder path or a list of them, got {type(path).__name__}")
    items = list(items)
    if not items:
        raise ValueError("path: an empty list of files")
    found: list[tuple[str, bool]] = []
    for item in items:
        if isinstance(item, bytes) or not isinstance(item, (str, os.PathLike)):
            raise TypeError(f"path must be a file or folder path, got {type(item).__name__} {item!r}")
        p = os.fspath(item)
        if os.path.isdir(p):
            before = len(found)
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
                for f in sorted(filenames):
                    if f.startswith(".") or (sfx is not None and not f.lower().endswith(sfx)):
                        continue
                    full = os.path.join(dirpath, f)
                    if os.path.isfile(full) and os.path.getsize(full) > 0:
                        found.append((full, False))
            if len(found) == before:
                what = "files" if sfx is None else f"non-empty files ending in {', '.join(sfx)}"
                raise ValueError(f"path: no {what} under the folder {p}")
        else:
            found.append((check_file(p), True))
    return found


def _read(path: str, encoding: str) -> str:
    with open(path, "rb") as fh:
        raw = fh.read()
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise file_error(path, line, "a NUL byte: this is a binary file, not text")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    text = raw.decode(encoding, errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def load_text(path, suffixes=(".txt", ".py", ".md"), encoding: str = "utf-8", as_documents: bool = False):
    """The text of a file, of every matching file under a folder, or of a list of them (rules
    in the module docstring).

    Args:
        path: a file, a folder, or a list of files and folders.
        suffixes: the file name endings read from folders (None: all files).
        encoding: the files' encoding (undecodable bytes become U+FFFD).
        as_documents: return one string per file instead of one string.

    Returns:
        ``str``, or ``list[str]`` with ``as_documents``.

    Raises:
        FileFormatError: an empty file named explicitly, a binary file (NUL byte), or more than
            ``MAX_ELEMENTS`` bytes in all. ValueError: a folder without matching files.

    Example::

        >>> import os, sysconfig
        >>> text = load_text(os.path.join(sysconfig.get_paths()['stdlib'], 'json'), suffixes='.py')
        >>> 'def dumps' in text
        True
    """
    as_documents = check_bool("as_documents", as_documents)
    if not isinstance(encoding, str):
        raise TypeError(f"encoding must be a codec name, got {encoding!r}")
    codecs.lookup(encoding)   # LookupError for an unknown codec, before reading anything
    files = text_files(path, suffixes)
    total = sum(os.path.getsize(f) for f, _ in files)
    if total > MAX_ELEMENTS:
        raise file_error(files[0][0], None, f"the {len(files)} file(s) hold {total} bytes, more than {MAX_ELEMENTS}")
    docs = []
    for f, named in files:
        text = _read(f, encoding)
        if not text.strip():
            if named:
                raise file_error(f, None, "the file is empty" + (" (only whitespace)" if text else ""))
            continue
        docs.append(text)
    if not docs:
        raise ValueError(f"path: every file is empty ({len(files)} file(s))")
    if as_documents:
        return docs
    return "".join(d if d.endswith("\n") else d + "\n" for d in docs)
