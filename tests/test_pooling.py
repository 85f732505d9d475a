"""TemporalPooling (mean / max over the real steps) and SequenceModel's pooled outputs and
feed-forward layers: central finite differences in float64 and PyTorch as the oracle."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_close, check_fd
from rnnkit import nn
from rnnkit.models import SequenceModel


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


MODES = ["mean", "max", ("mean", "max"), ("max", "mean")]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mode", MODES, ids=str)
def test_pooling_finite_differences(mode, batch_first):
    rng = np.random.default_rng(0)
    T, B, F = 5, 3, 4
    x = rng.standard_normal((B, T, F) if batch_first else (T, B, F))
    lengths = np.array([5, 2, 3])
    pool = nn.TemporalPooling(mode, batch_first=batch_first)
    y = pool(x, lengths=lengths)
    w = rng.standard_normal(y.shape)
    dx = pool.backward(w)

    def f():
        return float(np.sum(pool(x, lengths=lengths) * w))

    pool.eval()
    check_fd("dx", dx, f, x, rng, n=20, config=f"{mode} batch_first={batch_first}")
    xt = x if batch_first else x.transpose(1, 0, 2)                  # (B, T, F)
    pad = (np.arange(T)[None, :] >= lengths[:, None])                # (B, T)
    dxt = dx if batch_first else dx.transpose(1, 0, 2)
    assert np.all(dxt[pad] == 0), "padded steps got a gradient"
    # padded values never matter
    x2 = xt.copy()
    x2[pad] = 1e6
    y2 = nn.TemporalPooling(mode, batch_first=True).eval()(x2, lengths=lengths)
    np.testing.assert_array_equal(y2, y)


def test_pooling_hand_computed_and_unbatched():
    x = np.array([[1.0, 5.0], [3.0, -1.0], [100.0, 100.0]])          # (T=3, F=2), one sequence
    pool = nn.TemporalPooling(("mean", "max"))
    np.testing.assert_array_equal(pool(x), [104 / 3, 104 / 3, 100.0, 100.0])
    xb = x[:, None, :]                                                # (3, 1, 2)
    np.testing.assert_array_equal(pool(xb, lengths=[2]), [[2.0, 2.0, 3.0, 5.0]])
    dx = pool.backward(np.array([[1.0, 2.0, 3.0, 4.0]]))
    np.testing.assert_array_equal(dx[:, 0], [[0.5, 1.0 + 4.0], [0.5 + 3.0, 1.0], [0.0, 0.0]])
    dx = pool.backward(np.ones(4))                                    # the unbatched forward
    np.testing.assert_array_equal(dx, [[1 / 3, 1 / 3], [1 / 3, 1 / 3], [1 + 1 / 3, 1 + 1 / 3]])


def test_pooling_against_torch():
    torch = _torch()
    rng = np.random.default_rng(1)
    B, T, F = 4, 6, 3
    x = rng.standard_normal((B, T, F))
    lengths = np.array([6, 1, 4, 2])
    pool = nn.TemporalPooling(("max", "mean"), batch_first=True)
    y = pool(x, lengths=lengths)
    w = rng.standard_normal(y.shape)
    dx = pool.backward(w)
    xt = torch.tensor(x, requires_grad=True)
    mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]   # (B, T)
    mx = xt.masked_fill(~mask[:, :, None], float("-inf")).max(dim=1).values
    mean = (xt * mask[:, :, None]).sum(dim=1) / torch.tensor(lengths, dtype=torch.float64)[:, None]
    yt = torch.cat([mx, mean], dim=1)
    (yt * torch.tensor(w)).sum().backward()
    assert_close("y", y, yt.detach().numpy(), 1e-12)
    assert_close("dx", dx, xt.grad.numpy(), 1e-12)


def test_pooling_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        nn.TemporalPooling("median")
    with pytest.raises(ValueError, match="mode must be one of"):
        nn.TemporalPooling(("mean", "mean"))
    pool = nn.TemporalPooling()
    with pytest.raises(ValueError, match="lengths must be in"):
        pool(np.zeros((3, 2, 1)), lengths=[4, 1])
    with pytest.raises(ValueError, match="3-D"):
        pool(np.zeros(3))
    pool(np.zeros((3, 2, 1)))
    with pytest.raises(ValueError, match=r"d_output expected shape \(2, 1\)"):
        pool.backward(np.zeros((2, 2)))


# -- SequenceModel: pooled outputs, input and head layers ---------------------------------------
CONFIGS = [
    dict(cell="gru", output="mean"),
    dict(cell="gru", output="last+mean+max", bidirectional=True),
    dict(cell="lstm", output="max+last", bidirectional=True, merge_mode="mul"),
    dict(cell="rnn", output="mean+max", input_layers=3, head_layers=(4, 3), activation="relu"),
    dict(cell="lstm", output="sequence", bidirectional=True, input_layers=4, head_layers=3),
    dict(cell="gru", output="last+max", num_embeddings=6, padding_idx=0, input_layers=3),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(sorted(c.items())) for c in CONFIGS])
def test_sequence_model_pooled_finite_differences(cfg):
    rng = np.random.default_rng(3)
    model = SequenceModel(2, 3, 2, dtype=np.float64, rng=4, **cfg)
    B, T = 3, 4
    tokens = "num_embeddings" in cfg
    x = rng.integers(1, 6, size=(B, T)) if tokens else rng.standard_normal((B, T, 2))
    lengths = np.array([4, 2, 3])
    y, _ = model(x, lengths=lengths)
    w = rng.standard_normal(y.shape)
    model.zero_grad()
    dx = model.backward(w)

    def f():
        out = model(x, lengths=lengths)[0]
        model.clear_cache()
        return float(np.sum(out * w))

    for name, p in model.named_parameters():
        if tokens and name == "embedding.weight":
            continue                                     # rows of unused ids: checked below
        check_fd(f"grad of {name}", p.grad, f, p.data, rng, n=8, config=str(cfg), rtol=1e-5, atol=1e-8)
    if tokens:
        assert dx is None
        g = model.embedding.weight.grad
        assert np.all(g[0] == 0), "the padding row got a gradient"
        return
    check_fd("dx", dx, f, x, rng, n=10, config=str(cfg), rtol=1e-5, atol=1e-8)


def test_sequence_model_pooled_against_torch():
    """BiGRU -> [last, mean, max] -> Linear+tanh -> Linear, lengths via packed sequences."""
    torch = _torch()
    rng = np.random.default_rng(5)
    model = SequenceModel(3, 4, 2, cell="gru", output="last+mean+max", bidirectional=True, input_layers=5,
                          head_layers=6, dtype=np.float64, rng=6)
    B, T = 3, 5
    x = rng.standard_normal((B, T, 3))
    lengths = np.array([5, 2, 4])
    y, _ = model(x, lengths=lengths)
    w = rng.standard_normal(y.shape)
    model.zero_grad()
    dx = model.backward(w)

    def linear(fc):
        t = torch.nn.Linear(fc.in_features, fc.out_features, dtype=torch.float64)
        t.load_state_dict({k: torch.tensor(v) for k, v in fc.state_dict().items()})
        return t

    pre, gru = linear(model.pre[0]), torch.nn.GRU(5, 4, bidirectional=True, batch_first=True, dtype=torch.float64)
    gru.load_state_dict({k: torch.tensor(v) for k, v in model.rnn.state_dict().items()})
    post, head = linear(model.post[0]), linear(model.head)
    xt = torch.tensor(x, requires_grad=True)
    u = torch.tanh(pre(xt))
    packed = torch.nn.utils.rnn.pack_padded_sequence(u, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    pout, h_n = gru(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(pout, batch_first=True, total_length=T)
    mask = (torch.arange(T)[None, :] < torch.tensor(lengths)[:, None])[:, :, None]
    mean = out.sum(dim=1) / torch.tensor(lengths, dtype=torch.float64)[:, None]
    mx = out.masked_fill(~mask, float("-inf")).max(dim=1).values
    feat = torch.cat([h_n[-2], h_n[-1], mean, mx], dim=1)
    yt = head(torch.tanh(post(feat)))
    (yt * torch.tensor(w)).sum().backward()
    assert_close("y", y, yt.detach().numpy(), 1e-10)
    assert_close("dx", dx, xt.grad.numpy(), 1e-10)
    for name, tp in [("pre.0.weight", pre.weight), ("rnn.weight_hh_l0_reverse", gru.weight_hh_l0_reverse),
                     ("post.0.weight", post.weight), ("head.weight", head.weight)]:
        ours = dict(model.named_parameters())[name].grad
        assert_close(f"grad of {name}", ours, tp.grad.numpy(), 1e-10)


def test_sequence_model_bad_output_and_layers():
    with pytest.raises(ValueError, match="output must be 'sequence'"):
        SequenceModel(2, 3, 1, output="last+last")
    with pytest.raises(ValueError, match="output must be 'sequence'"):
        SequenceModel(2, 3, 1, output="median")
    with pytest.raises(TypeError, match="input_layers must be an int or a sequence"):
        SequenceModel(2, 3, 1, input_layers="32")
    with pytest.raises(ValueError, match=r"head_layers\[1\] must be >= 1"):
        SequenceModel(2, 3, 1, head_layers=(4, 0))
    with pytest.raises(ValueError, match="padding_idx applies to token inputs"):
        SequenceModel(2, 3, 1, padding_idx=0)


def test_sequence_model_defaults_unchanged():
    """The new options off: the same parameters, in the same order, drawn the same way."""
    a = SequenceModel(3, 5, 2, cell="lstm", output="last", dropout=0.1, rng=0)
    names = [n for n, _ in a.named_parameters()]
    assert names == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                     "head.weight", "head.bias"]
    rng = np.random.default_rng(0)
    k = 1 / np.sqrt(5)
    np.testing.assert_array_equal(a.rnn.weight_ih_l0.data, rng.uniform(-k, k, (20, 3)).astype(np.float32))
