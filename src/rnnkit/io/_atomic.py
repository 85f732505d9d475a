"""Atomic file writes that several processes can make to one path at once.

A write goes to a temporary file next to the destination, named
``.tmp-<name>-<pid>-<random>``, created with mode ``0o666`` minus the umask (``0644``
typically, like any file a program creates; a destination that already exists keeps its
mode), written, flushed and ``fsync``-ed, then ``os.replace``-d over the destination, and the
directory is ``fsync``-ed. A crash at any moment leaves either the old file or the new one.

Two processes writing the same path both succeed and the last ``replace`` wins. A writer
killed mid-write leaves its temporary file behind; the next write to the same path removes
it, but only once its writer is gone (the pid in its name no longer runs, or it is older
than a day). Temporary files of older rnnkit releases (``.tmp-<name>-<letters>``, no pid)
are removed as before.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import time
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["write_atomic", "write_bytes_atomic", "write_text_atomic"]

_STALE_AGE = 24 * 3600.0               # seconds: a temp file this old is stale whoever wrote it
_OURS = re.compile(r"(\d+)-[0-9a-f]{16}")      # <pid>-<random>: this release's temp files
_LEGACY = re.compile(r"[a-z0-9_]{1,32}")      # tempfile.mkstemp's letters: older releases


def _temp_prefix(path: str) -> str:
    return ".tmp-" + os.path.basename(path) + "-"


def _writer_alive(pid: int) -> bool:
    """True while process ``pid`` may still be writing (signal 0 only checks that it exists;
    EPERM means it exists under another user). This process counts as alive: another of
    its threads may be writing."""
    if pid == os.getpid():
        return True
    if not 0 < pid < 2**31:
        return False
    if os.name == "nt":                 # os.kill(pid, 0) would terminate it there: rely on the age
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(path: str) -> list[str]:
    """Delete the temporary files of ``path`` whose writer is gone; returns their names."""
    directory = os.path.dirname(os.path.abspath(path))
    prefix = _temp_prefix(path)
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):]
        ours = _OURS.fullmatch(rest)
        if ours is None and _LEGACY.fullmatch(rest) is None:
            continue                                   # another file's temp file (or not a temp file)
        full = os.path.join(directory, name)
        try:
            old = now - os.lstat(full).st_mtime > _STALE_AGE
        except OSError:
            continue
        if ours is not None and _writer_alive(int(ours.group(1))) and not old:
            continue
        try:
            os.unlink(full)
            removed.append(name)
        except OSError:
            pass
    return removed


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:                      # a platform without directory file descriptors
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a binary file that replaces ``path`` atomically once it returns.

    If ``write`` raises (or the process is interrupted), ``path`` is left as it was and the
    temporary file is removed.
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        path = os.fsdecode(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"cannot write {path}: no directory {directory}", directory)
    remove_stale_temp_files(path)
    tmp = os.path.join(directory, f"{_temp_prefix(path)}{os.getpid()}-{secrets.token_hex(8)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)                    # the umask applies, as for open(path, "w")
    try:
        try:
            mode = os.stat(path).st_mode & 0o7777      # an existing file keeps its mode
        except FileNotFoundError:
            mode = None
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            fd = -1
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def write_bytes_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`write_atomic`)."""
    write_atomic(path, lambda f: f.write(data))


def write_text_atomic(path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`write_atomic`)."""
    write_bytes_atomic(path, text.encode(encoding))
