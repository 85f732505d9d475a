"""Text in for the text estimators: a string, a file, a folder of files, or a list of those.

``read_documents(source)`` returns the documents as a list of strings, in this order:

- an ``os.PathLike`` is always a path; a ``str`` is a path when it names an existing file
  or folder (and holds no line break), otherwise it is the text itself, except that a
  one-word ``str`` shaped like a path (holding ``/`` or ``\\``, or ending in an extension
  such as ``.txt``) that names nothing raises ``FileNotFoundError``: a mistyped path must
  not be learned as text;
- a file is one document, read as UTF-8 (a byte-order mark dropped; ``\\r\\n`` and ``\\r``
  become ``\\n``); bytes that are not UTF-8 raise :class:`~rnnkit.errors.FileFormatError`
  naming the file and the line;
- a folder gives every file below it whose name ends with one of ``suffixes`` (None: every
  file), sorted by relative path; hidden files and folders (a name starting with ``.``) and
  ``__pycache__`` are skipped;
- a list or tuple gives the documents of its items, in order.

Empty documents are dropped; whether anything is left is the caller's check.
"""

from __future__ import annotations

import os
import re

from rnnkit.datasets._files import file_error

__all__ = ["read_documents"]

_SKIP = {"__pycache__"}
_PATH_SHAPED = re.compile(r"^\S*([/\\]\S*|\.[A-Za-z0-9]{1,5})$")


def _read_file(path: str, encoding: str) -> str:
    with open(path, "rb") as fh:
        raw = fh.read()
    if encoding.lower().replace("_", "-") in ("utf-8", "utf8") and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]                                                  # the byte-order mark is not text
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise file_error(path, line, f"not {encoding} text ({err.reason} at byte {err.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _folder_files(root: str, suffixes) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP)
        for f in filenames:
            if f.startswith(".") or (suffixes is not None and not f.endswith(suffixes)):
                continue
            found.append(os.path.join(dirpath, f))
    return sorted(found, key=lambda p: os.path.relpath(p, root).replace(os.sep, "/"))


def _as_path(item) -> str | None:
    if isinstance(item, os.PathLike):
        return os.fspath(item)
    if isinstance(item, str) and item and "\n" not in item and len(item) < 4096:
        if os.path.exists(item):
            return item
        if _PATH_SHAPED.match(item):
            raise FileNotFoundError(f"no such file or folder: {item} (a one-word text shaped like a path is "
                                    "taken for one)")
    return None


def read_documents(source, *, suffixes=None, encoding: str = "utf-8", name: str = "text") -> list[str]:
    """The non-empty documents of ``source`` (see the module docstring); ``name`` is the
    argument named in errors. ``suffixes``: a str or a tuple of name endings for folders."""
    if isinstance(suffixes, list):
        suffixes = tuple(suffixes)
    if suffixes is not None and not (isinstance(suffixes, (str, tuple)) and all(isinstance(s, str) for s in suffixes)):
        raise TypeError(f"suffixes must be None, a str or a tuple of str, got {suffixes!r}")
    if isinstance(source, (list, tuple)):
        docs: list[str] = []
        for i, item in enumerate(source):
            if isinstance(item, (list, tuple)):
                raise TypeError(f"{name}[{i}] must be a str or a path, got a nested {type(item).__name__}")
            docs += read_documents(item, suffixes=suffixes, encoding=encoding, name=f"{name}[{i}]")
        return docs
    path = _as_path(source)
    if path is None:
        if not isinstance(source, str):
            raise TypeError(f"{name} must be a str (text or a path), a path, or a list of those, "
                            f"got {type(source).__name__}")
        return [source] if source else []
    if os.path.isdir(path):
        files = _folder_files(path, suffixes)
        if not files:
            raise ValueError(f"{name}: folder {path} has no files"
                             + ("" if suffixes is None else f" ending with {suffixes!r}"))
        return [t for t in (_read_file(f, encoding) for f in files) if t]
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name}: no such file or folder: {path}")
    if not os.path.isfile(path):
        raise ValueError(f"{name}: {path} is neither a regular file nor a folder")
    text = _read_file(path, encoding)
    return [text] if text else []
