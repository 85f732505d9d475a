"""Reader of the version 1 layout (``.npz``) that rnnkit 0.1 wrote; new files use version 2.

A version 1 file is a zip archive of uncompressed ``.npy`` members (``numpy.savez``); the
member ``__meta__.npy`` holds the UTF-8 JSON description as a uint8 array. This reader
does not use ``numpy.load``: it checks every member first (stored, not compressed or
encrypted; a ``.npy`` name; sizes within the file) and parses each ``.npy`` header itself,
accepting only plain numeric, boolean, string and date arrays whose bytes are all there,
so a damaged or hostile archive is a :class:`~rnnkit.errors.FileFormatError` naming the
file and the member, never another exception, and nothing is allocated beyond the file's
size. Pickle is never used.
"""

from __future__ import annotations

import io
import struct
import tokenize
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from rnnkit.errors import FileFormatError

__all__ = ["read_npz_v1", "META_KEY"]

META_KEY = "__meta__"
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, struct.error,
               OverflowError, UnicodeDecodeError, KeyError, IndexError, ValueError, NotImplementedError,
               OSError)

# what numpy's .npy header parser (ast.literal_eval of a dict, then numpy.dtype) can raise
_NPY_ERRORS = (ValueError, SyntaxError, TypeError, OverflowError, struct.error, UnicodeDecodeError, KeyError,
               AttributeError, IndexError, RecursionError, MemoryError, tokenize.TokenError)


def _parse_npy(data: bytes, source: str, member: str) -> np.ndarray:
    where = f"{source}: member {member!r}"
    bio = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(bio)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(bio)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(bio)
        else:
            raise FileFormatError(f"{where}: .npy format version {version} is not one rnnkit wrote")
    except _NPY_ERRORS as err:
        raise FileFormatError(f"{where}: not a valid .npy array ({str(err)[:200]})") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise FileFormatError(f"{where}: object or structured arrays are not allowed (dtype {dtype})")
    if dtype.kind == "c":
        raise FileFormatError(f"{where}: complex arrays are not supported (dtype {dtype}); weights are real")
    if dtype.kind not in "biufUSMm":
        raise FileFormatError(f"{where}: unsupported dtype {dtype}")
    if not all(isinstance(d, int) and 0 <= d for d in shape) or len(shape) > 32:
        raise FileFormatError(f"{where}: shape {shape!r:.80} is not a list of sizes >= 0")
    count = 1
    for d in shape:
        count *= d
    offset = bio.tell()
    if count * dtype.itemsize != len(data) - offset:
        raise FileFormatError(f"{where}: shape {shape} of {dtype} needs {count * dtype.itemsize} bytes, "
                              f"the member holds {len(data) - offset}")
    if count == 0:
        return np.empty(shape, dtype)
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return np.array(flat.reshape(shape, order="F" if fortran else "C"), order="C")    # own, writable copy


def read_npz_v1(f: BinaryIO, size: int, source: str) -> tuple[bytes, dict[str, np.ndarray]]:
    """``(description bytes, arrays)`` from a version 1 archive ``f`` of ``size`` bytes."""
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(f) as zf:
            infos = zf.infolist()
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise FileFormatError(f"{source}: the archive names a member twice")
            if sum(i.file_size for i in infos) > size:
                raise FileFormatError(f"{source}: the members claim more bytes than the file holds")
            for info in infos:
                where = f"{source}: member {info.filename[:80]!r}"
                if info.compress_type != zipfile.ZIP_STORED:
                    raise FileFormatError(f"{where} is compressed (zip method {info.compress_type}); "
                                          "rnnkit archives store members uncompressed")
                if info.flag_bits & 0x1:
                    raise FileFormatError(f"{where} is encrypted")
                if not info.filename.endswith(".npy"):
                    raise FileFormatError(f"{where} is not a .npy array (a raw member)")
                arrays[info.filename[:-4]] = _parse_npy(zf.read(info), source, info.filename)
    except FileFormatError:
        raise
    except _ZIP_ERRORS as err:          # a damaged archive: every way zipfile reports it
        raise FileFormatError(f"{source}: not a readable rnnkit .npz file ({type(err).__name__}: "
                              f"{str(err)[:200]})") from None
    raw = arrays.pop(META_KEY, None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise FileFormatError(f"{source}: no {META_KEY} entry; not an rnnkit file")
    return raw.tobytes(), arrays
