"""The one-step cells: against torch cells, against hand-written equations, and unrolled.

- one step: outputs and every gradient equal torch.nn.RNNCell/LSTMCell/GRUCell's;
- the equations written out with NumPy (independent of rnnkit's code) for the cases torch
  lacks (RNN sigmoid, GRU reset_after=False) and for the LSTM;
- several steps with the state carried: the cell unrolled by hand and backpropagated by
  calling backward in reverse order (LIFO) equals torch's unrolled cells and the full layer
  with the same weights; gradients accumulate over the steps.
"""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from helpers import RTOL, assert_close, seed_of
from rnnkit import nn

B, I, H, T = 3, 4, 5, 6
CELLS = {
    "rnn_tanh": ("RNNCell", "RNN", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNNCell", "RNN", {"nonlinearity": "relu"}),
    "gru": ("GRUCell", "GRU", {}),
    "lstm": ("LSTMCell", "LSTM", {}),
}
DTYPES = {"f32": np.float32, "f64": np.float64}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def torch_cell(torch, cell):
    name = type(cell).__name__
    kw = {"nonlinearity": cell.nonlinearity} if name == "RNNCell" else {}
    tdtype = torch.float64 if cell.dtype == np.float64 else torch.float32
    tc = getattr(torch.nn, name)(cell.input_size, cell.hidden_size, bias=cell.bias, dtype=tdtype, **kw)
    tc.load_state_dict({k: torch.from_numpy(v) for k, v in cell.state_dict().items()})
    return tc


def random_cell(cell_id, dtype, seed, **kw):
    name, _, extra = CELLS[cell_id]
    return getattr(nn, name)(I, H, dtype=dtype, rng=seed, **{**extra, **kw})


# -- one step against torch -----------------------------------------------------------------
@pytest.mark.parametrize("dtype_id", list(DTYPES))
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("cell_id", list(CELLS))
def test_one_step_matches_torch(cell_id, bias, batched, dtype_id):
    torch = pytest.importorskip("torch")
    dtype = DTYPES[dtype_id]
    config = f"{cell_id} bias={bias} batched={batched} {dtype_id}"
    seed = seed_of(config)
    cell = random_cell(cell_id, dtype, seed, bias=bias)
    tc = torch_cell(torch, cell)
    rng = np.random.default_rng(seed)
    lead = (B,) if batched else ()
    x, h, c, dh, dc = (rng.standard_normal(lead + (n,)).astype(dtype) for n in (I, H, H, H, H))
    lstm = cell_id == "lstm"
    tx, th, tc0 = (torch.tensor(a, requires_grad=True) for a in (x, h, c))
    if lstm:
        h1, c1 = cell(x, (h, c))
        th1, tc1 = tc(tx, (th, tc0))
        loss = (th1 * torch.from_numpy(dh)).sum() + (tc1 * torch.from_numpy(dc)).sum()
        assert_close("c'", c1, tc1.detach().numpy(), RTOL[np.dtype(dtype)], config)
        dx, (dh0, dc0) = cell.backward((dh, dc))
    else:
        h1 = cell(x, h)
        th1 = tc(tx, th)
        loss = (th1 * torch.from_numpy(dh)).sum()
        dx, dh0 = cell.backward(dh)
    loss.backward()
    tol = RTOL[np.dtype(dtype)]
    assert h1.dtype == dtype and dx.dtype == dtype
    assert_close("h'", h1, th1.detach().numpy(), tol, config)
    assert_close("dx", dx, tx.grad.numpy(), tol, config)
    assert_close("dh", dh0, th.grad.numpy(), tol, config)
    if lstm:
        assert_close("dc", dc0, tc0.grad.numpy(), tol, config)
    tp = dict(tc.named_parameters())
    assert [n for n, _ in cell.named_parameters()] == list(tp)
    for n, p in cell.named_parameters():
        assert_close(f"grad of {n}", p.grad, tp[n].grad.numpy(), tol, config)


@pytest.mark.parametrize("cell_id", list(CELLS))
def test_default_state_is_zeros_and_none_gradients_are_zeros(cell_id):
    cell = random_cell(cell_id, np.float64, 1)
    x = np.random.default_rng(2).standard_normal((B, I))
    zeros = np.zeros((B, H))
    lstm = cell_id == "lstm"
    a = cell(x)
    b = cell(x, (zeros, zeros) if lstm else zeros)
    for u, v in zip(a if lstm else (a,), b if lstm else (b,)):
        np.testing.assert_array_equal(u, v)
    if lstm:   # backward((dh, None)) == backward((dh, 0))
        dh = np.ones((B, H))
        g1 = cell.backward((dh, zeros))
        g2 = cell.backward((dh, None))
        np.testing.assert_array_equal(g1[0], g2[0])
        np.testing.assert_array_equal(g1[1][0], g2[1][0])
        np.testing.assert_array_equal(g1[1][1], g2[1][1])
    else:
        g1, g2 = cell.backward(zeros), cell.backward(None)
        np.testing.assert_array_equal(g1[0], g2[0])
        assert not g1[0].any()


# -- the equations, written out with NumPy --------------------------------------------------
def _weights(cell):
    W_ih, W_hh = cell.weight_ih.data, cell.weight_hh.data
    b_ih = cell.bias_ih.data if cell.bias else np.zeros(W_ih.shape[0])
    b_hh = cell.bias_hh.data if cell.bias else np.zeros(W_ih.shape[0])
    return W_ih, W_hh, b_ih, b_hh


def test_lstm_cell_equations_by_hand():
    cell = nn.LSTMCell(I, H, dtype=np.float64, rng=3)
    W_ih, W_hh, b_ih, b_hh = _weights(cell)
    rng = np.random.default_rng(4)
    x, h, c = rng.standard_normal((B, I)), rng.standard_normal((B, H)), rng.standard_normal((B, H))
    h1, c1 = cell(x, (h, c))
    for b in range(B):          # one sample at a time, one gate at a time
        a = W_ih @ x[b] + b_ih + W_hh @ h[b] + b_hh
        i_g, f_g = sigmoid(a[:H]), sigmoid(a[H:2 * H])
        g_g, o_g = np.tanh(a[2 * H:3 * H]), sigmoid(a[3 * H:])
        c_new = f_g * c[b] + i_g * g_g
        np.testing.assert_allclose(c1[b], c_new, rtol=1e-12, atol=1e-14, err_msg="c'")
        np.testing.assert_allclose(h1[b], o_g * np.tanh(c_new), rtol=1e-12, atol=1e-14, err_msg="h'")


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_cell_equations_by_hand(reset_after):
    cell = nn.GRUCell(I, H, dtype=np.float64, rng=5, reset_after=reset_after)
    W_ih, W_hh, b_ih, b_hh = _weights(cell)
    rng = np.random.default_rng(6)
    x, h = rng.standard_normal((B, I)), rng.standard_normal((B, H))
    h1 = cell(x, h)
    for b in range(B):
        gi = W_ih @ x[b] + b_ih
        W_hr, W_hz, W_hn = W_hh[:H], W_hh[H:2 * H], W_hh[2 * H:]
        r = sigmoid(gi[:H] + W_hr @ h[b] + b_hh[:H])
        z = sigmoid(gi[H:2 * H] + W_hz @ h[b] + b_hh[H:2 * H])
        if reset_after:     # PyTorch: r multiplies (W_hn h + b_hn)
            n = np.tanh(gi[2 * H:] + r * (W_hn @ h[b] + b_hh[2 * H:]))
        else:               # Cho et al.: r multiplies h before the product
            n = np.tanh(gi[2 * H:] + W_hn @ (r * h[b]) + b_hh[2 * H:])
        np.testing.assert_allclose(h1[b], (1 - z) * n + z * h[b], rtol=1e-12, atol=1e-14,
                                   err_msg=f"h' reset_after={reset_after}")


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu", "sigmoid"])
def test_rnn_cell_equations_by_hand(nonlinearity):
    cell = nn.RNNCell(I, H, nonlinearity=nonlinearity, dtype=np.float64, rng=7)
    W_ih, W_hh, b_ih, b_hh = _weights(cell)
    rng = np.random.default_rng(8)
    x, h = rng.standard_normal((B, I)), rng.standard_normal((B, H))
    f = {"tanh": np.tanh, "relu": lambda a: np.maximum(a, 0.0), "sigmoid": sigmoid}[nonlinearity]
    expected = f(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
    np.testing.assert_allclose(cell(x, h), expected, rtol=1e-12, atol=1e-14, err_msg=nonlinearity)


# -- several steps with the state carried ---------------------------------------------------
def unroll(cell, x, state, d_out, d_state):
    """Run the cell over x (T, B, I) and backpropagate in reverse order (LIFO)."""
    lstm = isinstance(cell, nn.LSTMCell)
    cell.zero_grad()
    s = state
    outs = []
    for t in range(len(x)):
        s = cell(x[t], s)
        outs.append(s[0] if lstm else s)
    dxs = [None] * len(x)
    ds = d_state
    for t in reversed(range(len(x))):
        if lstm:
            dxs[t], ds = cell.backward((ds[0] + d_out[t], ds[1]))
        else:
            dxs[t], ds = cell.backward(ds + d_out[t])
    return np.stack(outs), s, np.stack(dxs), ds


@pytest.mark.parametrize("dtype_id", list(DTYPES))
@pytest.mark.parametrize("cell_id", list(CELLS) + ["gru_reset_before", "rnn_sigmoid"])
def test_unrolled_cell_equals_layer_and_torch(cell_id, dtype_id):
    dtype = DTYPES[dtype_id]
    config = f"{cell_id} unrolled T={T} {dtype_id}"
    extra = {}
    if cell_id == "gru_reset_before":
        cell_id, extra = "gru", {"reset_after": False}
    if cell_id == "rnn_sigmoid":
        cell_id, extra = "rnn_tanh", {"nonlinearity": "sigmoid"}
    name, kind, kind_kw = CELLS[cell_id]
    kind_kw = {**kind_kw, **extra}
    seed = seed_of(config)
    cell = getattr(nn, name)(I, H, dtype=dtype, rng=seed, **kind_kw)
    layer = getattr(nn, kind)(I, H, dtype=dtype, rng=seed + 1, **kind_kw)
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, I)).astype(dtype)
    d_out = rng.standard_normal((T, B, H)).astype(dtype)
    h0, c0, dh_n, dc_n = (rng.standard_normal((B, H)).astype(dtype) for _ in range(4))
    lstm = kind == "LSTM"
    state, d_state = ((h0, c0), (dh_n, dc_n)) if lstm else (h0, dh_n)
    outs, s_n, dx, ds0 = unroll(cell, x, state, d_out, d_state)
    tol = RTOL[np.dtype(dtype)]

    # the full layer with the cell's weights
    lout, ls_n = layer(x, (h0[None], c0[None]) if lstm else h0[None])
    ldx, lds0 = layer.backward(d_out, (dh_n[None], dc_n[None]) if lstm else dh_n[None])
    assert_close("out", outs, lout, tol, config + " vs layer")
    assert_close("dx", dx, ldx, tol, config + " vs layer")
    for k, (a, b) in enumerate(zip(ds0 if lstm else (ds0,), lds0 if lstm else (lds0,))):
        assert_close(("dh0", "dc0")[k], a, b[0], tol, config + " vs layer")
    for n, p in cell.named_parameters():
        assert_close(f"grad of {n}", p.grad, getattr(layer, n + "_l0").grad, tol, config + " vs layer")

    if extra:        # no torch cell for these: the layer (checked by finite differences) is the oracle
        return
    torch = pytest.importorskip("torch")
    tc = torch_cell(torch, cell)
    tx = torch.tensor(x, requires_grad=True)
    th0, tc0 = torch.tensor(h0, requires_grad=True), torch.tensor(c0, requires_grad=True)
    s = (th0, tc0) if lstm else th0
    loss = 0
    for t in range(T):
        s = tc(tx[t], s)
        loss = loss + ((s[0] if lstm else s) * torch.from_numpy(d_out[t])).sum()
    loss = loss + ((s[0] if lstm else s) * torch.from_numpy(dh_n)).sum()
    if lstm:
        loss = loss + (s[1] * torch.from_numpy(dc_n)).sum()
    loss.backward()
    assert_close("h_n", s_n[0] if lstm else s_n, (s[0] if lstm else s).detach().numpy(), tol, config)
    assert_close("dx", dx, tx.grad.numpy(), tol, config + " vs torch")
    assert_close("dh0", ds0[0] if lstm else ds0, th0.grad.numpy(), tol, config + " vs torch")
    if lstm:
        assert_close("dc0", ds0[1], tc0.grad.numpy(), tol, config + " vs torch")
    tp = dict(tc.named_parameters())
    for n, p in cell.named_parameters():
        assert_close(f"grad of {n}", p.grad, tp[n].grad.numpy(), tol, config + " vs torch")


