"""Property-based round trips through the file format (hypothesis): random modules come back
with the same class, configuration and bitwise weights and outputs; random nested values and
arrays (every dtype the format stores, any layout) come back equal, dtype and shape included.
Random damage is in test_file_fuzz.py."""

from __future__ import annotations

import json
from collections import OrderedDict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rnnkit
from rnnkit import nn
from rnnkit.io import module_config, pack, read_archive, unpack, write_archive
from rnnkit.models import SequenceModel


@st.composite
def recurrent_layers(draw):
    cls = draw(st.sampled_from([nn.RNN, nn.LSTM, nn.GRU]))
    H = draw(st.integers(2, 6))
    kw = {"num_layers": draw(st.integers(1, 3)), "bidirectional": draw(st.booleans()),
          "batch_first": draw(st.booleans()), "bias": draw(st.booleans()),
          "dtype": draw(st.sampled_from([np.float32, np.float64]))}
    if kw["bidirectional"]:
        kw["merge_mode"] = draw(st.sampled_from(["concat", "sum", "mul", "ave"]))
    if cls is nn.LSTM:
        kw["proj_size"] = draw(st.integers(0, H - 1))
    if cls is nn.RNN:
        kw["nonlinearity"] = draw(st.sampled_from(["tanh", "relu", "sigmoid"]))
    if cls is nn.GRU:
        kw["reset_after"] = draw(st.booleans())
    return cls(draw(st.integers(1, 5)), H, rng=draw(st.integers(0, 2**31)), **kw)


@st.composite
def mlps(draw):
    sizes = draw(st.lists(st.integers(1, 6), min_size=2, max_size=4))
    acts = [nn.Tanh, nn.ReLU, nn.Sigmoid, nn.Identity]
    mods = []
    for a, b in zip(sizes, sizes[1:]):
        mods += [nn.Linear(a, b, bias=draw(st.booleans()), rng=draw(st.integers(0, 99))), draw(st.sampled_from(acts))()]
    return nn.Sequential(*mods)


@st.composite
def sequence_models(draw):
    return SequenceModel(draw(st.integers(1, 4)), draw(st.integers(2, 6)), draw(st.integers(1, 3)),
                         cell=draw(st.sampled_from(["rnn", "lstm", "gru"])), num_layers=draw(st.integers(1, 2)),
                         bidirectional=draw(st.booleans()), output=draw(st.sampled_from(["last", "sequence"])),
                         rng=draw(st.integers(0, 99)))


def _input(model, rng):
    if isinstance(model, nn.Sequential):
        return rng.standard_normal((3, model[0].in_features))
    rnn = model.rnn if isinstance(model, SequenceModel) else model
    return rng.standard_normal((2, 3, rnn.input_size))


def _outputs(model, x):
    model.eval()
    out = model(x)
    return out[0] if isinstance(out, tuple) else out


@settings(max_examples=40, deadline=None)
@given(st.one_of(recurrent_layers(), mlps(), sequence_models()), st.integers(0, 2**31))
def test_random_modules_round_trip_bitwise(tmp_path_factory, model, seed):
    path = tmp_path_factory.mktemp("m") / "m.rnnkit"
    rnnkit.save_model(model, path)
    loaded = rnnkit.load_model(path)
    assert type(loaded) is type(model)
    assert json.dumps(module_config(loaded)) == json.dumps(module_config(model))
    for (n1, p1), (n2, p2) in zip(model.named_parameters(), loaded.named_parameters(), strict=True):
        assert n1 == n2 and p1.dtype == p2.dtype and p1.data.tobytes() == p2.data.tobytes(), n1
    x = _input(model, np.random.default_rng(seed))
    np.testing.assert_array_equal(_outputs(loaded, x), _outputs(model, x))


DTYPES = st.sampled_from(["f2", "f4", "f8", ">f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "?",
                          "U3", "S2", "M8[s]", "m8[us]"])


@st.composite
def arrays(draw):
    a = draw(hnp.arrays(np.dtype(draw(DTYPES)), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
    layout = draw(st.sampled_from(["c", "f", "reversed"]))
    if layout == "f":
        a = np.asfortranarray(a)
    elif layout == "reversed" and a.ndim:
        a = np.ascontiguousarray(a[::-1])[::-1]
    return a


SCALARS = st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats() | st.text(max_size=8)
VALUES = st.recursive(
    SCALARS | arrays(),
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=4) | st.integers(-5, 5), inner, max_size=3)
    | st.dictionaries(st.text(max_size=4), inner, max_size=3).map(OrderedDict),
    max_leaves=12,
)


def _same(a, b):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.shape == b.shape and b.dtype == a.dtype.newbyteorder("<")
        assert np.asarray(a, b.dtype).tobytes() == b.tobytes()
    elif isinstance(a, float) and a != a:
        assert isinstance(b, float) and b != b
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    else:
        assert type(a) is type(b) and a == b


@settings(max_examples=80, deadline=None)
@given(VALUES)
def test_random_values_round_trip(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("v") / "v.rnnkit"
    stored: dict = {}
    write_archive(path, {"format": "t", "value": pack(value, stored)}, stored)
    meta, back = read_archive(path, "t")
    _same(value, unpack(meta["value"], back))
