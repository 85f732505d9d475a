"""save_model / load_model: configuration + weights in one file without pickle, allow-listed classes."""

from __future__ import annotations

import json
import os
from collections import OrderedDict

import numpy as np
import pytest

import rnnkit
import rnnkit.io._archive
from rnnkit import nn
from rnnkit.models import CharRNN, SequenceModel
from rnnkit.serialization import FileFormatError, pack, read_npz, register, unpack, write_npz_atomic

LAYERS = [
    ("RNN", lambda: nn.RNN(3, 5, num_layers=2, nonlinearity="relu", rng=1)),
    ("LSTM", lambda: nn.LSTM(3, 6, proj_size=4, bidirectional=True, rng=2)),
    ("GRU", lambda: nn.GRU(3, 5, batch_first=True, reset_after=False, dtype=np.float64, rng=3)),
    ("GRU-bi-sum", lambda: nn.GRU(3, 4, bidirectional=True, merge_mode="sum", num_layers=2, rng=4)),
]


def _outputs(model, x, **kw):
    model.eval()
    out = model(x, **kw)
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("name,make", LAYERS, ids=[n for n, _ in LAYERS])
def test_recurrent_layer_round_trip(tmp_path, name, make):
    model = make()
    path = tmp_path / "m.npz"
    rnnkit.save_model(model, path)
    loaded = rnnkit.load_model(path)
    assert type(loaded) is type(model)
    assert repr(loaded) == repr(model)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    np.testing.assert_array_equal(_outputs(loaded, x), _outputs(model, x))
    for (n1, p1), (n2, p2) in zip(model.named_parameters(), loaded.named_parameters()):
        assert n1 == n2 and p1.dtype == p2.dtype
        np.testing.assert_array_equal(p1.data, p2.data, err_msg=n1)


def test_sequential_round_trip_keeps_names_and_dtype(tmp_path):
    model = nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(3, 8, rng=0)), ("act", nn.Tanh()), ("drop", nn.Dropout(0.1, rng=0)),
        ("fc2", nn.Linear(8, 2, rng=1)),
    ])).double()
    rnnkit.save_model(model, tmp_path / "seq.npz")
    loaded = rnnkit.load_model(tmp_path / "seq.npz")
    assert [n for n, _ in loaded.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert loaded.fc1.weight.dtype == np.float64
    x = np.random.default_rng(1).standard_normal((5, 3))
    np.testing.assert_array_equal(_outputs(loaded, x), _outputs(model, x))


def test_sequence_models_round_trip(tmp_path):
    seq = SequenceModel(3, 6, 2, cell="lstm", num_layers=2, dropout=0.2, bidirectional=True, output="last", rng=0)
    char = CharRNN(7, hidden_size=8, num_layers=1, cell="gru", embedding_dim=5, rng=1)
    x = np.random.default_rng(2).standard_normal((3, 4, 3))
    ids = np.random.default_rng(3).integers(0, 7, size=(2, 6))
    for model, inp in ((seq, x), (char, ids)):
        rnnkit.save_model(model, tmp_path / "m.npz", metadata={"vocab": "abcdefg"})
        loaded, meta = rnnkit.load_model(tmp_path / "m.npz", return_metadata=True)
        assert meta == {"vocab": "abcdefg"}
        assert type(loaded) is type(model) and repr(loaded) == repr(model)
        np.testing.assert_array_equal(_outputs(loaded, inp), _outputs(model, inp))
    # the outermost constructor's arguments are what is recorded (CharRNN's, not SequenceModel's)
    args, kwargs = char._config
    assert args == (7, 8, 1) and kwargs["cell"] == "gru" and kwargs["embedding_dim"] == 5


def test_file_is_safetensors_with_json_config(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy", reason="the safetensors package is not installed")
    path = tmp_path / "g.rnnkit"
    gru = nn.GRU(2, 3, rng=0)
    rnnkit.save_model(gru, path)
    tensors = safetensors_numpy.load_file(str(path))          # another reader of the layout
    assert sorted(tensors) == sorted("param/" + n for n, _ in gru.named_parameters())
    for name, p in gru.named_parameters():
        np.testing.assert_array_equal(tensors["param/" + name], p.data, err_msg=name)
    n = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8:8 + n])
    meta = json.loads(header["__metadata__"]["rnnkit.json"])
    assert header["__metadata__"]["format"] == "rnnkit" and header["__metadata__"]["format_version"] == "2"
    assert meta["format"] == "rnnkit.model"
    assert meta["model"]["config"]["class"] == "GRU"
    assert "rng" not in meta["model"]["config"]["kwargs"]


