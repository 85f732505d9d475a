"""Files of rnnkit 0.1 (the ``.npz`` layout, version 1) still load; hostile ones are refused.

``tests/fixtures/v1/`` was written by rnnkit 0.1 itself (``make_v1.py``), with the outputs
that release computed on a fixed input.
"""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnkit
from file_helpers import write_v1, zip_with
from rnnkit import optim
from rnnkit.errors import FileFormatError
from rnnkit.io import model_state, read_archive
from rnnkit.train import Trainer, load_checkpoint, load_checkpoint_model

V1 = os.path.join(os.path.dirname(__file__), "fixtures", "v1")


def _expected():
    with open(os.path.join(V1, "expected.json")) as f:
        return {k: np.array(v, np.float32) for k, v in json.load(f).items()}


def test_models_of_release_0_1_load_and_predict_as_then():
    exp = _expected()
    gru = rnnkit.load_model(os.path.join(V1, "gru.npz"))
    gru.eval()
    np.testing.assert_array_equal(gru(exp["x"])[0], exp["gru_out"])
    seq, meta = rnnkit.load_model(os.path.join(V1, "seq_lstm.npz"), return_metadata=True)
    seq.eval()
    out = seq(np.ascontiguousarray(exp["x"].transpose(1, 0, 2)))
    np.testing.assert_array_equal(out[0] if isinstance(out, tuple) else out, exp["seq_out"])
    assert meta["vocab"] == "abc" and meta["n"] == 3 and meta["classes"].tolist() == ["x", "yy"]


def test_a_checkpoint_of_release_0_1_resumes(tmp_path):
    path = os.path.join(V1, "checkpoint.npz")
    model = load_checkpoint_model(path)
    trainer = Trainer(model, "cross_entropy", optim.Adam(model.parameters(), lr=1e-2), progress=False, rng=0)
    meta = load_checkpoint(path, trainer)
    assert meta["format"] == "rnnkit.checkpoint" and trainer.step == 0
    rnnkit.save_model(model, tmp_path / "again.rnnkit")             # saved again in the current layout
    assert (tmp_path / "again.rnnkit").read_bytes()[8:9] == b"{"


def _v1_model(tmp_path):
    model = rnnkit.nn.Linear(2, 1, rng=0)
    arrays = {}
    meta = {"format": "rnnkit.model", "version": 1, "model": model_state(model, arrays, "param/"), "metadata": None}
    return meta, arrays


def _npy(a, version=(1, 0)) -> bytes:
    bio = io.BytesIO()
    np.lib.format.write_array(bio, a, version=version, allow_pickle=True)
    return bio.getvalue()


def _members(tmp_path, **replace):
    meta, arrays = _v1_model(tmp_path)
    members = {k + ".npy": _npy(v) for k, v in arrays.items()}
    members["__meta__.npy"] = _npy(np.frombuffer(json.dumps(meta).encode(), np.uint8))
    members.update(replace)
    return members


@pytest.mark.parametrize("case, replace, match", [
    ("raw member", {"notes.txt": b"hello"}, "not a .npy array"),
    ("complex weights", {"param/weight.npy": _npy(np.ones((1, 2), np.complex64))}, "complex"),
    ("object array", {"param/weight.npy": _npy(np.array([None, 1], dtype=object))}, "object"),
    ("structured array", {"param/weight.npy": _npy(np.zeros(2, [("a", "<f4")]))}, "structured"),
    ("npy version 3", {"param/weight.npy": _npy(np.ones((1, 2), np.float32), (3, 0))}, "version"),
    ("short data", {"param/weight.npy": _npy(np.ones((1, 2), np.float32))[:-4]}, "needs 8 bytes"),
    ("npy junk", {"param/weight.npy": b"\x93NUMPY\x01\x00\x10\x00{'descr': nonsense}\n"}, "not a valid .npy"),
    ("no meta", {"__meta__.npy": _npy(np.zeros(3))}, "no __meta__"),
    ("negative shape", {"param/weight.npy": _npy(np.ones(2, np.float32)).replace(b"(2,)", b"(-1, -2)")},
     "not a list of sizes"),
])
def test_hostile_version1_members(tmp_path, case, replace, match):
    path = tmp_path / "bad.npz"
    zip_with(path, _members(tmp_path, **replace))
    with pytest.raises(FileFormatError, match=match) as err:
        rnnkit.load_model(path)
    assert str(path) in str(err.value)


