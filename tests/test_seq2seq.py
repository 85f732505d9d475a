"""Seq2Seq (encoder-decoder): finite differences, a PyTorch oracle, save/load, greedy decoding,
packing for ``fit``, and an end-to-end run on ``reverse_sequence``."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from helpers import RTOL, assert_close, check_fd, seed_of
from rnnkit import nn, optim
from rnnkit.datasets import reverse_sequence
from rnnkit.models import Seq2Seq, pack_seq2seq, seq2seq_data, unpack_seq2seq
from rnnkit.train import evaluate, fit

V_SRC, V_TGT, E, H = 6, 7, 3, 4
CONFIGS = [  # (cell, num_layers, bidirectional_encoder)
    ("gru", 1, False), ("lstm", 1, True), ("rnn", 2, False), ("gru", 2, True), ("lstm", 2, False),
]


def _problem(rng, B=3, Ts=5, Tt=4):
    src = rng.integers(0, V_SRC, size=(B, Ts))                # (B, Ts)
    tgt_in = rng.integers(0, V_TGT, size=(B, Tt))             # (B, Tt)
    lengths = np.array([Ts, 2, 4][:B])                        # (B,) variable source lengths
    y = rng.integers(0, V_TGT, size=(B, Tt))                  # (B, Tt) targets
    y[1, -1] = -100                                           # an ignored (padded) target
    return src, tgt_in, lengths, y


def _id(cfg):
    return f"{cfg[0]}-L{cfg[1]}-{'bi' if cfg[2] else 'uni'}"


# -- finite differences -----------------------------------------------------------------
@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_backward_matches_finite_differences(cfg):
    cell, L, bi = cfg
    rng = np.random.default_rng(seed_of(*cfg))
    model = Seq2Seq(V_SRC, V_TGT, E, H, cell=cell, num_layers=L, bidirectional_encoder=bi,
                    dtype=np.float64, rng=1)
    src, tgt_in, lengths, _ = _problem(rng)
    R = rng.standard_normal((3, 4, V_TGT))                    # loss = sum(logits * R)

    def loss():
        with rnnkit.no_grad():
            return float(np.sum(model(src, tgt_in, lengths=lengths) * R))

    model.zero_grad()
    logits = model(src, tgt_in, lengths=lengths)
    assert logits.shape == (3, 4, V_TGT) and logits.dtype == np.float64
    assert model.backward(R) is None
    real = np.arange(src.shape[1])[None, :] < lengths[:, None]          # (B, Ts)
    for name, p in model.named_parameters():
        if name.startswith("src_embedding"):   # only looked-up rows have a gradient: test those
            rows = np.unique(src[real])
            sub = p.data[rows]
            grad = p.grad[rows]

            def f_sub(sub=sub, rows=rows, p=p):
                p.data[rows] = sub
                return loss()

            check_fd(f"grad of {name}", grad, f_sub, sub, rng, n=5, config=_id(cfg))
            p.data[rows] = sub
        else:
            check_fd(f"grad of {name}", p.grad, loss, p.data, rng, n=5, config=_id(cfg))
    # padded source steps do not matter: their embedding rows get no gradient from them
    only_padding = np.setdiff1d(src[~real], src[real])
    for r in only_padding:
        assert np.all(model.src_embedding.weight.grad[r] == 0), f"padded source id {r} got a gradient"


# -- PyTorch oracle ----------------------------------------------------------------------
def _torch_twin(torch, model: Seq2Seq):
    tn = torch.nn
    tdtype = torch.float64 if model.dtype == np.float64 else torch.float32
    kind = {"gru": tn.GRU, "lstm": tn.LSTM, "rnn": tn.RNN}[model.cell]
    L, bi = model.num_layers, model.bidirectional_encoder

    class Twin(tn.Module):
        def __init__(self):
            super().__init__()
            self.src_embedding = tn.Embedding(V_SRC, E)
            self.encoder = kind(E, H, num_layers=L, batch_first=True, bidirectional=bi)
            if bi:
                self.bridge_h = tn.Linear(2 * H, H)
                if model.cell == "lstm":
                    self.bridge_c = tn.Linear(2 * H, H)
            self.tgt_embedding = tn.Embedding(V_TGT, E)
            self.decoder = kind(E, H, num_layers=L, batch_first=True)
            self.head = tn.Linear(H, V_TGT)

        def bridge(self, s, lin, squash):
            if not bi:
                return s
            a = s.reshape(L, 2, s.shape[1], H).permute(0, 2, 1, 3).reshape(L, s.shape[1], 2 * H)
            z = lin(a)
            return torch.tanh(z) if squash else z

        def forward(self, src, tgt_in, lengths):
            packed = tn.utils.rnn.pack_padded_sequence(self.src_embedding(src), lengths, batch_first=True,
                                                       enforce_sorted=False)
            _, s_n = self.encoder(packed)
            if model.cell == "lstm":
                s0 = (self.bridge(s_n[0], getattr(self, "bridge_h", None), True),
                      self.bridge(s_n[1], getattr(self, "bridge_c", None), False))
            else:
                s0 = self.bridge(s_n, getattr(self, "bridge_h", None), True)
            out, _ = self.decoder(self.tgt_embedding(tgt_in), s0)
            return self.head(out)

    twin = Twin().to(tdtype)
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    return twin


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("cfg", CONFIGS, ids=_id)
def test_outputs_and_every_gradient_match_torch(cfg, dtype):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    cell, L, bi = cfg
    rng = np.random.default_rng(7)
    model = Seq2Seq(V_SRC, V_TGT, E, H, cell=cell, num_layers=L, bidirectional_encoder=bi, dtype=dtype, rng=3)
    src, tgt_in, lengths, y = _problem(rng)
    crit = nn.CrossEntropyLoss()
    model.zero_grad()
    logits = model(src, tgt_in, lengths=lengths)
    loss = crit(logits, y)
    model.backward(crit.backward())

    twin = _torch_twin(torch, model)
    t_logits = twin(torch.from_numpy(src), torch.from_numpy(tgt_in), torch.from_numpy(lengths))
    t_loss = torch.nn.functional.cross_entropy(t_logits.reshape(-1, V_TGT), torch.from_numpy(y).reshape(-1),
                                               ignore_index=-100)
    t_loss.backward()
    tol = RTOL[np.dtype(dtype)] * 10
    where = f"{_id(cfg)} {np.dtype(dtype)}"
    assert_close("logits", logits, t_logits.detach().numpy(), tol, where)
    assert_close("loss", loss, t_loss.item(), tol, where)
    t_grads = {n: p.grad for n, p in twin.named_parameters()}
    names = [n for n, _ in model.named_parameters()]
    assert sorted(names) == sorted(t_grads), f"parameter names [{where}]: {names} vs {sorted(t_grads)}"
    for name, p in model.named_parameters():
        assert p.grad is not None, f"grad of {name} [{where}]: never set"
        assert_close(f"grad of {name}", p.grad, t_grads[name].numpy(), tol, where)
    # the encoder is trained only through the decoder's initial state: its gradient is real
    assert np.abs(model.encoder.weight_hh_l0.grad).max() > 0


# -- save / load, packing, errors ---------------------------------------------------------
def test_save_load_round_trip(tmp_path):
    model = Seq2Seq(V_SRC, V_TGT, E, H, cell="lstm", num_layers=2, bidirectional_encoder=True, dropout=0.1,
                    dtype=np.float64, sos_id=1, eos_id=2, pad_id=0, rng=5)
    path = tmp_path / "s2s.npz"
    rnnkit.save_model(model, path)
    same = rnnkit.load_model(path)
    assert type(same) is Seq2Seq
    assert (same.cell, same.num_layers, same.bidirectional_encoder, same.dropout_p) == ("lstm", 2, True, 0.1)
    assert same.dtype == np.float64
    for (n1, p1), (n2, p2) in zip(model.named_parameters(), same.named_parameters()):
        assert n1 == n2 and np.array_equal(p1.data, p2.data), n1
    src, tgt_in, lengths, _ = _problem(np.random.default_rng(0))
    model.eval()
    same.eval()
    np.testing.assert_array_equal(model(src, tgt_in, lengths=lengths), same(src, tgt_in, lengths=lengths))
    np.testing.assert_array_equal(model.greedy_decode(src, lengths, 6), same.greedy_decode(src, lengths, 6))


def test_packed_input_equals_separate_arguments():
    rng = np.random.default_rng(2)
    src, tgt_in, lengths, _ = _problem(rng)
    X = pack_seq2seq(src, tgt_in, lengths)
    assert X.shape == (3, 2 + 5 + 4) and X.dtype == np.int64
    s2, t2, l2 = unpack_seq2seq(X[[2, 0]])                    # any subset of rows unpacks
    np.testing.assert_array_equal(s2, src[[2, 0]])
    np.testing.assert_array_equal(t2, tgt_in[[2, 0]])
    np.testing.assert_array_equal(l2, lengths[[2, 0]])
    model = Seq2Seq(V_SRC, V_TGT, E, H, rng=0).eval()
    np.testing.assert_array_equal(model(X), model(src, tgt_in, lengths=lengths))

    ds = reverse_sequence(5, min_len=2, max_len=4, n_symbols=3, seed=0)             # time-major
    Xd, Yd = seq2seq_data(ds)
    s, t, n = unpack_seq2seq(Xd)
    np.testing.assert_array_equal(s, ds.X.T)
    np.testing.assert_array_equal(t, ds.y_input.T)
    np.testing.assert_array_equal(n, ds.lengths)
    np.testing.assert_array_equal(Yd, ds.y.T)


def test_argument_errors():
    src, tgt_in, lengths, _ = _problem(np.random.default_rng(0))
    with pytest.raises(ValueError, match="cell"):
        Seq2Seq(5, 5, 2, 3, cell="transformer")
    with pytest.raises(ValueError, match="eos_id"):
        Seq2Seq(5, 5, 2, 3, eos_id=5)
    model = Seq2Seq(V_SRC, V_TGT, E, H, rng=0)
    with pytest.raises(TypeError, match="src"):
        model(src.astype(float), tgt_in)
    with pytest.raises(ValueError, match="tgt_in"):
        model(src, tgt_in[:2])
    with pytest.raises(ValueError, match="lengths"):
        model(pack_seq2seq(src, tgt_in), lengths=lengths)
    with pytest.raises(ValueError, match="packed"):
        model(src)                                            # not a packed array
    logits = model(src, tgt_in, lengths=lengths)
    with pytest.raises(ValueError, match="d_output"):
        model.backward(logits[:, :2])
    model.backward(np.ones_like(logits))                      # the forward was kept: still works
    with pytest.raises(ValueError, match="max_len"):
        model.greedy_decode(src, lengths, max_len=0)


# -- greedy decoding ----------------------------------------------------------------------
@pytest.mark.parametrize(("cell", "eos_bias"), [("gru", 2.0), ("lstm", 1.0)])
def test_greedy_decode_agrees_with_teacher_forced_argmax(cell, eos_bias):
    """Fed its own greedy outputs as the decoder input, the teacher-forced argmax must
    reproduce them step by step (up to and including EOS), and PAD must follow EOS."""
    model = Seq2Seq(V_SRC, V_TGT, E, 8, cell=cell, bidirectional_encoder=True, rng=11)
    for p in model.parameters():
        p.data *= 3.0                                         # larger weights: outputs depend on the source
    model.head.bias.data[2] += eos_bias                       # EOS (id 2) comes out for some rows, not all
    rng = np.random.default_rng(4)
    src = rng.integers(0, V_SRC, size=(16, 5))
    lengths = rng.integers(1, 6, size=16)
    ids = model.greedy_decode(src, lengths, max_len=8)        # (16, 8)
    assert model.training and not model.decoder._cache_stack  # mode restored, nothing kept
    tgt_in = np.concatenate([np.full((16, 1), 1), ids[:, :-1]], axis=1)   # SOS, own outputs
    model.eval()
    tf = model(src, tgt_in, lengths=lengths).argmax(axis=-1)  # (16, 8)
    n_eos = 0
    for b in range(16):
        hits = np.flatnonzero(ids[b] == 2)
        end = hits[0] + 1 if hits.size else 8
        n_eos += bool(hits.size)
        np.testing.assert_array_equal(ids[b, :end], tf[b, :end], err_msg=f"row {b}")
        assert np.all(ids[b, end:] == 0), f"row {b}: PAD must follow EOS, got {ids[b]}"
    assert 0 < n_eos < 16, f"the test should see rows with and without EOS, got {n_eos} with EOS"


# -- end to end ---------------------------------------------------------------------------
def test_learns_to_reverse_sequences():
    """A small GRU encoder-decoder on reverse_sequence (lengths 2..4, 4 symbols): chance per-token
    accuracy is 1/4; after 6 short epochs teacher-forced token accuracy on a fresh test set
    must exceed 0.85 and greedy exact-sequence accuracy 0.5."""
    train = reverse_sequence(1500, min_len=2, max_len=4, n_symbols=4, seed=0, batch_first=True)
    test = reverse_sequence(300, min_len=2, max_len=4, n_symbols=4, seed=1, batch_first=True)
    V = train.info["vocab_size"]
    model = Seq2Seq(V, V, 8, 32, cell="gru", rng=0)
    X, Y = seq2seq_data(train)
    Xt, Yt = seq2seq_data(test)
    before = evaluate(model, (Xt, Yt), metrics=["accuracy"])["accuracy"]
    fit(model, (X, Y), loss=nn.CrossEntropyLoss(), optimizer=optim.Adam(model.parameters(), lr=1e-2),
        epochs=6, batch_size=32, rng=0, progress=False)
    after = evaluate(model, (Xt, Yt), loss=nn.CrossEntropyLoss(), metrics=["accuracy"])
    assert after["accuracy"] > 0.85 and after["accuracy"] > before + 0.4, (before, after)
    ids = model.greedy_decode(test.X, test.lengths, max_len=test.y.shape[1] + 1)
    exact = np.mean([np.array_equal(ids[i, :n], test.y[i, :n]) for i, n in enumerate(test.y_lengths)])
    assert exact > 0.5, f"greedy exact-sequence accuracy {exact:.3f}"