def _rewrite_class(path, new_name):
    meta, arrays = read_npz(path)
    meta["model"]["config"]["class"] = new_name
    write_npz_atomic(path, meta, arrays)


@pytest.mark.parametrize("bad", ["Evil", "os.system", "subprocess.Popen", "builtins.eval", "Module.__init__"])
def test_unknown_class_is_refused(tmp_path, bad):
    path = tmp_path / "m.npz"
    rnnkit.save_model(nn.Linear(2, 3, rng=0), path)
    _rewrite_class(path, bad)
    with pytest.raises(FileFormatError, match="unknown module class"):
        rnnkit.load_model(path)


def test_nested_unknown_class_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    rnnkit.save_model(nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh()), path)
    meta, arrays = read_npz(path)
    meta["model"]["config"]["args"][1]["__module__"]["class"] = "pickle.loads"
    write_npz_atomic(path, meta, arrays)
    with pytest.raises(FileFormatError, match="pickle.loads"):
        rnnkit.load_model(path)


def test_corrupt_and_foreign_files_are_refused(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(FileFormatError):
        rnnkit.load_model(junk)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(3))
    with pytest.raises(FileFormatError, match="__meta__"):
        rnnkit.load_model(foreign)
    objs = tmp_path / "objs.npz"
    np.savez(objs, __meta__=np.array([{"format": "rnnkit.model"}], dtype=object))
    with pytest.raises(FileFormatError):
        rnnkit.load_model(objs)


class Scaled(nn.Module):
    """A user module: Linear then a fixed scale."""

    def __init__(self, n: int, scale: float = 2.0, *, rng=None):
        super().__init__()
        self.fc = nn.Linear(n, n, rng=rng)
        self.scale = scale

    def forward(self, x):
        return self.fc(x) * self.scale


def test_custom_class_needs_register(tmp_path):
    model = Scaled(3, scale=0.5, rng=0)
    with pytest.raises(TypeError, match="register"):
        rnnkit.save_model(model, tmp_path / "s.npz")
    register(Scaled, name="test_serialization.Scaled")
    with pytest.raises(ValueError, match="already registered"):
        register(nn.Linear, name="test_serialization.Scaled")
    rnnkit.save_model(model, tmp_path / "s.npz")
    loaded = rnnkit.load_model(tmp_path / "s.npz")
    assert isinstance(loaded, Scaled) and loaded.scale == 0.5
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(loaded(x), model(x))


def test_pack_unpack_round_trip():
    value = {
        0: {"step": 3, "exp_avg": np.arange(6.0).reshape(2, 3)},
        "groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1]}],
        "inf": float("inf"), "nan": float("nan"), "dtype": np.dtype(np.float64),
        "np_scalar": np.float32(1.5), "flag": np.bool_(True), (1, 2): "tuple key",
        "od": OrderedDict([("b", 1), ("a", 2)]),
    }
    arrays = {}
    text = json.dumps(pack(value, arrays), allow_nan=False)    # strict JSON
    back = unpack(json.loads(text), arrays)
    np.testing.assert_array_equal(back[0]["exp_avg"], value[0]["exp_avg"])
    assert back[0]["step"] == 3 and back["groups"][0]["betas"] == (0.9, 0.999)
    assert back["inf"] == float("inf") and np.isnan(back["nan"]) and back["dtype"] == np.float64
    assert back["np_scalar"] == 1.5 and back["flag"] is True and back[(1, 2)] == "tuple key"
    assert isinstance(back["od"], OrderedDict) and list(back["od"]) == ["b", "a"]
    with pytest.raises(TypeError, match="cannot save"):
        pack({"f": lambda: 0}, {})


def test_save_is_atomic_on_crash(tmp_path, monkeypatch):
    path = tmp_path / "m.rnnkit"
    first = nn.GRU(2, 3, rng=0)
    rnnkit.save_model(first, path)

    def crash(f, description, arrays):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(rnnkit.io._archive, "write_container", crash)
    with pytest.raises(OSError, match="disk full"):
        rnnkit.save_model(nn.GRU(2, 3, rng=1), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.rnnkit"]                    # no temp file left behind
    loaded = rnnkit.load_model(path)
    np.testing.assert_array_equal(loaded.weight_hh_l0.data, first.weight_hh_l0.data)