def test_compressed_and_duplicated_members_are_refused(tmp_path):
    path = tmp_path / "deflated.npz"
    zip_with(path, _members(tmp_path), compression=zipfile.ZIP_DEFLATED)
    with pytest.raises(FileFormatError, match="compressed"):
        rnnkit.load_model(path)
    path = tmp_path / "bzip2.npz"
    zip_with(path, _members(tmp_path), compression=zipfile.ZIP_BZIP2)
    with pytest.raises(FileFormatError, match=r"compressed \(zip method 12\)"):
        rnnkit.load_model(path)
    path = tmp_path / "twice.npz"
    members = _members(tmp_path)
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as zf:
        warnings.simplefilter("ignore", UserWarning)           # zipfile warns of the duplicate name
        for name, data in list(members.items()) + [("param/bias.npy", members["param/bias.npy"])]:
            zf.writestr(name, data)
    with pytest.raises(FileFormatError, match="names a member twice"):
        rnnkit.load_model(path)


def test_an_unsupported_compression_method_in_the_directory(tmp_path):
    path = tmp_path / "m.npz"
    meta, arrays = _v1_model(tmp_path)
    write_v1(path, meta, arrays)
    raw = bytearray(path.read_bytes())
    at = raw.rfind(b"PK\x01\x02")                     # the last central directory entry
    raw[at + 10] = 99                                 # its compression method
    path.write_bytes(bytes(raw))
    with pytest.raises(FileFormatError, match="zip method 99"):
        rnnkit.load_model(path)


@pytest.mark.parametrize("edit, match", [        # more cases in test_regressions.py
    (lambda m: m.replace('"version": 1', '"version": 7'), "newer than this rnnkit reads"),
    (lambda m: m.replace('"model": {', '"model": 3, "x": {', 1), "model entry must be a JSON object"),
    (lambda m: m.replace('"format": "rnnkit.model", ', '"format": "rnnkit.model", "format": 2, ', 1), "duplicate key"),
])
def test_hostile_version1_description(tmp_path, edit, match):
    meta, arrays = _v1_model(tmp_path)
    path = tmp_path / "bad.npz"
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(edit(json.dumps(meta)).encode(), np.uint8)
    np.savez(path, **payload)
    with pytest.raises(FileFormatError, match=match) as err:
        rnnkit.load_model(path)
    assert str(path) in str(err.value)


def test_truncated_version1_file(tmp_path):
    meta, arrays = _v1_model(tmp_path)
    write_v1(tmp_path / "m.npz", meta, arrays)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "m.npz").read_bytes()[:200])
    with pytest.raises(FileFormatError, match="not a readable rnnkit .npz file"):
        read_archive(tmp_path / "cut.npz")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120), st.sampled_from([b"\x01\x00", b"\x02\x00", b"\x03\x00", b"\x07\x01"]))
def test_any_npy_header_is_read_or_refused(body, version):
    from rnnkit.io._npz_v1 import _parse_npy

    n = len(body)
    head = n.to_bytes(2, "little") if version != b"\x02\x00" else n.to_bytes(4, "little")
    try:
        a = _parse_npy(b"\x93NUMPY" + version + head + body, "f.npz", "m.npy")
    except FileFormatError as err:
        assert "f.npz: member 'm.npy'" in str(err)
    else:
        assert a.dtype.kind in "biufUSMm" and a.flags.writeable


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["descr", "fortran_order", "shape", "x"]),
                       st.one_of(st.text(max_size=12), st.booleans(), st.integers(-3, 2**70),
                                 st.lists(st.integers(-2, 2**65), max_size=4).map(tuple))),
       st.binary(max_size=64))
def test_any_npy_header_dict_is_read_or_refused(header, data):
    from rnnkit.io._npz_v1 import _parse_npy

    text = repr(header).encode("latin1", "replace") + b"\n"
    try:
        _parse_npy(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + data, "f.npz", "m.npy")
    except FileFormatError:
        pass
