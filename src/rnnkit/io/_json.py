"""Strict JSON for files: no NaN literals out, no duplicate keys in, errors as FileFormatError."""

from __future__ import annotations

import json

from rnnkit.errors import FileFormatError

__all__ = ["dumps", "loads"]


def dumps(value) -> str:
    """Compact, ASCII-only JSON; NaN/inf (which JSON has no words for) raise ``ValueError``."""
    return json.dumps(value, allow_nan=False, ensure_ascii=True, separators=(",", ":"))


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _no_constants(name):
    raise ValueError(f"{name} is not JSON")


def loads(data, source: str, what: str):
    """Parse ``data`` (bytes or str); a malformed text is a :class:`FileFormatError` naming
    ``source`` and ``what`` was being read."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray, memoryview)) else data
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:   # RecursionError: absurd nesting
        raise FileFormatError(f"{source}: corrupt {what} ({type(err).__name__}: {str(err)[:200]})") from None
