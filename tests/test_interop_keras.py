"""rnnkit.interop.to_keras / from_keras, checked by running Keras 3 itself (torch backend) on the
same inputs: SimpleRNN, LSTM, GRU (both reset_after forms), Bidirectional with each merge mode,
Dense, Embedding; round trips rnnkit -> Keras -> rnnkit keep every weight bit for bit."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras", reason="the 'keras' package is not installed (pip install 'rnnkit[keras]')")

from rnnkit import nn  # noqa: E402
from rnnkit._grad_mode import inference_mode  # noqa: E402
from rnnkit.interop import from_keras, to_keras  # noqa: E402

TOL = 1e-5


def run_keras(k, x):
    return keras.ops.convert_to_numpy(k(x, training=False))


def close(name, got, want, cfg):
    err = float(np.max(np.abs(np.asarray(got) - np.asarray(want))))
    assert np.shape(got) == np.shape(want) and err <= TOL, f"{cfg}: {name} differs by {err:.3g}"


def assert_round_trip(m, cfg):
    """Every weight back bit for bit; a bias Keras keeps as one vector comes back as b_ih = b_ih + b_hh, b_hh = 0."""
    back = from_keras(to_keras(m))
    assert repr(back) == repr(m), cfg
    a, b = m.state_dict(), back.state_dict()
    assert list(a) == list(b), cfg
    for k in a:
        if "bias_hh" in k:
            continue
        if "bias_ih" in k and not (m.mode == "GRU" and m.reset_after):
            want = a[k] + a[k.replace("_ih", "_hh")]
            assert np.array_equal(b[k], want) and not b[k.replace("_ih", "_hh")].any(), f"{cfg}: {k}"
        else:
            assert np.array_equal(a[k], b[k]), f"{cfg}: {k} not bit-identical"
    return back


LAYERS = [
    ("RNN", dict()),
    ("RNN", dict(nonlinearity="relu", bidirectional=True, merge_mode="sum")),
    ("RNN", dict(nonlinearity="sigmoid", num_layers=2)),
    ("GRU", dict(bidirectional=True, merge_mode="concat", num_layers=2)),
    ("GRU", dict(reset_after=False, bidirectional=True, merge_mode="ave")),
    ("GRU", dict(reset_after=False, bias=False)),
    ("LSTM", dict(bidirectional=True, merge_mode="mul")),
    ("LSTM", dict(num_layers=3, dropout=0.2)),
]


@pytest.mark.parametrize("kind,kw", LAYERS, ids=[f"{k}{i}" for i, (k, _) in enumerate(LAYERS)])
def test_layers_against_keras(rng, kind, kw):
    m = getattr(nn, kind)(4, 6, batch_first=True, rng=rng, **kw)
    k = to_keras(m)
    for B, T in ((1, 1), (5, 7)):
        x = rng.standard_normal((B, T, 4)).astype(np.float32)
        with inference_mode(m):
            out, _ = m(x)
        close("output", run_keras(k, x), out, f"{kind} {kw} B={B}")
    back = assert_round_trip(m, f"{kind} {kw}")
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    with inference_mode(m), inference_mode(back):
        close("round-trip output", back(x)[0], m(x)[0], f"{kind} {kw}")


def test_time_major_layer_gives_a_batch_first_keras_layer(rng):
    m = nn.GRU(3, 5, rng=rng)                        # time-major
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    with inference_mode(m):
        out, _ = m(x)
    close("output", run_keras(to_keras(m), x.transpose(1, 0, 2)), out.transpose(1, 0, 2), "time-major")


def test_from_keras_models(rng):
    """Keras layers built and initialised by Keras, converted to rnnkit: the same outputs."""
    keras.utils.set_random_seed(0)
    cases = [
        keras.layers.GRU(5, return_sequences=True, reset_after=False),
        keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True), merge_mode="ave"),
        keras.layers.Bidirectional(keras.layers.SimpleRNN(5, return_sequences=True, activation="relu"),
                                   merge_mode="mul"),
        keras.layers.Bidirectional(keras.layers.GRU(5)),               # return_sequences=False, concat
        keras.layers.LSTM(5),
    ]
    for k in cases:
        k.build((None, None, 3))
        for w in k.weights:                        # non-zero biases, so the bias layout is exercised
            w.assign(rng.uniform(-0.5, 0.5, size=w.shape).astype(np.float32))
        m = from_keras(k)
        x = rng.standard_normal((4, 6, 3)).astype(np.float32)
        with inference_mode(m):
            want = m(x) if isinstance(m, nn.Sequential) else m(x)[0]
        close("output", run_keras(k, x), want, k.name)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(10, 4),
                              keras.layers.LSTM(6, return_sequences=True), keras.layers.Dropout(0.3),
                              keras.layers.LSTM(6), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="sigmoid")])
    m = from_keras(model)
    assert isinstance(m[1], nn.LSTM) and m[1].num_layers == 2 and m[1].dropout == 0.3    # one stacked layer
    ids = rng.integers(0, 10, size=(5, 7))
    with inference_mode(m):
        close("output", run_keras(model, ids), m(ids), "Sequential")


def test_dense_embedding_and_sequential_round_trip(rng):
    seq = nn.Sequential(nn.Embedding(10, 4, rng=rng), nn.LSTM(4, 6, bidirectional=True, batch_first=True, rng=rng),
                        nn.LastStep(batch_first=True, bidirectional_split=True), nn.Dropout(0.1),
                        nn.Linear(12, 5, rng=rng), nn.Tanh(), nn.Linear(5, 2, rng=rng))
    ids = rng.integers(0, 10, size=(3, 8))
    with inference_mode(seq):
        want = seq(ids)
    k = to_keras(seq)
    close("output", run_keras(k, ids), want, "Sequential")
    back = from_keras(k)
    assert repr(back) == repr(seq)
    with inference_mode(back):
        close("round trip", back(ids), want, "Sequential")
    lin = nn.Linear(4, 3, rng=rng)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    close("Dense", run_keras(to_keras(lin), x), lin(x), "Linear")
    back = from_keras(to_keras(lin))
    assert np.array_equal(back.weight.data, lin.weight.data) and np.array_equal(back.bias.data, lin.bias.data)


def test_errors(rng):
    with pytest.raises(TypeError, match="proj_size"):
        to_keras(nn.LSTM(3, 5, proj_size=2))
    with pytest.raises(TypeError, match="LastStep"):
        to_keras(nn.Sequential(nn.GRU(3, 4, bidirectional=True, batch_first=True),
                               nn.LastStep(batch_first=True)))
    with pytest.raises(TypeError, match="model must be an rnnkit module"):
        to_keras("gru")
    k = keras.layers.LSTM(4, activation="relu")
    k.build((None, None, 3))
    with pytest.raises(TypeError, match="activation='tanh'"):
        from_keras(k)
    conv = keras.layers.Conv1D(2, 3)
    with pytest.raises(TypeError, match="Conv1D"):
        from_keras(conv)
    k = keras.layers.GRU(4, recurrent_dropout=0.2, return_sequences=True)
    k.build((None, None, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_keras(k)
    assert any("recurrent_dropout" in str(w.message) for w in caught)
