"""Files built by hand from the layout in docs/file_format.md (independent of rnnkit.io's
writer), to check the reader against the document and to make hostile files whose checksum
is right: a checksum catches damage, not an author who means harm."""

from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np

ZERO = "0" * 64


def container_bytes(description, tensors: dict, *, metadata: dict | None = None, raw_header: dict | None = None,
                    version: str = "2") -> bytes:
    """An rnnkit file: ``description`` (dict or JSON text), ``tensors`` {name: (code, shape, bytes)}.

    ``metadata`` entries replace the standard ones; ``raw_header`` entries replace tensor entries.
    """
    text = description if isinstance(description, str) else json.dumps(description)
    md = {"format": "rnnkit", "format_version": version, "rnnkit.json": text, "rnnkit.views": "{}",
          "rnnkit.sha256": ZERO}
    md.update(metadata or {})
    header = {"__metadata__": md}
    data = b""
    for name, (code, shape, blob) in tensors.items():
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    header.update(raw_header or {})
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    prefix = len(h).to_bytes(8, "little")
    digest = hashlib.sha256(prefix + h + data).hexdigest()
    h = h.replace(f'"rnnkit.sha256":"{ZERO}"'.encode(), f'"rnnkit.sha256":"{digest}"'.encode())
    return prefix + h + data


def model_file_bytes(config: dict, weights: dict[str, np.ndarray], metadata=None) -> bytes:
    """A model file (format rnnkit.model) holding ``config`` and ``weights`` as float32."""
    description = {"format": "rnnkit.model", "version": 1, "metadata": metadata,
                   "model": {"config": config, "parameters": list(weights)}}
    tensors = {}
    for name, w in weights.items():
        w = np.asarray(w)
        code = {"f": "F", "i": "I", "u": "U", "c": "C"}[w.dtype.kind] + str(8 * w.dtype.itemsize)
        tensors["param/" + name] = (code, w.shape, w.astype(w.dtype.newbyteorder("<")).tobytes())
    return container_bytes(description, tensors)


def write_v1(path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """A file in the version 1 layout rnnkit 0.1 wrote (``numpy.savez`` + ``__meta__``)."""
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **payload)


def zip_with(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    """A zip archive of raw ``members`` (for hostile version 1 files)."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
