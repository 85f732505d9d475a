"""Numba's on-disk cache, kept consistent with the sources of the whole compiled backend.

``njit(cache=True)`` keys a function's cached machine code on the stamp (modification time
and size) of the file that defines it, not on the files of the functions it inlines: when
``rnn_seq.py`` changes but ``rnn_workers.py`` does not, the workers' cached code still holds
the old ``rnn_seq`` (an upgrade of rnnkit, or an edit, would run stale kernels). So before
anything compiles, the backend hashes every source file of this package; when the hash differs
from the one recorded beside the cache, the package's cached ``.nbi``/``.nbc`` files are removed
and the new hash recorded. Nothing is removed while the sources stay the same.

The vector width (``_simd``: 256 or 512 bits) is not in the stamp, on purpose: Numba's own index
key holds the target's CPU name and feature string, and the width is a function of that string
(``RNNKIT_SIMD=256`` on an AVX-512 CPU compiles for a target with the AVX-512 features off), so
both widths' entries live side by side in the same files, and switching ``RNNKIT_SIMD`` between
processes neither loads the other width's code nor throws the cache away.
"""

from __future__ import annotations

import glob
import hashlib
import os

__all__ = ["sources_hash", "refresh"]

_HERE = os.path.dirname(os.path.abspath(__file__))
_STAMP = "rnnkit-sources.sha256"


def sources_hash(directory: str = _HERE) -> str:
    """SHA-256 over the names and contents of the package's ``.py`` files (sorted)."""
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(directory, "*.py"))):
        h.update(os.path.basename(path).encode())
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def refresh(directory: str = _HERE) -> bool:
    """Drop the cached kernels of ``directory`` if its sources changed; True if it did.

    A cache directory that cannot be written (a read-only install) is left alone: Numba then
    compiles in memory without caching anyway.
    """
    cache = os.path.join(directory, "__pycache__")
    stamp = os.path.join(cache, _STAMP)
    digest = sources_hash(directory)
    try:
        with open(stamp, encoding="ascii") as f:
            if f.read().strip() == digest:
                return False
    except OSError:
        pass
    try:
        os.makedirs(cache, exist_ok=True)
        for path in glob.glob(os.path.join(cache, "*.nb[ic]")):
            os.unlink(path)
        tmp = f"{stamp}.{os.getpid()}"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(digest + "\n")
        os.replace(tmp, stamp)
    except OSError:
        return False
    return True
