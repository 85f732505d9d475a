"""The rnnkit file: one safetensors file whose metadata carries the JSON and a checksum.

Layout (docs/file_format.md has the full description)::

    bytes 0-7     N, unsigned 64-bit little-endian: the header length
    bytes 8-8+N   the header, UTF-8 JSON, padded with spaces to a multiple of 8:
                  {"__metadata__": {"format": "rnnkit", "format_version": "2",
                                    "rnnkit.json": "<the description, JSON text>",
                                    "rnnkit.views": "<{tensor: numpy dtype} JSON text>",
                                    "rnnkit.sha256": "<64 hex digits>"},
                   "<tensor>": {"dtype": "F32", "shape": [4, 3], "data_offsets": [0, 48]}, ...}
    bytes 8+N-    the tensors' bytes, little-endian, C order, back to back

``rnnkit.sha256`` is the SHA-256 of the whole file as written with those 64 digits set to
``0``: every byte of the file is covered, so a flipped bit anywhere is caught. The reader
checks the header against the file size (lengths, dtypes, shapes, offsets that tile the data
exactly) before it allocates anything, and then allocates exactly the tensors' bytes, which
the file holds.
"""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO

import numpy as np

from rnnkit.errors import FileFormatError
from rnnkit.io import _json

__all__ = ["CONTAINER_VERSION", "MAGIC_FORMAT", "write_container", "read_container"]

CONTAINER_VERSION = 2                  # version 1 is the .npz layout of earlier releases
MAGIC_FORMAT = "rnnkit"
MAX_HEADER = 64 * 2**20                # bytes of header JSON this reader accepts
MAX_NDIM = 32
_DIGEST_KEY = "rnnkit.sha256"
_ZERO_DIGEST = "0" * 64

_DTYPES = {                            # safetensors name -> NumPy dtype (little-endian)
    "BOOL": np.dtype("|b1"), "U8": np.dtype("|u1"), "I8": np.dtype("|i1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "U32": np.dtype("<u4"), "I32": np.dtype("<i4"),
    "U64": np.dtype("<u8"), "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"), "F32": np.dtype("<f4"), "F64": np.dtype("<f8"),
}
_CODES = {dt: code for code, dt in _DTYPES.items()}
_UNITS = "Y|M|W|D|h|m|s|ms|us|ns|ps|fs|as"
# dtypes safetensors has no name for, stored as a plain tensor plus their NumPy name
_VIEWS = {
    "U": (re.compile(r"<U([1-9][0-9]{0,5})"), "U32"),           # one uint32 per character
    "S": (re.compile(r"\|S([1-9][0-9]{0,5})"), "U8"),           # one byte per byte
    "M": (re.compile(rf"<M8\[({_UNITS})\]"), "I64"),
    "m": (re.compile(rf"<m8\[({_UNITS})\]"), "I64"),
}


# -- writing ----------------------------------------------------------------------------
def _storable(name: str, a: np.ndarray) -> tuple[np.ndarray, str, str | None]:
    """``(C-ordered little-endian array, safetensors dtype, NumPy view dtype or None)``."""
    dt = a.dtype
    if dt.fields is not None or dt.subdtype is not None or dt.kind not in "biufUSMm":
        kind = {"c": "complex", "O": "object", "V": "structured/void"}.get(dt.kind, str(dt))
        raise TypeError(f"array {name!r}: {kind} arrays cannot be saved (dtype {dt})")
    le = dt.newbyteorder("<")
    if dt.kind in "biuf":
        if le not in _CODES:
            raise TypeError(f"array {name!r}: dtype {dt} cannot be saved (supported: {sorted(_DTYPES)})")
        return np.asarray(a, dtype=le, order="C"), _CODES[le], None
    if dt.itemsize == 0:
        raise TypeError(f"array {name!r}: zero-width strings cannot be saved")
    stored = np.asarray(a, dtype=le, order="C")
    code = _VIEWS[dt.kind][1]
    if dt.kind in "US":                                   # (..., characters)
        return stored.reshape(stored.shape + (1,)).view(_DTYPES[code]), code, le.str
    return stored.view(_DTYPES[code]), code, le.str


def _bytes(a: np.ndarray) -> memoryview:
    return memoryview(a.reshape(-1).view(np.uint8))


