"""Variational recurrent and input dropout (``recurrent_dropout=``, ``input_dropout=`` on
``nn.RNN/LSTM/GRU``; the mask in the kernel contract, ``kernels/_recurrent_mask.py``).

Outside truths: PyTorch's cells unrolled by hand with ``h_{t-1} * m`` fed to every step (the
same mask at every step, by construction), a hand-written GRU loop in torch (the mask on the
products only), central finite differences in float64 through the kernels (a fixed mask) and
through the layer (the layer's generator replayed so that every forward draws the same masks),
and the compiled kernels against the NumPy reference.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

import rnnkit
from helpers import check_fd
from kernel_cases import assert_same_keys, problem, run
from layer_gradients import check_layer_gradients
from rnnkit import nn
from rnnkit.kernels import get_kind, implementation
from rnnkit.nn.rnn_base import RNNBase

KINDS = [("RNN", {"nonlinearity": "tanh"}, None), ("RNN", {"nonlinearity": "relu"}, None), ("LSTM", {}, None),
         ("LSTM", {}, 3), ("GRU", {"reset_after": True}, None), ("GRU", {"reset_after": False}, None)]
TOL = {np.float32: 2e-5, np.float64: 1e-11}


def _mask(rng, B, P, p=0.4):
    return (rng.random((B, P)) < 1 - p) / (1 - p)


def _masked_problem(kind, opts, P, rng, lengths=True):
    p = problem(kind, 6, 4, 3, 5, rng, P=P, lengths=lengths, **opts)
    p.options["recurrent_mask"] = _mask(rng, 4, P or 5)
    return p


# -- the kernels ---------------------------------------------------------------------------
@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("kind,opts,P", KINDS)
def test_kernel_gradients_with_a_fixed_mask_match_finite_differences(backend, kind, opts, P):
    rng = np.random.default_rng([len(kind), len(opts), P or 0])
    p = _masked_problem(kind, opts, P, rng)
    assert (p.options["recurrent_mask"] == 0).any() and (p.options["recurrent_mask"] > 1).any()
    impl = implementation(kind, backend)
    for reverse in (False, True):
        fwd = impl.forward(p.x, p.w, p.state0, p.lengths, reverse, True, p.options)
        g = impl.backward(p.d_out, p.d_state, p.w, fwd.cache)

        def loss(reverse=reverse):
            f = impl.forward(p.x, p.w, p.state0, p.lengths, reverse, False, p.options)
            return float((f.out * p.d_out).sum() + sum((s * d).sum() for s, d in zip(f.state, p.d_state)))

        cfg = f"{kind} {opts} P={P} {backend} reverse={reverse}"
        for name, arr, grad in (("x", p.x, g.dx), ("W_ih", p.w.W_ih, g.dW_ih), ("W_hh", p.w.W_hh, g.dW_hh),
                                ("b_ih", p.w.b_ih, g.db_ih), ("b_hh", p.w.b_hh, g.db_hh),
                                ("W_hr", p.w.W_hr, g.dW_hr)):
            if arr is not None:
                check_fd(name, grad, loss, arr, rng, n=8, config=cfg, rtol=1e-7)
        for k, (s0, ds0) in enumerate(zip(p.state0, g.d_state0)):
            check_fd(f"state0[{k}]", ds0, loss, s0, rng, n=6, config=cfg, rtol=1e-7)


@pytest.mark.parametrize("dtype,reverse,with_lengths,case", itertools.product(
    (np.float32, np.float64), (False, True), (False, True), range(len(KINDS))))
def test_compiled_equals_reference_with_a_mask(dtype, reverse, with_lengths, case):
    pytest.importorskip("rnnkit.kernels.fast")
    kind, opts, P = KINDS[case]
    rng = np.random.default_rng([case, int(reverse), int(with_lengths), np.dtype(dtype).itemsize])
    p = _masked_problem(kind, opts, P, rng, lengths=with_lengths).astype(dtype)
    p.options["recurrent_mask"] = p.options["recurrent_mask"].astype(dtype)
    want = run(p, "numpy", reverse)
    for keep in (True, False):
        got = run(p, "numba", reverse, keep=keep)
        if keep:
            assert_same_keys(got, want, f"{kind} {opts}")
        for name, v in got.items():
            if v is not None:
                np.testing.assert_allclose(v, want[name], rtol=TOL[dtype], atol=TOL[dtype], err_msg=name)
    x_t, s = p.x[0], p.state0
    for backend in rnnkit.available_backends():       # one step honours the mask too
        step = implementation(kind, backend).step(x_t, s, p.w, p.options)
        want_step = implementation(kind, "numpy").forward(x_t[None], p.w, s, None, False, False, p.options).state
        for a, b in zip(step, want_step):
            np.testing.assert_allclose(a, b, rtol=TOL[dtype], atol=TOL[dtype])


def test_a_mask_of_ones_changes_nothing_and_a_wrong_shape_is_refused():
    rng = np.random.default_rng(3)
    for backend in rnnkit.available_backends():
        for kind, opts, P in KINDS:
            p = problem(kind, 4, 3, 2, 5, rng, P=P, **opts)
            impl = implementation(kind, backend)
            plain = impl.forward(p.x, p.w, p.state0, None, False, False, p.options).out
            ones = impl.forward(p.x, p.w, p.state0, None, False, False,
                                {**p.options, "recurrent_mask": np.ones((3, P or 5))}).out
            np.testing.assert_allclose(ones, plain, rtol=1e-13, atol=1e-13)
    p = problem("GRU", 4, 3, 2, 5, rng)
    if "numba" in rnnkit.available_backends():
        with pytest.raises(ValueError, match=r"recurrent_mask must have shape \(B, P\) = \(3, 5\), got \(3, 4\)"):
            implementation("GRU", "numba").forward(p.x, p.w, p.state0, None, False, False,
                                                   {**p.options, "recurrent_mask": np.ones((3, 4))})


# -- the layers: the same mask at every step (PyTorch's cells unrolled by hand) -------------
def _torch():
    torch = pytest.importorskip("torch", reason="torch is needed for the unrolled-cell oracle")
    torch.set_num_threads(1)
    return torch


def _torch_unrolled(torch, layer, x, h0, c0, m_h, m_x):
    """One layer, one direction: the equations with x_t * m_x and (m_h * h_{t-1}) in the products."""
    t = {n: torch.tensor(p.data, requires_grad=True) for n, p in layer.named_parameters()}
    W_ih, W_hh, b_ih, b_hh = t["weight_ih_l0"], t["weight_hh_l0"], t["bias_ih_l0"], t["bias_hh_l0"]
    tx, th0 = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    tm_h, tm_x = torch.tensor(m_h), torch.tensor(m_x)
    h, outs = th0, []
    H = layer.hidden_size
    if layer.mode == "LSTM":
        tc0 = torch.tensor(c0, requires_grad=True)
        cell, c = torch.nn.LSTMCell(layer.input_size, H, dtype=torch.float64), tc0
    elif layer.mode == "RNN":
        cell = torch.nn.RNNCell(layer.input_size, H, dtype=torch.float64)
    for x_t in tx:
        if layer.mode == "GRU":                      # Keras's GRU: the mask on the products only
            xr, xz, xn = (x_t * tm_x @ W_ih.T + b_ih).split(H, dim=1)
            sr, sz, sn = (h * tm_h @ W_hh.T + b_hh).split(H, dim=1)
            r, z = torch.sigmoid(xr + sr), torch.sigmoid(xz + sz)
            h = (1 - z) * torch.tanh(xn + r * sn) + z * h
        else:
            args = dict(weight_ih=W_ih, weight_hh=W_hh, bias_ih=b_ih, bias_hh=b_hh)
            if layer.mode == "LSTM":
                h, c = torch.func.functional_call(cell, args, (x_t * tm_x, (h * tm_h, c)))
            else:
                h = torch.func.functional_call(cell, args, (x_t * tm_x, h * tm_h))
        outs.append(h)
    out = torch.stack(outs)
    loss = (out * torch.arange(out.numel(), dtype=out.dtype).reshape(out.shape).sin()).sum() + h.sum()
    if layer.mode == "LSTM":
        loss = loss + 2 * c.sum()
    loss.backward()
    grads = {n: v.grad.numpy() for n, v in t.items()}
    return out.detach().numpy(), tx.grad.numpy(), th0.grad.numpy(), grads


@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_layer_equals_cells_unrolled_with_the_same_mask_at_every_step(backend, cls):
    torch = _torch()
    rnnkit.set_backend(backend)
    T, B, I, H, p = 6, 5, 3, 4, 0.5
    layer = cls(I, H, dtype=np.float64, rng=np.random.default_rng(0), recurrent_dropout=p, input_dropout=0.3)
    twin = copy.deepcopy(layer.rng)                  # replays the layer's draws: input mask, then recurrent
    m_x = (twin.random((B, I)) < 0.7) / 0.7
    m_h = (twin.random((B, H)) < 1 - p) / (1 - p)
    assert (m_h == 0).any() and (m_h > 0).any()
    rng = np.random.default_rng(1)
    x, h0, c0 = rng.standard_normal((T, B, I)), rng.standard_normal((1, B, H)), rng.standard_normal((1, B, H))
    state = (h0, c0) if cls is nn.LSTM else h0
    out, s_n = layer(x, state)
    want_out, want_dx, want_dh0, want_grads = _torch_unrolled(torch, layer, x, h0[0], c0[0], m_h, m_x)
    np.testing.assert_allclose(out, want_out, rtol=1e-12, atol=1e-12)
    d_out = np.arange(out.size).reshape(out.shape).astype(np.float64)
    d_out = np.sin(d_out)
    ds = (np.ones((1, B, H)), np.full((1, B, H), 2.0)) if cls is nn.LSTM else np.ones((1, B, H))
    dx, d_s0 = layer.backward(d_out, ds)
    np.testing.assert_allclose(dx, want_dx, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose((d_s0[0] if cls is nn.LSTM else d_s0)[0], want_dh0, rtol=1e-11, atol=1e-12)
    for name, prm in layer.named_parameters():
        np.testing.assert_allclose(prm.grad, want_grads[name], rtol=1e-11, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("cls,kw", [(nn.RNN, {}), (nn.LSTM, {"proj_size": 2}), (nn.GRU, {"reset_after": False})])
def test_layer_gradients_with_both_masks_match_finite_differences(backend, cls, kw):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(0)
    layer = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64,
                rng=np.random.default_rng(1), recurrent_dropout=0.4, input_dropout=0.3, **kw)
    P = layer.output_size
    x, lengths = rng.standard_normal((3, 5, 3)), np.array([5, 2, 4])
    h0 = rng.standard_normal((4, 3, P))
    state = (h0, rng.standard_normal((4, 3, 4))) if cls is nn.LSTM else h0
    d_out, d_hn = rng.standard_normal((3, 5, 2 * P)), rng.standard_normal((4, 3, P))
    start = copy.deepcopy(layer.rng)

    def run_layer():
        layer.rng = copy.deepcopy(start)             # every forward draws the same masks
        return layer(x, state, lengths=lengths)

    run_layer.x = x
    check_layer_gradients(layer, run_layer, h0, d_out, d_hn, rng, f"{cls.__name__} {kw} {backend}", n=4)


def test_masks_are_per_sequence_per_direction_and_per_forward():
    layer = nn.GRU(2, 8, num_layers=2, bidirectional=True, rng=np.random.default_rng(5), recurrent_dropout=0.5,
                   input_dropout=0.5)
    twin = copy.deepcopy(layer.rng)
    x = np.ones((4, 6, 2), np.float32)

    def kept():                                      # [(kernel cache, input mask)] per (layer, direction)
        layer_caches = layer._peek()[0]
        return [(kc, in_mask) for dir_caches, _, _ in layer_caches for (kc, _), in_mask in dir_caches]

    layer(x)
    (c00, x00), (c01, x01), (c10, x10), _ = kept()
    masks = [c00.recurrent_mask, c01.recurrent_mask, c10.recurrent_mask]
    want = []
    for in_shape in ((6, 2), (6, 2), (6, 16)):       # per (layer, direction): input mask, then recurrent
        twin.random(in_shape)
        want.append((twin.random((6, 8)) < 0.5).astype(np.float32) * 2)
    for got, w in zip(masks, want):
        np.testing.assert_array_equal(got, w)
    assert x00.shape == x01.shape == (6, 2) and x10.shape == (6, 16)   # layer 1 reads the merged (B, 2H)
    assert not np.array_equal(masks[0], masks[1])
    assert len({m.tobytes() for m in masks[0]}) > 1  # rows (sequences) differ
    layer(x)
    assert not np.array_equal(kept()[0][0].recurrent_mask, masks[0])


@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_eval_and_zero_rates_are_the_plain_layer(backend):
    rnnkit.set_backend(backend)
    x = np.random.default_rng(0).standard_normal((5, 3, 2)).astype(np.float32)
    plain = nn.LSTM(2, 4, num_layers=2, rng=7)
    dropped = nn.LSTM(2, 4, num_layers=2, rng=7, recurrent_dropout=0.5, input_dropout=0.5)
    zero = nn.LSTM(2, 4, num_layers=2, rng=7, recurrent_dropout=0.0, input_dropout=0.0)
    want = plain(x)[0]
    np.testing.assert_array_equal(zero(x)[0], want)
    assert not np.allclose(dropped(x)[0], want)
    dropped.eval()
    np.testing.assert_array_equal(dropped(x)[0], want)
    dropped.train()
    with rnnkit.no_grad():                           # training mode under no_grad still drops (as Dropout)
        assert not np.allclose(dropped(x)[0], want)


def test_rate_one_drops_every_recurrent_input():
    layer = nn.RNN(2, 3, rng=0, recurrent_dropout=1.0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    out, _ = layer(x, np.ones((1, 2, 3)))
    w, b = layer.weight_ih_l0.data, layer.bias_ih_l0.data + layer.bias_hh_l0.data
    np.testing.assert_allclose(out, np.tanh(x @ w.T + b), rtol=1e-14)     # no recurrence left


def test_options_are_checked_saved_and_shown(tmp_path):
    with pytest.raises(ValueError, match="recurrent_dropout must be"):
        nn.GRU(2, 3, recurrent_dropout=1.5)
    with pytest.raises(ValueError, match="input_dropout must be"):
        nn.LSTM(2, 3, input_dropout=-0.1)
    with pytest.raises(ValueError, match=r"recurrent_dropout is only supported by the kinds RNN, GRU, LSTM, got it "
                                         r"on RNNBase \(kind IndRNN\)"):
        RNNBase(2, 3, mode="IndRNN", recurrent_dropout=0.2)
    assert not any(get_kind(k).name == "IndRNN" for k in ("RNN", "GRU", "LSTM"))
    layer = nn.LSTM(2, 3, num_layers=2, recurrent_dropout=0.25, input_dropout=0.1, rng=0)
    assert repr(layer) == "LSTM(2, 3, num_layers=2, recurrent_dropout=0.25, input_dropout=0.1)"
    rnnkit.save_model(layer, tmp_path / "m.rnnkit")
    back = rnnkit.load_model(tmp_path / "m.rnnkit")
    assert (back.recurrent_dropout, back.input_dropout) == (0.25, 0.1)
    x = np.ones((3, 2, 2), np.float32)
    back.eval()
    layer.eval()
    np.testing.assert_array_equal(back(x)[0], layer(x)[0])


# -- the cells: Keras's DropoutRNNCell (drawn on the first step, kept until reset) ----------
@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("cell_cls,layer_cls", [(nn.RNNCell, nn.RNN), (nn.LSTMCell, nn.LSTM), (nn.GRUCell, nn.GRU)])
def test_cell_unrolled_equals_the_layer(backend, cell_cls, layer_cls):
    rnnkit.set_backend(backend)
    T, B, I, H = 5, 4, 3, 6
    cell = cell_cls(I, H, dtype=np.float64, rng=np.random.default_rng(0), recurrent_dropout=0.5)
    layer = layer_cls(I, H, dtype=np.float64, rng=0, recurrent_dropout=0.5)
    for name, p in cell.named_parameters():
        getattr(layer, name + "_l0").data = p.data.copy()
    layer.rng = copy.deepcopy(cell.rng)              # the layer draws the cell's mask
    x = np.random.default_rng(1).standard_normal((T, B, I))
    lstm = cell_cls is nn.LSTMCell
    s = (np.zeros((B, H)), np.zeros((B, H))) if lstm else np.zeros((B, H))
    outs = []
    for x_t in x:
        s = cell(x_t, s)
        outs.append(s[0] if lstm else s)
    out, _ = layer(x)
    np.testing.assert_allclose(np.stack(outs), out, rtol=1e-12, atol=1e-13)
    d_out = np.random.default_rng(2).standard_normal(out.shape)
    layer.backward(d_out)
    g = (None, None) if lstm else None
    for t in range(T - 1, -1, -1):
        g = (d_out[t] + (0 if g[0] is None else g[0]), g[1]) if lstm else d_out[t] + (0 if g is None else g)
        _, g = cell.backward(g)
    for name, p in cell.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(layer, name + "_l0").grad, rtol=1e-11, atol=1e-12, err_msg=name)


def test_cell_mask_is_kept_until_reset_and_can_be_passed():
    cell = nn.RNNCell(2, 5, dtype=np.float64, rng=0, recurrent_dropout=0.5)
    x, h = np.ones((3, 2)), np.ones((3, 5))
    first = cell(x, h)
    np.testing.assert_array_equal(cell(x, h), first)                  # the same mask at the next step
    with pytest.raises(ValueError, match="call reset_dropout_mask"):
        cell(np.ones((2, 2)), np.ones((2, 5)))
    cell.reset_dropout_mask()
    assert not np.array_equal(cell(x, h), first)
    w, u = cell.weight_ih.data, cell.weight_hh.data
    b = cell.bias_ih.data + cell.bias_hh.data
    m = np.array([[0.0, 2.0, 2.0, 0.0, 2.0]] * 3)
    cell.eval()                                      # a mask passed in is used in eval mode too
    for mask in (m, m[0]):
        xs, hs = (x, h) if mask.ndim == 2 else (x[0], h[0])
        np.testing.assert_allclose(cell(xs, hs, recurrent_mask=mask), np.tanh(xs @ w.T + b + (mask * hs) @ u.T),
                                   rtol=1e-14)
    np.testing.assert_allclose(cell(x, h), np.tanh(x @ w.T + b + h @ u.T), rtol=1e-14)   # eval: no mask drawn
    with pytest.raises(ValueError, match=r"recurrent_mask must have shape \(B, P\) = \(3, 5\)"):
        cell(x, h, recurrent_mask=np.ones((3, 4)))
    with pytest.raises(ValueError, match="recurrent_mask is only supported by the kinds RNN, GRU, LSTM"):
        nn.IndRNNCell(2, 3)(np.ones((1, 2)), recurrent_mask=np.ones((1, 3)))
    assert repr(nn.GRUCell(2, 3, recurrent_dropout=0.2)) == "GRUCell(2, 3, recurrent_dropout=0.2)"


def test_estimators_network_builder_passes_recurrent_dropout():
    from rnnkit.estimators import RNNClassifier

    g = np.random.default_rng(0)
    X = [g.standard_normal((int(g.integers(4, 9)), 2)) + (i % 2) for i in range(40)]
    y = np.arange(40) % 2
    clf = RNNClassifier(hidden_size=6, max_epochs=2, batch_size=8, random_state=0)
    assert clf._recurrent_dropout == 0.0           # a constructor without the parameter: off
    clf.recurrent_dropout = 0.3
    clf.fit(X, y)
    assert clf.model_.rnn.recurrent_dropout == 0.3
    assert clf.predict(X).shape == (40,)
    clf.recurrent_dropout = 1.5
    with pytest.raises(ValueError, match="recurrent_dropout"):
        clf.fit(X, y)
