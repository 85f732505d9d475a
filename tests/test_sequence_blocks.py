"""Sequence-mapping blocks and the Sequential container.

End to end against PyTorch with the same weights: recurrent layer -> LastStep -> Linear
(variable lengths through pack_padded_sequence; bidirectional as torch.cat(h_n[-2], h_n[-1])),
per-step heads with a masked cross-entropy, an Embedding front end, FinalState, WindowMLP.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import rnnkit
from helpers import assert_close, check_fd, torch_twin
from rnnkit import nn


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _torch_linear(torch, fc):
    t = torch.nn.Linear(fc.in_features, fc.out_features, dtype=torch.float64)
    t.load_state_dict({k: torch.from_numpy(v) for k, v in fc.state_dict().items()})
    return t


def _run_torch_rnn(torch, tm, tx, lengths, batch_first):
    T = tx.shape[1] if batch_first else tx.shape[0]
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.as_tensor(lengths), batch_first=batch_first,
                                                     enforce_sorted=False)
    pout, state = tm(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(pout, batch_first=batch_first, total_length=T)
    return out, (state[0] if isinstance(state, tuple) else state)


def _compare_grads(model, tmods, cfg):
    """Every rnnkit parameter ``"k.name"`` against ``tmods[k].name.grad``."""
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == sum(len(list(m.parameters())) for m in tmods.values()), cfg
    for name, p in model.named_parameters():
        k, pname = name.split(".", 1)
        tp = dict(tmods[k].named_parameters())[pname]
        assert_close(f"grad of {name}", p.grad, tp.grad.numpy(), 1e-10, cfg)


# -- many-to-one end to end -----------------------------------------------------------------
MANY_TO_ONE = [
    ("RNN", False, False, 1), ("LSTM", False, True, 1), ("GRU", False, False, 2),
    ("RNN", True, True, 1), ("LSTM", True, False, 2), ("GRU", True, True, 1),
]


@pytest.mark.parametrize("kind,bidirectional,batch_first,num_layers", MANY_TO_ONE)
@pytest.mark.parametrize("with_lengths", [False, True])
def test_recurrent_laststep_linear_matches_torch(kind, bidirectional, batch_first, num_layers, with_lengths, rng):
    torch = _torch()
    T, B, I, H, O = 5, 3, 3, 4, 2
    D = 2 if bidirectional else 1
    layer = getattr(nn, kind)(I, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                              dtype=np.float64, rng=rng)
    model = nn.Sequential(layer, nn.LastStep(batch_first=batch_first, bidirectional_split=bidirectional),
                          nn.Linear(D * H, O, dtype=np.float64, rng=rng))
    lengths = np.array([5, 2, 4]) if with_lengths else np.array([T] * B)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    d = rng.standard_normal((B, O))
    y = model(x, lengths=lengths if with_lengths else None)
    dx = model.backward(d)

    tm, tfc = torch_twin(layer), _torch_linear(torch, model[2])
    tx = torch.tensor(x, requires_grad=True)
    _, h_n = _run_torch_rnn(torch, tm, tx, lengths, batch_first)
    feat = torch.cat([h_n[-2], h_n[-1]], dim=1) if bidirectional else h_n[-1]
    ty = tfc(feat)
    (ty * torch.from_numpy(d)).sum().backward()
    cfg = f"{kind} bi={bidirectional} batch_first={batch_first} L={num_layers} lengths={with_lengths}"
    assert_close("y", y, ty.detach().numpy(), 1e-10, cfg)
    assert_close("dx", dx, tx.grad.numpy(), 1e-10, cfg)
    _compare_grads(model, {"0": tm, "2": tfc}, cfg)


@pytest.mark.parametrize("batch_first", [False, True])
def test_per_step_head_with_masked_cross_entropy_matches_torch(batch_first, rng):
    """Many-to-many: LSTM -> Linear on every step -> CrossEntropy masked to the real steps."""
    torch = _torch()
    T, B, I, H, C = 6, 3, 2, 5, 4
    model = nn.Sequential(nn.LSTM(I, H, batch_first=batch_first, dtype=np.float64, rng=rng),
                          nn.Linear(H, C, dtype=np.float64, rng=rng))
    crit = nn.CrossEntropyLoss()
    lengths = np.array([6, 3, 1])
    shape = (B, T) if batch_first else (T, B)
    x = rng.standard_normal(shape + (I,))
    target = rng.integers(0, C, size=shape)
    mask = nn.length_mask(lengths, T, batch_first=batch_first)
    logits = model(x, lengths=lengths)
    loss = crit(logits, target, mask=mask)
    dx = model.backward(crit.backward())

    tm, tfc = torch_twin(model[0]), _torch_linear(torch, model[1])
    tx = torch.tensor(x, requires_grad=True)
    out, _ = _run_torch_rnn(torch, tm, tx, lengths, batch_first)
    tmask = torch.from_numpy(mask)
    tloss = torch.nn.functional.cross_entropy(tfc(out)[tmask], torch.from_numpy(target)[tmask])
    tloss.backward()
    cfg = f"batch_first={batch_first}"
    assert_close("loss", loss, tloss.item(), 1e-10, cfg)
    assert_close("dx", dx, tx.grad.numpy(), 1e-10, cfg)
    _compare_grads(model, {"0": tm, "1": tfc}, cfg)


def test_embedding_gru_classifier_matches_torch(rng):
    torch = _torch()
    V, E, H, T, B = 9, 3, 4, 5, 3
    model = nn.Sequential(nn.Embedding(V, E, padding_idx=0, dtype=np.float64, rng=rng),
                          nn.GRU(E, H, dtype=np.float64, rng=rng), nn.LastStep(),
                          nn.Linear(H, 2, dtype=np.float64, rng=rng))
    lengths = np.array([5, 3, 2])
    ids = rng.integers(1, V, size=(T, B))
    ids[~nn.length_mask(lengths, T)] = 0                      # padding id
    crit = nn.CrossEntropyLoss()
    target = np.array([1, 0, 1])
    loss = crit(model(ids, lengths=lengths), target)
    assert model.backward(crit.backward()) is None            # ids take no gradient

    temb = torch.nn.Embedding(V, E, padding_idx=0, dtype=torch.float64)
    temb.load_state_dict({"weight": torch.from_numpy(model[0].weight.data.copy())})
    tm, tfc = torch_twin(model[1]), _torch_linear(torch, model[3])
    _, h_n = _run_torch_rnn(torch, tm, temb(torch.from_numpy(ids)), lengths, False)
    tloss = torch.nn.functional.cross_entropy(tfc(h_n[-1]), torch.from_numpy(target))
    tloss.backward()
    assert_close("loss", loss, tloss.item(), 1e-10)
    _compare_grads(model, {"0": temb, "1": tm, "3": tfc}, "embedding classifier")


@pytest.mark.parametrize("batched", [True, False])
def test_final_state_matches_torch_h_n(batched, rng):
    torch = _torch()
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64, rng=rng)
    final = nn.FinalState(num_directions=2)
    x = rng.standard_normal((5, 2, 3) if batched else (5, 3))
    out, state = lstm(x)
    feat = final(state)
    d = rng.standard_normal(feat.shape)
    dh_n, dc_n = final.backward(d)
    assert dc_n is None and dh_n.shape == state[0].shape
    dx, _ = lstm.backward(np.zeros_like(out), (dh_n, dc_n))

    tm = torch_twin(lstm)
    tx = torch.tensor(x, requires_grad=True)
    _, (th, _) = tm(tx)
    tfeat = torch.cat([th[-2], th[-1]], dim=-1)
    (tfeat * torch.from_numpy(d)).sum().backward()
    assert_close("feat", feat, tfeat.detach().numpy(), 1e-10)
    assert_close("dx", dx, tx.grad.numpy(), 1e-10)
    for name, p in lstm.named_parameters():
        assert_close(f"grad of {name}", p.grad, dict(tm.named_parameters())[name].grad.numpy(), 1e-10)
    # inside a Sequential, LastStep(bidirectional_split=True) gives the same features
    model = nn.Sequential(lstm, nn.LastStep(bidirectional_split=True))
    np.testing.assert_allclose(model(x), feat, rtol=1e-12)
    # a plain GRU h_n, single direction
    gru_h = rng.standard_normal((3, 2, 4))
    np.testing.assert_array_equal(nn.FinalState()(gru_h), gru_h[-1])


# -- LastStep, Flatten ----------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("split", [False, True])
def test_laststep_values_and_finite_differences(batch_first, split, rng):
    T, B, F = 4, 3, 6
    lengths = np.array([4, 1, 2])
    xt = rng.standard_normal((T, B, F))
    x = np.ascontiguousarray(xt.transpose(1, 0, 2)) if batch_first else xt
    ls = nn.LastStep(batch_first=batch_first, bidirectional_split=split)
    y = ls(x, lengths=lengths)
    for b in range(B):
        expected = xt[lengths[b] - 1, b].copy()
        if split:
            expected[F // 2:] = xt[0, b, F // 2:]
        np.testing.assert_array_equal(y[b], expected)
    d = rng.standard_normal((B, F))

    def f():
        with rnnkit.no_grad():
            return np.sum(ls(x, lengths=lengths) * d)

    dx = ls.backward(d)
    assert dx.shape == x.shape
    check_fd("dx", dx, f, x, rng, n=T * B * F, config=f"batch_first={batch_first} split={split}")
    with rnnkit.no_grad():
        full = ls(x)                                     # no lengths: step T-1 (and step 0 for the reverse half)
    np.testing.assert_array_equal(full[:, :F // 2], xt[-1, :, :F // 2])
    np.testing.assert_array_equal(full[:, F // 2:], xt[0 if split else -1, :, F // 2:])


def test_laststep_unbatched_and_errors(rng):
    ls = nn.LastStep()
    x = rng.standard_normal((4, 3))
    np.testing.assert_array_equal(ls(x), x[-1])
    dx = ls.backward(np.ones(3))
    assert dx.shape == (4, 3) and dx[-1].sum() == 3 and dx[:-1].sum() == 0
    with pytest.raises(ValueError, match="input"):
        ls(np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="lengths"):
        ls(np.zeros((4, 2, 3)), lengths=[5, 1])
    with pytest.raises(ValueError, match="lengths"):
        ls(np.zeros((4, 2, 3)), lengths=[1, 2, 3])
    with pytest.raises(ValueError, match="lengths"):
        ls(x, lengths=[2])
    with pytest.raises(ValueError, match="bidirectional_split"):
        nn.LastStep(bidirectional_split=True)(np.zeros((4, 2, 3)))
    with pytest.raises(TypeError, match="batch_first"):
        nn.LastStep(batch_first=1)
    ls(np.zeros((4, 2, 3)))
    with pytest.raises(ValueError, match="d_output"):
        ls.backward(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="h_n"):
        nn.FinalState(2)(np.zeros((3, 2, 4)))


def test_flatten_matches_torch(rng):
    torch = _torch()
    x = rng.standard_normal((2, 3, 4, 5))
    for s, e in [(1, -1), (0, 1), (2, 3), (1, 1)]:
        fl = nn.Flatten(s, e)
        y = fl(x)
        assert y.shape == tuple(torch.nn.Flatten(s, e)(torch.from_numpy(x)).shape)
        np.testing.assert_array_equal(fl.backward(y), x)
    with pytest.raises(ValueError, match="Flatten"):
        nn.Flatten(3, 1)(x)


# -- WindowMLP ------------------------------------------------------------------------------
@pytest.mark.parametrize("activation,hidden", [("tanh", (8,)), ("relu", (6, 5)), ("sigmoid", ())])
def test_window_mlp_matches_torch_sequential(activation, hidden, rng):
    torch = _torch()
    W, F, O, B = 4, 2, 3, 5
    mlp = nn.WindowMLP(W, F, hidden, O, activation=activation, dtype=np.float64, rng=rng)
    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid}[activation]
    tmods, sizes = [torch.nn.Flatten()], [W * F, *hidden]
    for a, b in zip(sizes[:-1], sizes[1:]):
        tmods += [torch.nn.Linear(a, b, dtype=torch.float64), act()]
    tmods.append(torch.nn.Linear(sizes[-1], O, dtype=torch.float64))
    tseq = torch.nn.Sequential(*tmods)
    assert list(mlp.state_dict()) == list(tseq.state_dict())     # same names: torch weights load directly
    mlp.load_state_dict(tseq.state_dict())
    x = rng.standard_normal((B, W, F))
    d = rng.standard_normal((B, O))
    y = mlp(x)
    dx = mlp.backward(d)
    tx = torch.tensor(x, requires_grad=True)
    ty = tseq(tx)
    (ty * torch.from_numpy(d)).sum().backward()
    assert_close("y", y, ty.detach().numpy(), 1e-12, activation)
    assert_close("dx", dx, tx.grad.numpy(), 1e-12, activation)
    _compare_grads(mlp, {str(k): m for k, m in enumerate(tseq)}, activation)


def test_window_mlp_finite_differences_and_errors(rng):
    mlp = nn.WindowMLP(window=3, n_features=1, hidden_sizes=4, n_outputs=2, dtype=np.float64, rng=rng)
    x = rng.standard_normal((2, 3))                    # (B, W) with one feature
    d = rng.standard_normal((2, 2))

    def f():
        with rnnkit.no_grad():
            return np.sum(mlp(x) * d)

    mlp(x)
    dx = mlp.backward(d)
    assert dx.shape == (2, 3)
    check_fd("dx", dx, f, x, rng)
    for name, p in mlp.named_parameters():
        check_fd(name, p.grad, f, p.data, rng, n=4)
    with pytest.raises(ValueError, match="input expected shape"):
        mlp(np.zeros((2, 4, 1)))
    with pytest.raises(ValueError, match="activation"):
        nn.WindowMLP(3, 1, 4, 1, activation="gelu")
    with pytest.raises(TypeError, match="hidden_sizes"):
        nn.WindowMLP(3, 1, "4", 1)
    with pytest.raises(ValueError, match=r"hidden_sizes\[1\]"):
        nn.WindowMLP(3, 1, (4, 0), 1)


# -- Sequential container -------------------------------------------------------------------
def test_sequential_container_protocol(rng):
    torch = _torch()
    a, act, b = nn.Linear(3, 4, rng=rng), nn.Tanh(), nn.Linear(4, 2, rng=rng)
    seq = nn.Sequential(a, act, b)
    assert len(seq) == 3 and list(seq) == [a, act, b] and seq[0] is a and seq[-1] is b
    assert [m for m in seq[1:]] == [act, b] and isinstance(seq[1:], nn.Sequential)
    tseq = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    assert list(seq.state_dict()) == list(tseq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    with pytest.raises(IndexError):
        seq[3]
    with pytest.raises(TypeError, match="Module"):
        nn.Sequential(a, np.tanh)
    named = nn.Sequential(OrderedDict([("rnn", nn.GRU(2, 3)), ("head", nn.Linear(3, 1))]))
    assert [n for n, _ in named.named_parameters()][0] == "rnn.weight_ih_l0"
    assert named.append(nn.ReLU()) is named and len(named) == 3
    (rebuilt_from,), _ = named._config                        # constructor arguments follow append (save_model)
    assert list(nn.Sequential(rebuilt_from).state_dict()) == list(named.state_dict())
    assert [type(m).__name__ for m in rebuilt_from.values()] == ["GRU", "Linear", "ReLU"]


def test_sequential_lifo_eval_and_dropout(rng):
    seq = nn.Sequential(nn.Linear(3, 4, dtype=np.float64, rng=rng), nn.Tanh(), nn.Dropout(0.5, rng=0),
                        nn.Linear(4, 2, dtype=np.float64, rng=rng))
    x1, x2 = rng.standard_normal((2, 5, 3))
    d1, d2 = rng.standard_normal((2, 5, 2))
    seq.eval()
    y1 = seq(x1)
    with pytest.raises(RuntimeError):
        seq.backward(d1)
    np.testing.assert_array_equal(seq(x1), y1)                # eval: dropout is the identity
    seq.train()
    seq[2].p = 0.0                                             # deterministic for the LIFO check
    separate = {}
    for x, d in ((x1, d1), (x2, d2)):
        seq.zero_grad()
        seq(x)
        dx = seq.backward(d)
        separate[id(x)] = dx
        for n, p in seq.named_parameters():
            separate[n] = separate.get(n, 0) + p.grad
    seq.zero_grad()
    seq(x1)
    seq(x2)
    np.testing.assert_allclose(seq.backward(d2), separate[id(x2)], rtol=1e-12)   # most recent first
    np.testing.assert_allclose(seq.backward(d1), separate[id(x1)], rtol=1e-12)
    for n, p in seq.named_parameters():
        np.testing.assert_allclose(p.grad, separate[n], rtol=1e-12, err_msg=n)


class _NoInputGrad(nn.Module):
    def forward(self, x):
        return x

    def backward(self, d):
        return None


def test_sequential_stops_when_a_middle_module_gives_no_gradient():
    seq = nn.Sequential(nn.Linear(2, 2), _NoInputGrad())
    seq(np.zeros((1, 2)))
    with pytest.raises(RuntimeError, match="no input gradient"):
        seq.backward(np.zeros((1, 2)))
