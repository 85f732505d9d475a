"""An advisory lock on a path, so that two runs do not write the same output at once.

``file_lock(path)`` takes an exclusive lock on ``path + ".lock"`` (``fcntl.flock``;
``msvcrt.locking`` on Windows) and holds it for the ``with`` block. The operating system
releases it when the holder exits in any way, ``kill -9`` included, so a lock is never
left stale. The lock file stays on disk (removing it would race with the next locker); it
holds the pid of the last holder, which the refusal message names.

Example::

    with file_lock("model.rnnkit"):         # model.rnnkit.lock; a second process gets FileLockedError
        ...
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from rnnkit.errors import FileLockedError

try:
    import fcntl
except ImportError:                      # Windows
    fcntl = None
    import msvcrt

__all__ = ["file_lock"]


def _try_lock(fd: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError as err:               # EWOULDBLOCK (flock) or EACCES/EDEADLOCK (msvcrt): held
        if fcntl is None or isinstance(err, (BlockingIOError, PermissionError)):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


@contextlib.contextmanager
def file_lock(path, what: str = "this output") -> Iterator[str]:
    """Hold an exclusive advisory lock on ``path + '.lock'`` for the ``with`` block.

    Raises :class:`~rnnkit.errors.FileLockedError` (an ``OSError``) at once, without waiting,
    when another process holds it; the message names the lock file, ``what`` is locked and
    the holder's pid. Yields the lock file's path.
    """
    lock_path = os.fspath(path) + ".lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        if not _try_lock(fd):
            holder = _read_pid(fd)
            raise FileLockedError(
                f"{lock_path}: another process{f' (pid {holder})' if holder else ''} is using {what}; "
                "wait for it to finish or choose another path"
            )
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield lock_path
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0) if hasattr(os, "pread") else b""
        return int(text.decode("ascii").strip()) if text.strip() else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None
