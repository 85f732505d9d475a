"""Module basics on the recurrent layers: names, state_dict, modes, dtypes, init, the LIFO cache."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rnnkit
from helpers import assert_close, random_problem, rnnkit_run, torch_reference
from rnnkit import nn

pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections is not supported:UserWarning")

I, H, T, B = 3, 4, 5, 2

CONFIGS = [
    ("RNN", {}),
    ("RNN", {"num_layers": 2, "bidirectional": True, "bias": False}),
    ("GRU", {"num_layers": 3}),
    ("GRU", {"bidirectional": True}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 2, "num_layers": 2}),
    ("LSTM", {"proj_size": 3, "bidirectional": True, "bias": False}),
]
CONFIG_IDS = [f"{k}-{'-'.join(f'{a}={b}' for a, b in kw.items())}" for k, kw in CONFIGS]


# -- names and shapes -----------------------------------------------------------------------
@pytest.mark.parametrize("kind,kw", CONFIGS, ids=CONFIG_IDS)
def test_parameter_names_order_and_shapes_equal_torch(kind, kw):
    torch = pytest.importorskip("torch")
    ours = [(n, p.shape) for n, p in getattr(nn, kind)(I, H, rng=0, **kw).named_parameters()]
    theirs = [(n, tuple(p.shape)) for n, p in getattr(torch.nn, kind)(I, H, **kw).named_parameters()]
    assert ours == theirs
    assert list(getattr(nn, kind)(I, H, rng=0, **kw).state_dict()) == [n for n, _ in theirs]


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cell_parameter_names_equal_torch(kind):
    torch = pytest.importorskip("torch")
    for bias in (True, False):
        ours = [(n, p.shape) for n, p in getattr(nn, kind)(I, H, bias=bias, rng=0).named_parameters()]
        theirs = [(n, tuple(p.shape)) for n, p in getattr(torch.nn, kind)(I, H, bias=bias).named_parameters()]
        assert ours == theirs


def test_parameters_follow_named_parameters():
    lstm = nn.LSTM(I, H, num_layers=2, rng=0)
    assert [id(p) for p in lstm.parameters()] == [id(p) for _, p in lstm.named_parameters()]
    assert len(list(lstm.parameters())) == 8


# -- state_dict -----------------------------------------------------------------------------
def test_state_dict_round_trip_and_copies():
    a = nn.GRU(I, H, num_layers=2, rng=1)
    b = nn.GRU(I, H, num_layers=2, rng=2)
    sd = a.state_dict()
    sd["weight_ih_l0"][...] = 7.0                   # a copy: the module is untouched
    assert not np.any(a.weight_ih_l0.data == 7.0)
    missing, unexpected = b.load_state_dict(a.state_dict())
    assert missing == [] and unexpected == []
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
        assert q.data.dtype == np.float32


def test_load_state_dict_strict_errors_and_nothing_written():
    lstm = nn.LSTM(I, H, rng=0)
    before = lstm.state_dict()
    sd = lstm.state_dict()
    del sd["bias_hh_l0"]
    with pytest.raises(ValueError, match="bias_hh_l0"):
        lstm.load_state_dict(sd)
    sd = {**lstm.state_dict(), "weight_hr_l0": np.zeros((2, H))}
    with pytest.raises(ValueError, match="weight_hr_l0"):
        lstm.load_state_dict(sd)
    sd = {k: v + 1 for k, v in lstm.state_dict().items()}
    sd["weight_hh_l0"] = np.zeros((4 * H, H + 1))
    with pytest.raises(ValueError, match=r"weight_hh_l0.*\(16, 4\).*\(16, 5\)"):
        lstm.load_state_dict(sd)
    for n, p in lstm.named_parameters():       # a failed load leaves every parameter as it was
        np.testing.assert_array_equal(p.data, before[n], err_msg=n)
    with pytest.raises(TypeError, match="state_dict"):
        lstm.load_state_dict([("weight_ih_l0", np.zeros((4 * H, I)))])


def test_load_state_dict_non_strict_reports_keys():
    lstm = nn.LSTM(I, H, rng=0)
    sd = {"weight_ih_l0": np.ones((4 * H, I)), "extra": np.zeros(3)}
    missing, unexpected = lstm.load_state_dict(sd, strict=False)
    assert missing == ["weight_hh_l0", "bias_ih_l0", "bias_hh_l0"] and unexpected == ["extra"]
    np.testing.assert_array_equal(lstm.weight_ih_l0.data, 1.0)


@pytest.mark.parametrize("kind,kw", CONFIGS, ids=CONFIG_IDS)
def test_load_torch_state_dict_directly(kind, kw):
    torch = pytest.importorskip("torch")
    tm = getattr(torch.nn, kind)(I, H, **kw)
    m = getattr(nn, kind)(I, H, rng=0, **kw)
    m.load_state_dict(tm.state_dict())           # torch tensors, no conversion by the caller
    for n, p in tm.named_parameters():
        np.testing.assert_array_equal(getattr(m, n).data, p.detach().numpy(), err_msg=n)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype(np.float32)
    out, _ = m(x)
    with torch.no_grad():
        tout, _ = tm(torch.from_numpy(x))
    assert_close("out", out, tout.numpy(), 3e-5, f"{kind} {kw}")


# -- grads, modes, dtype --------------------------------------------------------------------
def test_zero_grad():
    gru = nn.GRU(I, H, rng=0)
    x = np.ones((T, B, I), np.float32)
    out, _ = gru(x)
    gru.backward(np.ones_like(out))
    assert all(p.grad is not None and p.grad.any() for p in gru.parameters())
    gru.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.any() for p in gru.parameters())
    gru.zero_grad()
    assert all(p.grad is None for p in gru.parameters())


def test_train_eval_flags():
    lstm = nn.LSTM(I, H, rng=0)
    assert lstm.training
    assert lstm.eval() is lstm and not lstm.training
    assert lstm.train() is lstm and lstm.training
    lstm.train(False)
    assert not lstm.training
    with pytest.raises(TypeError, match="mode"):
        lstm.train("yes")


@pytest.mark.parametrize("cast", ["double", "to"])
def test_double_then_forward_backward_in_float64(cast):
    pytest.importorskip("torch")

    lstm = nn.LSTM(I, H, num_layers=2, proj_size=2, rng=0)
    assert lstm.weight_ih_l0.dtype == np.float32
    out, _ = lstm(np.ones((T, B, I)))
    lstm.backward(np.ones_like(out))
    assert (lstm.double() if cast == "double" else lstm.to(np.float64)) is lstm
    assert lstm.dtype == np.float64
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in lstm.parameters())
    with pytest.raises(RuntimeError):     # casting drops saved forwards
        lstm.backward(np.ones_like(out))
    x, state, d_out, d_state = random_problem(lstm, T, B, np.random.default_rng(1))
    assert x.dtype == np.float64
    ours = rnnkit_run(lstm, x, state, None, d_out, d_state)
    assert ours["out"].dtype == np.float64 and ours["dx"].dtype == np.float64
    ref = torch_reference("LSTM", lstm, x, state, None, d_out, d_state, False)
    assert_close("out", ours["out"], ref["out"], 1e-10, "after double()")
    assert_close("dx", ours["dx"], ref["dx"], 1e-10, "after double()")
    lstm.float()
    assert all(p.dtype == np.float32 for p in lstm.parameters())
    out, _ = lstm(x)
    assert out.dtype == np.float32
    with pytest.raises(TypeError, match="dtype"):
        lstm.to(np.int32)


@pytest.mark.parametrize("data", [np.ones((T, B, I), np.float64), np.ones((T, B, I), np.int64),
                                  np.ones((T, B, I), bool), [[[1, 2, 3]] * B] * T])
def test_other_input_dtypes_are_cast(data):
    rnn = nn.RNN(I, H, rng=0)
    out, h_n = rnn(data)
    assert out.dtype == np.float32 and h_n.dtype == np.float32
    ref, _ = rnn(np.asarray(data, dtype=np.float32))
    np.testing.assert_array_equal(out, ref)
    dx, dh0 = rnn.backward(np.ones(out.shape, np.float64))
    dx2, _ = rnn.backward(np.ones(out.shape, np.float32))
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dx, dx2)


def test_repr_is_readable():
    assert repr(nn.LSTM(I, H, rng=0)) == "LSTM(3, 4)"
    r = repr(nn.LSTM(10, 20, num_layers=2, bidirectional=True, proj_size=5, batch_first=True, rng=0))
    assert r == "LSTM(10, 20, proj_size=5, num_layers=2, batch_first=True, bidirectional=True)"
    assert repr(nn.RNN(I, H, nonlinearity="relu", bias=False, rng=0)) == "RNN(3, 4, nonlinearity='relu', bias=False)"
    assert "reset_after=False" in repr(nn.GRU(I, H, reset_after=False, rng=0))
    assert "merge_mode='sum'" in repr(nn.GRU(I, H, bidirectional=True, merge_mode="sum", rng=0))
    assert "float64" in repr(nn.GRU(I, H, dtype=np.float64, rng=0))
    assert repr(nn.GRUCell(I, H, rng=0)) == "GRUCell(3, 4)"


# -- default init ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind,kw", CONFIGS, ids=CONFIG_IDS)
def test_default_init_uniform_bound_and_seeded(kind, kw):
    hidden = 16
    m = getattr(nn, kind)(I, hidden, rng=3, **kw)
    k = 1 / math.sqrt(hidden)
    allv = np.concatenate([p.data.ravel() for p in m.parameters()])
    assert np.all(np.abs(allv) <= k)
    assert allv.max() > 0.8 * k and allv.min() < -0.8 * k       # spread over the whole range
    assert abs(allv.mean()) < 0.1 * k and abs(allv.std() - k / math.sqrt(3)) < 0.1 * k
    same = getattr(nn, kind)(I, hidden, rng=3, **kw)
    other = getattr(nn, kind)(I, hidden, rng=4, **kw)
    gen = getattr(nn, kind)(I, hidden, rng=np.random.default_rng(3), **kw)
    for (n, p), q, r, s in zip(m.named_parameters(), same.parameters(), other.parameters(), gen.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
        np.testing.assert_array_equal(p.data, s.data, err_msg=n)
        assert not np.array_equal(p.data, r.data), n


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cell_default_init_uniform_bound_and_seeded(kind):
    cell = getattr(nn, kind)(I, 16, rng=3)
    allv = np.concatenate([p.data.ravel() for p in cell.parameters()])
    assert np.all(np.abs(allv) <= 0.25) and allv.max() > 0.2 and allv.min() < -0.2
    for p, q in zip(cell.parameters(), getattr(nn, kind)(I, 16, rng=3).parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_reset_parameters_redraws_within_bound():
    gru = nn.GRU(I, H, rng=0)
    before = gru.state_dict()
    gru.reset_parameters(rng=9)
    k = 1 / math.sqrt(H)
    for n, p in gru.named_parameters():
        assert not np.array_equal(p.data, before[n]) and np.all(np.abs(p.data) <= k), n
        assert p.dtype == np.float32


# -- the LIFO cache -------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_called_twice_backward_twice_is_lifo_and_accumulates(kind):
    m = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, dtype=np.float64, rng=0)
    rng = np.random.default_rng(1)
    x1, s1, d1, ds1 = random_problem(m, T, B, rng)
    x2, s2, d2, ds2 = random_problem(m, T, B, rng)
    r1 = rnnkit_run(m, x1, s1, None, d1, ds1)
    r2 = rnnkit_run(m, x2, s2, None, d2, ds2)
    m.zero_grad()
    m(x1, s1)
    m(x2, s2)
    dx2, _ = m.backward(d2, ds2)                # pops the second call
    dx1, _ = m.backward(d1, ds1)                # then the first
    np.testing.assert_allclose(dx2, r2["dx"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx1, r1["dx"], rtol=1e-12, atol=1e-14)
    for n, p in m.named_parameters():           # grads add up (+=)
        np.testing.assert_allclose(p.grad, r1["grads"][n] + r2["grads"][n], rtol=1e-12, atol=1e-14, err_msg=n)
    with pytest.raises(RuntimeError, match="backward"):
        m.backward(d1, ds1)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_eval_and_no_grad_keep_nothing(kind):
    m = getattr(nn, kind)(I, H, rng=0)
    x = np.ones((T, B, I), np.float32)
    with pytest.raises(RuntimeError, match="without a matching forward"):
        m.backward(np.ones((T, B, H), np.float32))
    with rnnkit.no_grad():
        out, _ = m(x)
        assert not rnnkit.is_grad_enabled()
    assert rnnkit.is_grad_enabled()
    with pytest.raises(RuntimeError):
        m.backward(np.ones_like(out))
    m.eval()
    out_eval, _ = m(x)
    np.testing.assert_array_equal(out, out_eval)
    with pytest.raises(RuntimeError):
        m.backward(np.ones_like(out))
    m.train()
    m(x)
    m.backward(np.ones_like(out))                # training mode keeps the forward again
    assert m._cache_stack == []


def test_no_grad_as_decorator_and_nested():
    gru = nn.GRU(I, H, rng=0)

    @rnnkit.no_grad()
    def infer(x):
        return gru(x)

    infer(np.ones((T, B, I)))
    with pytest.raises(RuntimeError):
        gru.backward(np.ones((T, B, H)))
    with rnnkit.no_grad():
        with rnnkit.enable_grad():
            gru(np.ones((T, B, I)))
        assert not rnnkit.is_grad_enabled()
    gru.backward(np.ones((T, B, H)))


def test_parameter_without_requires_grad_gets_no_grad():
    rnn = nn.RNN(I, H, rng=0)
    rnn.weight_hh_l0.requires_grad = False
    out, _ = rnn(np.ones((T, B, I)))
    rnn.backward(np.ones_like(out))
    assert rnn.weight_hh_l0.grad is None and rnn.weight_ih_l0.grad is not None


# -- unbatched equals a batch of one -------------------------------------------------------
@pytest.mark.parametrize("kind,kw", CONFIGS, ids=CONFIG_IDS)
def test_unbatched_equals_batch_of_one(kind, kw):
    m = getattr(nn, kind)(I, H, dtype=np.float64, rng=0, **kw)
    x, state, d_out, d_state = random_problem(m, T, 1, np.random.default_rng(2), unbatched=True)
    lstm = kind == "LSTM"

    def add_batch(a, axis):
        return None if a is None else np.expand_dims(a, axis)

    unb = rnnkit_run(m, x, state, None, d_out, d_state)
    if lstm:
        s1 = tuple(add_batch(s, 1) for s in state)
        ds1 = tuple(add_batch(s, 1) for s in d_state)
    else:
        s1, ds1 = add_batch(state, 1), add_batch(d_state, 1)
    one = rnnkit_run(m, add_batch(x, 1), s1, None, add_batch(d_out, 1), ds1)
    for key, axis in (("out", 1), ("h_n", 1), ("c_n", 1), ("dx", 1), ("dh0", 1), ("dc0", 1)):
        if key in one:
            assert unb[key].shape == np.squeeze(one[key], axis).shape, key
            np.testing.assert_array_equal(unb[key], np.squeeze(one[key], axis), err_msg=key)
    for n in one["grads"]:
        np.testing.assert_array_equal(unb["grads"][n], one["grads"][n], err_msg=n)


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_unbatched_cell_equals_batch_of_one(kind):
    cell = getattr(nn, kind)(I, H, dtype=np.float64, rng=0)
    rng = np.random.default_rng(3)
    x, h, c, dh, dc = (rng.standard_normal(n) for n in (I, H, H, H, H))
    lstm = kind == "LSTMCell"
    cell.zero_grad()
    a = cell(x, (h, c)) if lstm else cell(x, h)
    ga = cell.backward((dh, dc) if lstm else dh)
    grads_a = {n: p.grad.copy() for n, p in cell.named_parameters()}
    cell.zero_grad()
    b = cell(x[None], (h[None], c[None])) if lstm else cell(x[None], h[None])
    gb = cell.backward((dh[None], dc[None]) if lstm else dh[None])
    flat_a = list(a) if lstm else [a]
    flat_b = list(b) if lstm else [b]
    flat_a += [ga[0]] + (list(ga[1]) if lstm else [ga[1]])
    flat_b += [gb[0]] + (list(gb[1]) if lstm else [gb[1]])
    for u, v in zip(flat_a, flat_b):
        assert u.shape == v.shape[1:]
        np.testing.assert_array_equal(u, v[0])
    for n, p in cell.named_parameters():
        np.testing.assert_array_equal(grads_a[n], p.grad, err_msg=n)


def test_lstm_state_part_none_means_zeros():
    lstm = nn.LSTM(I, H, num_layers=2, dtype=np.float64, rng=0)
    x = np.random.default_rng(0).standard_normal((T, B, I))
    h0 = np.random.default_rng(1).standard_normal((2, B, H))
    with rnnkit.no_grad():
        a, (ha, ca) = lstm(x, (h0, None))
        b, (hb, cb) = lstm(x, (h0, np.zeros((2, B, H))))
        c, _ = lstm(x, (None, None))
        d, _ = lstm(x)
    for u, v in ((a, b), (ha, hb), (ca, cb), (c, d)):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_non_contiguous_inputs_and_numpy_integer_sizes(kind):
    m = getattr(nn, kind)(np.int64(I), np.int32(H), num_layers=np.int64(2), dtype=np.float64, rng=0)
    base = np.random.default_rng(5).standard_normal((B, T, 2 * I))
    x = base[:, :, ::2].transpose(1, 0, 2)                     # (T, B, I), a strided view
    assert not x.flags.c_contiguous
    g = np.random.default_rng(6).standard_normal((T, B, 2 * H))[:, :, ::-2]   # strided gradient
    out_view, _ = m(x)
    dx_view, _ = m.backward(g)
    out_copy, _ = m(np.ascontiguousarray(x))
    dx_copy, _ = m.backward(np.ascontiguousarray(g))
    np.testing.assert_array_equal(out_view, out_copy)
    np.testing.assert_array_equal(dx_view, dx_copy)


@pytest.mark.parametrize("kind,args", [
    ("RNN", (3, 4, 2, "relu", False, True, 0.0, True)),
    ("LSTM", (3, 4, 2, False, True, 0.25, True, 2)),
    ("GRU", (3, 4, 3, True, False, 0.5, True)),
    ("RNNCell", (3, 4, False, "relu")),
    ("LSTMCell", (3, 4, False)),
    ("GRUCell", (3, 4, True)),
])
def test_positional_arguments_mean_what_they_mean_in_torch(kind, args):
    torch = pytest.importorskip("torch")
    ours = getattr(nn, kind)(*args, rng=0)
    theirs = getattr(torch.nn, kind)(*args)
    for attr in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
                 "proj_size", "nonlinearity"):
        if hasattr(theirs, attr):
            assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()]