def test_cell_in_eval_and_no_grad_keeps_nothing():
    cell = nn.GRUCell(I, H, rng=0)
    x = np.ones((B, I), np.float32)
    with rnnkit.no_grad():
        cell(x)
    with pytest.raises(RuntimeError):
        cell.backward(np.ones((B, H), np.float32))
    cell.eval()
    cell(x)
    with pytest.raises(RuntimeError):
        cell.backward(np.ones((B, H), np.float32))


@pytest.mark.parametrize("dtype_id", list(DTYPES))
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("cell_id", list(CELLS) + ["gru_reset_before", "rnn_sigmoid"])
def test_inference_equals_training_forward(cell_id, batched, dtype_id):
    """Eval / no_grad (which may take a lean path) give exactly the training-mode step."""
    dtype = DTYPES[dtype_id]
    extra = {}
    if cell_id == "gru_reset_before":
        cell_id, extra = "gru", {"reset_after": False}
    if cell_id == "rnn_sigmoid":
        cell_id, extra = "rnn_tanh", {"nonlinearity": "sigmoid"}
    for bias in (True, False):
        cell = random_cell(cell_id, dtype, 21, bias=bias, **extra)
        rng = np.random.default_rng(22)
        lead = (B,) if batched else ()
        x, h, c = (rng.standard_normal(lead + (n,)) for n in (I, H, H))
        state = (h, c) if cell_id == "lstm" else h
        steps = []
        for mode in ("train", "no_grad", "eval"):
            cell.train(mode != "eval")
            with rnnkit.set_grad_enabled(mode != "no_grad"):
                s = state
                for _ in range(3):                 # a few steps with the state carried
                    s = cell(x, s)
            steps.append(s if cell_id == "lstm" else (s,))
        for mode, got in zip(("no_grad", "eval"), steps[1:]):
            for a, b in zip(got, steps[0]):
                assert a.dtype == dtype and a.shape == b.shape, mode
                np.testing.assert_allclose(a, b, rtol=RTOL[np.dtype(dtype)], atol=RTOL[np.dtype(dtype)],
                                           err_msg=f"{cell_id} {extra} bias={bias} {mode}")
        cell.train()
        cell.clear_cache()