def write_container(f: BinaryIO, description: str, arrays: dict[str, np.ndarray]) -> None:
    """Write ``description`` (JSON text) and ``arrays`` to the binary file ``f``."""
    entries = []
    views = {}
    for name, a in arrays.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"array names must be non-empty strings other than '__metadata__', got {name!r}")
        if not isinstance(a, np.ndarray):
            raise TypeError(f"array {name!r} must be a numpy.ndarray, got {type(a).__name__}")
        stored, code, view = _storable(name, a)
        if view is not None:
            views[name] = view
        entries.append((name, stored, code))
    entries.sort(key=lambda e: (-e[1].dtype.itemsize, e[0]))    # each tensor aligned to its item size
    header = {"__metadata__": {
        "format": MAGIC_FORMAT, "format_version": str(CONTAINER_VERSION),
        "rnnkit.json": description, "rnnkit.views": _json.dumps(views), _DIGEST_KEY: _ZERO_DIGEST,
    }}
    offset = 0
    for name, stored, code in entries:
        header[name] = {"dtype": code, "shape": list(stored.shape), "data_offsets": [offset, offset + stored.nbytes]}
        offset += stored.nbytes
    text = _json.dumps(header).encode("ascii")
    text += b" " * (-len(text) % 8)
    prefix = len(text).to_bytes(8, "little")
    digest = hashlib.sha256(prefix)
    digest.update(text)
    for _, stored, _ in entries:
        digest.update(_bytes(stored))
    slot = _digest_slot(_ZERO_DIGEST)
    text = text.replace(slot, _digest_slot(digest.hexdigest()), 1)
    f.write(prefix)
    f.write(text)
    for _, stored, _ in entries:
        f.write(_bytes(stored))


def _digest_slot(hexdigest: str) -> bytes:
    return f'"{_DIGEST_KEY}":"{hexdigest}"'.encode("ascii")


# -- reading ----------------------------------------------------------------------------
def _read_exact(f: BinaryIO, n: int, source: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise FileFormatError(f"{source}: the file ends early (truncated, or changed while being read)")
    return data


def _check_metadata(md, source: str) -> dict[str, str]:
    if not isinstance(md, dict) or not all(isinstance(v, str) for v in md.values()):
        raise FileFormatError(f"{source}: a safetensors file without rnnkit metadata, not an rnnkit file")
    if md.get("format") != MAGIC_FORMAT:
        raise FileFormatError(f"{source}: a safetensors file of format {md.get('format')!r}, not an rnnkit file")
    version = md.get("format_version", "")
    if not re.fullmatch(r"[0-9]{1,6}", version):
        raise FileFormatError(f"{source}: format_version must be a whole number, got {version!r}")
    if int(version) > CONTAINER_VERSION:
        raise FileFormatError(f"{source}: written in file format version {int(version)}, newer than this "
                              f"rnnkit reads ({CONTAINER_VERSION}); upgrade rnnkit to load it")
    if int(version) != CONTAINER_VERSION:
        raise FileFormatError(f"{source}: format_version {version} is not a safetensors rnnkit version "
                              f"(version 1 files are .npz archives)")
    missing = [k for k in ("rnnkit.json", "rnnkit.views", _DIGEST_KEY) if k not in md]
    if missing:
        raise FileFormatError(f"{source}: rnnkit metadata lacks {missing}")
    if not re.fullmatch(r"[0-9a-f]{64}", md[_DIGEST_KEY]):
        raise FileFormatError(f"{source}: {_DIGEST_KEY} must be 64 hex digits, got {md[_DIGEST_KEY][:80]!r}")
    return md


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _tensor_index(header: dict, data_len: int, source: str) -> list[tuple[int, str, np.dtype, tuple]]:
    """``[(begin, name, dtype, shape)]`` sorted by offset, checked to tile ``data_len`` bytes."""
    index = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        where = f"{source}: tensor {name[:80]!r}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise FileFormatError(f"{where}: entry must have exactly dtype, shape, data_offsets")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if code in ("C64", "C128", "COMPLEX64", "COMPLEX128") or (isinstance(code, str) and code.startswith("C")):
            raise FileFormatError(f"{where}: complex dtype {code} is not supported (weights are real)")
        if code not in _DTYPES:
            raise FileFormatError(f"{where}: unsupported dtype {str(code)[:20]!r} (supported: {sorted(_DTYPES)})")
        if not isinstance(shape, list) or len(shape) > MAX_NDIM or not all(_int(d) and 0 <= d < 2**62 for d in shape):
            raise FileFormatError(f"{where}: shape must be a list of at most {MAX_NDIM} sizes >= 0, got {shape!r:.80}")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_int(o) for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_len):
            raise FileFormatError(f"{where}: data_offsets {offsets!r:.80} do not lie within the "
                                  f"{data_len} data bytes (truncated?)")
        dt = _DTYPES[code]
        n = dt.itemsize
        for d in shape:
            n *= d
        if n != offsets[1] - offsets[0]:
            raise FileFormatError(f"{where}: shape {shape} of {code} needs {n} bytes, data_offsets give "
                                  f"{offsets[1] - offsets[0]}")
        index.append((offsets[0], offsets[1], name, dt, tuple(shape)))
    index.sort(key=lambda e: (e[0], e[1]))
    end = 0
    for begin, stop, name, _, _ in index:
        if begin != end:
            raise FileFormatError(f"{source}: tensor {name[:80]!r} starts at byte {begin} of the data, expected {end} "
                                  "(tensors must tile the data without gaps or overlaps)")
        end = stop
    if end != data_len:
        raise FileFormatError(f"{source}: the tensors cover {end} of the file's {data_len} data bytes "
                              "(truncated or padded)")
    return [(b, name, dt, shape) for b, _, name, dt, shape in index]


