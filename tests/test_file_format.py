"""The file format of docs/file_format.md: its layout read by hand, and every refusal.

Hostile files are built by hand (tests/file_helpers.py) with a correct checksum, so each
test reaches the check it is about; each refusal is a FileFormatError naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tracemalloc

import numpy as np
import pytest

import rnnkit
from file_helpers import ZERO, container_bytes, model_file_bytes
from rnnkit import nn
from rnnkit.errors import FileFormatError
from rnnkit.io import read_archive, write_archive


def _header(raw: bytes) -> tuple[int, dict]:
    n = int.from_bytes(raw[:8], "little")
    return n, json.loads(raw[8:8 + n])


def test_layout_is_the_documented_one(tmp_path):
    path = tmp_path / "m.rnnkit"
    model = nn.LSTM(3, 4, proj_size=2, rng=0).double()
    rnnkit.save_model(model, path, metadata={"ids": np.arange(3, dtype=np.int32)})
    raw = path.read_bytes()
    n, header = _header(raw)
    assert n % 8 == 0 and raw[8 + n - 1:8 + n] in (b"}", b" ")
    md = header.pop("__metadata__")
    assert set(md) == {"format", "format_version", "rnnkit.json", "rnnkit.views", "rnnkit.sha256"}
    assert md["format"] == "rnnkit" and md["format_version"] == "2"
    zeroed = raw.replace(md["rnnkit.sha256"].encode(), ZERO.encode(), 1)
    assert hashlib.sha256(zeroed).hexdigest() == md["rnnkit.sha256"]          # the whole file
    data = raw[8 + n:]
    spans = sorted(e["data_offsets"] for e in header.values())
    assert spans[0][0] == 0 and spans[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))                 # back to back
    for name, p in model.named_parameters():
        e = header["param/" + name]
        assert e["dtype"] == "F64" and e["shape"] == list(p.shape)
        begin, end = e["data_offsets"]
        assert begin % 8 == 0
        np.testing.assert_array_equal(np.frombuffer(data[begin:end], "<f8").reshape(p.shape), p.data, err_msg=name)
    description = json.loads(md["rnnkit.json"])
    assert description["format"] == "rnnkit.model" and description["version"] == 1
    key = description["metadata"]["__dict__"][0][1]["__array__"]
    assert header[key]["dtype"] == "I32"


def test_a_file_built_from_the_document_loads(tmp_path):
    w, b = np.arange(6, dtype=np.float32).reshape(3, 2) / 10, np.array([1, -1, 0.5], np.float32)
    config = {"class": "Linear", "args": [2, 3], "kwargs": {}}
    path = tmp_path / "hand.rnnkit"
    path.write_bytes(model_file_bytes(config, {"weight": w, "bias": b}))
    fc = rnnkit.load_model(path)
    x = np.array([[1.0, 2.0]], np.float32)
    np.testing.assert_allclose(fc(x), x @ w.T + b, rtol=1e-6)


def test_arrays_of_every_kind_round_trip_bitwise(tmp_path):
    arrays = {
        "f32": np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32),
        "f64_big_endian": np.arange(5, dtype=">f8"), "f16": np.array([1.5, -2], np.float16),
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "strided": np.arange(10.0)[::3],
        "i8": np.array([-1, 2], np.int8), "u64": np.array([2**63], np.uint64), "bool": np.array([True, False]),
        "scalar": np.array(3.5), "empty": np.zeros((0, 3)), "labels": np.array(["cat", "dög"]),
        "bytes": np.array([b"ab", b"c"]), "dates": np.array(["2024-02-29", "1970-01-01"], "datetime64[D]"),
        "durations": np.array([5, -1], "timedelta64[ms]"), "nan_ok_outside_weights": np.array([np.nan, np.inf]),
    }
    write_archive(tmp_path / "a.rnnkit", {"format": "x", "version": 1}, arrays)
    meta, back = read_archive(tmp_path / "a.rnnkit", "x")
    assert meta == {"format": "x", "version": 1} and sorted(back) == sorted(arrays)
    for k, a in arrays.items():
        assert back[k].dtype == a.dtype.newbyteorder("<") and back[k].shape == a.shape, k
        assert back[k].tobytes() == np.ascontiguousarray(a, a.dtype.newbyteorder("<")).tobytes(), k
        assert back[k].flags.writeable and back[k].flags.c_contiguous, k


@pytest.mark.parametrize("bad, match", [
    (np.array([1 + 2j]), "complex"), (np.array([object()], dtype=object), "object"),
    (np.zeros(2, dtype=[("a", "f4")]), "structured"),
])
def test_arrays_that_cannot_be_saved(tmp_path, bad, match):
    with pytest.raises(TypeError, match=match):
        write_archive(tmp_path / "a.rnnkit", {"format": "x"}, {"bad": bad})
    with pytest.raises(TypeError, match="cannot be saved"):
        rnnkit.save_model(nn.Linear(2, 2), tmp_path / "m.rnnkit", metadata={"bad": bad})
    assert not os.listdir(tmp_path)


def test_nan_weights_are_not_saved_and_not_loaded(tmp_path):
    path = tmp_path / "m.rnnkit"
    model = nn.GRU(2, 3, rng=0)
    rnnkit.save_model(model, path)
    before = path.read_bytes()
    model.weight_hh_l0.data[1, 2] = np.nan
    with pytest.raises(ValueError, match="weight_hh_l0.*NaN"):
        rnnkit.save_model(model, path)
    assert path.read_bytes() == before
    config = {"class": "Linear", "args": [2, 1], "kwargs": {}}
    path.write_bytes(model_file_bytes(config, {"weight": np.array([[np.inf, 1]], np.float32),
                                               "bias": np.zeros(1, np.float32)}))
    with pytest.raises(FileFormatError, match="'weight' hold NaN or inf") as err:
        rnnkit.load_model(path)
    assert str(path) in str(err.value)


def _linear_file(**changes) -> bytes:
    config = {"class": "Linear", "args": [2, 1], "kwargs": {}}
    description = {"format": "rnnkit.model", "version": 1, "metadata": None,
                   "model": {"config": config, "parameters": ["weight", "bias"]}}
    tensors = {"param/weight": ("F32", [1, 2], np.ones(2, "<f4").tobytes()),
               "param/bias": ("F32", [1], np.zeros(1, "<f4").tobytes())}
    for key, value in changes.items():
        if key == "description":
            description = value(description)
        elif key == "tensors":
            tensors = value(tensors)
    extra = {k: v for k, v in changes.items() if k in ("metadata", "raw_header", "version")}
    return container_bytes(description, tensors, **extra)


def _desc(**top):
    def edit(d):
        d.update(top)
        return d
    return edit


def _config(cls, args, kwargs=None):
    return _desc(model={"config": {"class": cls, "args": args, "kwargs": kwargs or {}},
                        "parameters": ["weight", "bias"]})


HOSTILE = {
    "newer container": (dict(version="3"), "newer than this rnnkit reads"),
    "newer description": (dict(description=_desc(version=2)), "newer than this rnnkit reads"),
    "not rnnkit metadata": (dict(metadata={"format": "pt"}), "not an rnnkit file"),
    "complex tensor": (dict(tensors=lambda t: {**t, "arr/0": ("C64", [1], b"\0" * 8)}), "complex dtype"),
    "bfloat16 tensor": (dict(tensors=lambda t: {**t, "arr/0": ("BF16", [1], b"\0" * 2)}), "unsupported dtype"),
    "shape and bytes disagree": (dict(raw_header={"param/bias": {"dtype": "F32", "shape": [2],
                                                                 "data_offsets": [8, 12]}}), "needs 8 bytes"),
    "overlapping tensors": (dict(raw_header={"param/bias": {"dtype": "F32", "shape": [1],
                                                            "data_offsets": [4, 8]}}), "tile the data"),
    "float shape": (dict(raw_header={"param/bias": {"dtype": "F32", "shape": [1.0],
                                                    "data_offsets": [8, 12]}}), "shape must be"),
    "extra entry key": (dict(raw_header={"param/bias": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12],
                                                        "x": 1}}), "exactly dtype"),
    "view of a missing tensor": (dict(metadata={"rnnkit.views": '{"nope": "<U3"}'}), "rnnkit.views"),
    "model entry a number": (dict(description=_desc(model=5)), "model entry must be a JSON object"),
    "model entry a list": (dict(description=_desc(model=[1, 2])), "model entry must be a JSON object"),
    "parameters not names": (dict(description=_desc(model={"config": {}, "parameters": [1]})), "distinct names"),
    "config not an object": (dict(description=_desc(model={"config": [], "parameters": ["weight", "bias"]})),
                             "class/args/kwargs"),
    "integer weights": (dict(tensors=lambda t: {**t, "param/bias": ("I32", [1], b"\0" * 4)}),
                        "float16, float32 or float64"),
    "weights of the wrong shape": (dict(tensors=lambda t: {**t, "param/weight": ("F32", [2, 1], b"\0" * 8)}),
                                   "shape"),
    "missing weights": (dict(tensors=lambda t: {"param/weight": t["param/weight"]}), "missing weights 'bias'"),
    "unknown class": (dict(description=_config("os.system", [])), "unknown module class"),
    "constructor refuses": (dict(description=_config("Linear", [-2, 1])), "does not build"),
    "huge size": (dict(description=_config("Linear", [10**12, 1])), "larger than any size"),
    "huge hidden": (dict(description=_config("LSTM", [2, 10**9])), "larger than any size"),
    "many layers": (dict(description=_config("GRU", [2, 64], {"num_layers": 1000})), "initial weights"),
    "big square": (dict(description=_config("Linear", [1024, 1024])), "initial weights"),
    "nested big": (dict(description=_config("Sequential", [{"__module__": {
        "class": "LSTM", "args": [1000, 1000], "kwargs": {}}}])), "initial weights"),
    "deep nesting": (dict(description=_config("Linear", [2, 1], {"bias": json.loads("[" * 90 + "]" * 90)})),
                     "nested more than"),
    "bad tag": (dict(description=_config("Linear", [2, {"__eval__": "1"}])), "unknown tag"),
    "array by a list key": (dict(description=_config("Linear", [2, {"__array__": [1]}])), "missing array"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_files_are_refused_before_building(tmp_path, case):
    changes, match = HOSTILE[case]
    path = tmp_path / "hostile.rnnkit"
    path.write_bytes(_linear_file(**changes))
    tracemalloc.start()
    try:
        with pytest.raises(FileFormatError, match=match) as err:
            rnnkit.load_model(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(err.value)
    assert peak < 32 * 2**20, f"{case}: {peak} bytes allocated before the refusal"


def test_the_unchanged_linear_file_loads(tmp_path):
    path = tmp_path / "ok.rnnkit"
    path.write_bytes(_linear_file())
    fc = rnnkit.load_model(path)
    np.testing.assert_array_equal(fc.weight.data, [[1, 1]])


@pytest.mark.parametrize("blob, match", [
    (b"", "too short"), (b"\x93NUMPY\x01\x00", "NumPy .npy"), (b"a,b\n1,2\n3,4\n", "not an rnnkit file"),
    ((2**63).to_bytes(8, "little") + b"{}", "exceeds"),
    (b"\x02\0\0\0\0\0\0\0{}", "rnnkit metadata"), (b"\x08\0\0\0\0\0\0\0[1]     ", "not an rnnkit file"),
    (b"\x10\0\0\0\0\0\0\0{\"a\":1,\"a\":2}   ", "duplicate key"),
])
def test_files_that_are_not_rnnkit_files(tmp_path, blob, match):
    path = tmp_path / "x.rnnkit"
    path.write_bytes(blob)
    with pytest.raises(FileFormatError, match=match) as err:
        rnnkit.load_model(path)
    assert str(path) in str(err.value)


def test_a_real_npy_and_a_directory_are_refused(tmp_path):
    np.save(tmp_path / "w.npy", np.zeros(3))
    with pytest.raises(FileFormatError, match=r"w\.npy: a NumPy \.npy array"):
        rnnkit.load_model(tmp_path / "w.npy")
    with pytest.raises(FileFormatError, match="not a regular file"):
        rnnkit.load_model(tmp_path)
    with pytest.raises(FileNotFoundError):
        rnnkit.load_model(tmp_path / "missing.rnnkit")


def test_checksum_catches_a_changed_weight(tmp_path):
    path = tmp_path / "m.rnnkit"
    rnnkit.save_model(nn.Linear(3, 2, rng=0), path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01                                   # the last byte of the last tensor
    path.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="checksum mismatch"):
        rnnkit.load_model(path)


def test_a_model_of_another_kind_is_named(tmp_path):
    write_archive(tmp_path / "c.rnnkit", {"format": "rnnkit.checkpoint", "version": 1}, {})
    with pytest.raises(FileFormatError, match="expected a 'rnnkit.model' file, got format 'rnnkit.checkpoint'"):
        rnnkit.load_model(tmp_path / "c.rnnkit")


def test_malformed_nested_values_name_the_file(tmp_path):
    from rnnkit.io import unpack

    write_archive(tmp_path / "s.rnnkit", {"format": "x", "state": {"__tuple__": 3}}, {})
    meta, arrays = read_archive(tmp_path / "s.rnnkit")
    with pytest.raises(FileFormatError, match=r"s\.rnnkit: optimizer state: a tuple must be a JSON list"):
        unpack(meta["state"], arrays, "optimizer state")
