"""rnnkit.interop.to_torch / from_torch: outputs equal to 1e-5 in float32 (torch.nn's own layers
where torch has them, so PyTorch is the oracle), round trips rnnkit -> torch -> rnnkit exact."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the 'torch' package is not installed")

from rnnkit import nn  # noqa: E402
from rnnkit._grad_mode import inference_mode  # noqa: E402
from rnnkit.interop import from_torch, to_torch  # noqa: E402
from rnnkit.interop._torch_modules import Recurrent, recurrent_forward  # noqa: E402
from rnnkit.models import CharRNN, Seq2Seq, SequenceModel  # noqa: E402

TOL = 1e-5


def close(name, got, want, cfg):
    got = got.detach().numpy() if hasattr(got, "detach") else np.asarray(got)
    err = float(np.max(np.abs(got - np.asarray(want))))
    assert got.shape == np.asarray(want).shape and err <= TOL, f"{cfg}: {name} differs by {err:.3g}"


def assert_exact_round_trip(m, cfg):
    back = from_torch(to_torch(m))
    assert type(back) is type(m), cfg
    assert repr(back) == repr(m), cfg                 # same class and arguments
    a, b = m.state_dict(), back.state_dict()
    assert list(a) == list(b), cfg
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), f"{cfg}: {k} not bit-identical"


LAYERS = [
    ("RNN", dict(nonlinearity="relu", num_layers=2, bidirectional=True)),
    ("RNN", dict(nonlinearity="sigmoid", bidirectional=True, merge_mode="sum")),
    ("GRU", dict(num_layers=2, batch_first=True)),
    ("GRU", dict(reset_after=False, bidirectional=True, merge_mode="ave", batch_first=True)),
    ("LSTM", dict(proj_size=3, num_layers=2, bidirectional=True)),
    ("LSTM", dict(bidirectional=True, merge_mode="mul", bias=False)),
    ("LSTM", dict(proj_size=2, bidirectional=True, merge_mode="concat", batch_first=True, dropout=0.25, num_layers=2)),
]


@pytest.mark.parametrize("kind,kw", LAYERS, ids=[f"{k}{i}" for i, (k, _) in enumerate(LAYERS)])
def test_layers(rng, kind, kw):
    m = getattr(nn, kind)(4, 6, rng=rng, **kw).eval()
    t = to_torch(m).eval()
    plain = (kw.get("merge_mode", "concat") == "concat" and kw.get("nonlinearity") != "sigmoid"
             and kw.get("reset_after", True))
    assert isinstance(t, getattr(torch.nn, kind) if plain else Recurrent)
    B, T = 5, 7
    x = rng.standard_normal((B, T, 4) if m.batch_first else (T, B, 4)).astype(np.float32)
    lens = np.array([7, 3, 1, 6, 7])
    for lengths in (None, lens):
        with inference_mode(m):
            out, st = m(x, lengths=lengths)
        with torch.no_grad():
            lens_t = None if lengths is None else torch.from_numpy(lengths)
            tout, tst = recurrent_forward(t, torch.from_numpy(x), None, lens_t)
            if lengths is None:
                tout2, _ = t(torch.from_numpy(x))                 # the module's own call
                close("output (direct)", tout2, out, kind)
        cfg = f"{kind} {kw} lengths={lengths is not None}"
        close("output", tout, out, cfg)
        if kind == "LSTM":
            close("h_n", tst[0], st[0], cfg)
            close("c_n", tst[1], st[1], cfg)
        else:
            close("h_n", tst, st, cfg)
    assert_exact_round_trip(m, f"{kind} {kw}")


def test_initial_state(rng):
    m = nn.LSTM(3, 5, num_layers=2, rng=rng)
    t = to_torch(m)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    h0, c0 = (rng.standard_normal((2, 2, 5)).astype(np.float32) for _ in range(2))
    with inference_mode(m):
        out, _ = m(x, (h0, c0))
    with torch.no_grad():
        tout, _ = t(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
    close("output", tout, out, "LSTM with state")


@pytest.mark.parametrize("kind,kw", [("RNN", {"nonlinearity": "relu"}), ("RNN", {"nonlinearity": "sigmoid"}),
                                     ("GRU", {}), ("GRU", {"reset_after": False}), ("LSTM", {})])
def test_cells(rng, kind, kw):
    m = getattr(nn, kind + "Cell")(4, 5, rng=rng, **kw)
    t = to_torch(m)
    x, h, c = (rng.standard_normal((3, d)).astype(np.float32) for d in (4, 5, 5))
    with inference_mode(m), torch.no_grad():
        if kind == "LSTM":
            want = m(x, (h, c))
            got = t(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c)))
            close("h", got[0], want[0], kind)
            close("c", got[1], want[1], kind)
        else:
            close("h", t(torch.from_numpy(x), torch.from_numpy(h)), m(x, h), f"{kind} {kw}")
    assert_exact_round_trip(m, f"{kind}Cell {kw}")


def test_feed_forward_and_sequential(rng):
    seq = nn.Sequential(nn.Embedding(12, 4, padding_idx=0, rng=rng), nn.GRU(4, 6, bidirectional=True, rng=rng),
                        nn.LastStep(bidirectional_split=True), nn.Dropout(0.3), nn.Linear(12, 5, rng=rng),
                        nn.Tanh(), nn.Linear(5, 3, rng=rng), nn.Sigmoid(), nn.Identity())
    ids = rng.integers(0, 12, size=(8, 4))
    lens = np.array([8, 2, 5, 8])
    t = to_torch(seq.eval()).eval()
    with inference_mode(seq), torch.no_grad():
        close("output", t(torch.from_numpy(ids), lengths=torch.from_numpy(lens)), seq(ids, lengths=lens), "Sequential")
    assert_exact_round_trip(seq, "Sequential")
    mlp = nn.WindowMLP(5, 2, (8, 4), 3, activation="relu", rng=rng)
    w = rng.standard_normal((6, 5, 2)).astype(np.float32)
    with inference_mode(mlp), torch.no_grad():
        close("output", to_torch(mlp)(torch.from_numpy(w)), mlp(w), "WindowMLP")
    assert_exact_round_trip(mlp, "WindowMLP")
    for m in (nn.Flatten(1, -1), nn.FinalState(2), nn.ReLU()):
        assert_exact_round_trip(m, type(m).__name__)


@pytest.mark.parametrize("kw", [dict(cell="lstm", output="last", bidirectional=True, proj_size=2),
                                dict(cell="gru", output="sequence", num_layers=2, dropout=0.1),
                                dict(cell="rnn", output="last", bidirectional=True, merge_mode="ave",
                                     nonlinearity="relu"),
                                dict(cell="gru", output="last", num_embeddings=9)])
def test_sequence_model(rng, kw):
    m = SequenceModel(4, 6, 3, rng=rng, **kw)
    t = to_torch(m).eval()
    x = rng.integers(0, 9, size=(5, 7)) if "num_embeddings" in kw else rng.standard_normal((5, 7, 4)).astype(np.float32)
    lens = np.array([7, 1, 4, 7, 2])
    with inference_mode(m), torch.no_grad():
        y, _ = m(x, lengths=lens)
        ty, _ = t(torch.from_numpy(x), lengths=torch.from_numpy(lens))
    close("y", ty, y, str(kw))
    assert_exact_round_trip(m, str(kw))


def test_char_rnn_and_seq2seq(rng):
    char = CharRNN(11, 8, 2, rng=rng)
    ids = rng.integers(0, 11, size=(2, 9))
    with inference_mode(char), torch.no_grad():
        close("logits", to_torch(char).eval()(torch.from_numpy(ids))[0], char(ids)[0], "CharRNN")
    assert_exact_round_trip(char, "CharRNN")
    s2s = Seq2Seq(9, 8, 4, 6, cell="lstm", bidirectional_encoder=True, num_layers=2, rng=rng)
    t = to_torch(s2s).eval()
    src, tgt = rng.integers(0, 9, size=(4, 6)), rng.integers(0, 8, size=(4, 3))
    lens = np.array([6, 2, 4, 5])
    with inference_mode(s2s), torch.no_grad():
        close("logits", t(torch.from_numpy(src), torch.from_numpy(tgt), torch.from_numpy(lens)),
              s2s(src, tgt, lengths=lens), "Seq2Seq")
        np.testing.assert_array_equal(t.greedy_decode(torch.from_numpy(src), torch.from_numpy(lens), 7).numpy(),
                                      s2s.greedy_decode(src, lens, 7))
    assert_exact_round_trip(s2s, "Seq2Seq")


def test_from_plain_torch_modules(rng):
    torch.manual_seed(0)
    cases = [torch.nn.LSTM(3, 6, num_layers=2, bidirectional=True, batch_first=True, proj_size=2),
             torch.nn.GRU(3, 5, bias=False), torch.nn.RNN(3, 4, nonlinearity="relu", dropout=0.2, num_layers=2)]
    for t in cases:
        t.eval()
        m = from_torch(t)
        x = rng.standard_normal((2, 5, 3) if t.batch_first else (5, 2, 3)).astype(np.float32)
        with inference_mode(m), torch.no_grad():
            close("output", t(torch.from_numpy(x))[0], m(x)[0], type(t).__name__)
        assert not m.training
    seq = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).double()
    m = from_torch(seq)
    x = rng.standard_normal((3, 4))
    with torch.no_grad():
        close("output", seq(torch.from_numpy(x)), m(x), "Sequential float64")
    assert m[0].weight.data.dtype == np.float64


def test_float64_layer(rng):
    m = nn.GRU(3, 4, dtype=np.float64, rng=rng)
    t = to_torch(m)
    assert t.weight_ih_l0.dtype == torch.float64
    assert_exact_round_trip(m, "float64 GRU")


def test_errors():
    with pytest.raises(TypeError, match="model must be an rnnkit module"):
        to_torch("gru")
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        from_torch(nn.GRU(2, 3))
    with pytest.raises(TypeError, match=r"cannot convert module \(.*Conv1d\)"):
        from_torch(torch.nn.Conv1d(2, 3, 3))
    with pytest.raises(TypeError, match=r"cannot convert model\.1 \(.*MSELoss\)"):
        to_torch(nn.Sequential(nn.Linear(2, 2), nn.MSELoss()))


def test_estimator_network(rng):
    from rnnkit.errors import NotFittedError
    from rnnkit.estimators import BaseEstimator

    class Fitted(BaseEstimator):
        def __init__(self):
            self.model_ = None

    est = Fitted()
    with pytest.raises(NotFittedError):
        to_torch(est)
    est.model_ = SequenceModel(3, 5, 2, cell="gru", output="last", rng=rng)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    with inference_mode(est.model_), torch.no_grad():
        close("y", to_torch(est).eval()(torch.from_numpy(x))[0], est.model_(x)[0], "estimator network")