def _apply_view(name: str, a: np.ndarray, view: str, source: str) -> np.ndarray:
    where = f"{source}: tensor {name[:80]!r}"
    kind = view[1:2]
    pattern, code = _VIEWS.get(kind, (None, None))
    if pattern is None or not pattern.fullmatch(view):
        raise FileFormatError(f"{where}: unsupported view dtype {view[:40]!r}")
    if a.dtype != _DTYPES[code]:
        raise FileFormatError(f"{where}: a {view} array is stored as {code}, got {_CODES[a.dtype]}")
    dt = np.dtype(view)
    if kind in "US":
        width = dt.itemsize // a.dtype.itemsize
        if a.ndim == 0 or a.shape[-1] != width:
            raise FileFormatError(f"{where}: a {view} array needs a last dimension of {width}, got shape {a.shape}")
        return a.view(dt).reshape(a.shape[:-1])
    return a.view(dt)


def read_container(f: BinaryIO, size: int, source: str) -> tuple[str, dict[str, np.ndarray]]:
    """``(description JSON text, arrays)`` from an rnnkit file ``f`` of ``size`` bytes."""
    if size < 8:
        raise FileFormatError(f"{source}: {size} bytes is too short for an rnnkit file (truncated?)")
    prefix = _read_exact(f, 8, source)
    n = int.from_bytes(prefix, "little")
    if n > size - 8:
        raise FileFormatError(f"{source}: the header length {n} exceeds the file's {size} bytes (truncated?)")
    if n > MAX_HEADER:
        raise FileFormatError(f"{source}: a header of {n} bytes is larger than the {MAX_HEADER} this reader accepts")
    text = _read_exact(f, n, source)
    header = _json.loads(text, source, "header")
    if not isinstance(header, dict):
        raise FileFormatError(f"{source}: the header must be a JSON object, got {type(header).__name__}")
    md = _check_metadata(header.get("__metadata__"), source)
    slot = _digest_slot(md[_DIGEST_KEY])
    if text.count(slot) != 1:
        raise FileFormatError(f"{source}: the checksum entry is not where rnnkit writes it (edited file?)")
    index = _tensor_index(header, size - 8 - n, source)
    digest = hashlib.sha256(prefix)
    digest.update(text.replace(slot, _digest_slot(_ZERO_DIGEST), 1))
    arrays = {}
    for _, name, dt, shape in index:                  # in file order: read and hash as we go
        a = np.empty(shape, dt)
        buf = _bytes(a)
        if len(buf) and (f.readinto(buf) != len(buf)):
            raise FileFormatError(f"{source}: the file ends early (truncated, or changed while being read)")
        digest.update(buf)
        arrays[name] = a
    if digest.hexdigest() != md[_DIGEST_KEY]:
        raise FileFormatError(f"{source}: checksum mismatch: the file is corrupt (a changed or damaged byte)")
    views = _json.loads(md["rnnkit.views"], source, "rnnkit.views")
    if not isinstance(views, dict) or not all(isinstance(v, str) and k in arrays for k, v in views.items()):
        raise FileFormatError(f"{source}: rnnkit.views must map tensor names to dtype names")
    for name, view in views.items():
        arrays[name] = _apply_view(name, arrays[name], view, source)
    return md["rnnkit.json"], arrays
