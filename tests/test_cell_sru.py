"""SRU (``kernels/sru_ref.py``, ``kernels/fast/sru.py``, ``nn.SRU``/``nn.SRUCell``).

Outside truths: a step by hand, the ``sru`` package (Lei et al.'s implementation, weights copied
across: outputs, final c and every gradient, bidirectional with lengths; skipped only if ``sru``
is not installed), central finite differences in float64 through the layer (stacked,
bidirectional, lengths, batch_first, both backends), the compiled twin against the NumPy
reference, the one-step cell against the layer; the diagnostics, saving, the export refusal
and a small learning task.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cell_checks as cc
import rnnkit
from helpers import check_fd
from kernel_cases import assert_same_keys, problem, run
from rnnkit import nn


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_one_step_by_hand():
    cell = nn.SRUCell(2, 1, dtype=np.float64, rng=0)
    cell.weight_ih.data[...] = [[1.0, 0.0], [0.0, 2.0], [-1.0, 1.0], [0.5, 0.5]]   # [W; W_f; W_r; W_hw]
    cell.weight_hh.data[...] = [0.5, -1.0]                                         # [v_f; v_r]
    cell.bias_ih.data[...] = [0.0, 0.1, 0.0, -0.5]
    x, h, c = np.array([[1.0, -1.0]]), np.array([[7.0]]), np.array([[0.4]])
    f = _sigmoid(-2.0 + 0.1 + 0.5 * 0.4)
    r = _sigmoid(-2.0 - 0.4)
    c1 = f * 0.4 + (1 - f) * 1.0
    h1 = r * c1 + (1 - r) * (0.0 - 0.5)
    for backend in rnnkit.available_backends():
        rnnkit.set_backend(backend)
        got_h, got_c = cell(x, (h, c))                           # h is not used
        np.testing.assert_allclose(got_c, [[c1]], rtol=1e-14)
        np.testing.assert_allclose(got_h, [[h1]], rtol=1e-14)
        with rnnkit.no_grad():
            np.testing.assert_allclose(cell(x, (h, c))[0], [[h1]], rtol=1e-14)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_layer_gradients_match_finite_differences(backend):
    """As ``cell_checks.layer_gradients_match_finite_differences``, with the two-part state (h, c)."""
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(0)
    layer = nn.SRU(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64, rng=1)
    x = rng.standard_normal((3, 5, 3))                           # (B, T, I)
    lengths = np.array([5, 2, 4])
    h0, c0 = rng.standard_normal((4, 3, 4)), rng.standard_normal((4, 3, 4))
    d_out, d_hn, d_cn = rng.standard_normal((3, 5, 8)), rng.standard_normal((4, 3, 4)), rng.standard_normal((4, 3, 4))
    layer(x, (h0, c0), lengths=lengths)
    dx, (dh0, dc0) = layer.backward(d_out, (d_hn, d_cn))

    def loss():
        with rnnkit.no_grad():
            out, (h_n, c_n) = layer(x, (h0, c0), lengths=lengths)
        return float((out * d_out).sum() + (h_n * d_hn).sum() + (c_n * d_cn).sum())

    for name, p in layer.named_parameters():
        check_fd(f"grad of {name}", p.grad, loss, p.data, rng, n=5, config=backend, rtol=1e-7)
    check_fd("dx", dx, loss, x, rng, n=6, config=backend, rtol=1e-7)
    check_fd("dc0", dc0, loss, c0, rng, n=6, config=backend, rtol=1e-7)
    check_fd("dh0", dh0, loss, h0, rng, n=6, config=backend, rtol=1e-7)   # zero: h0 is not used


@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_cell_equals_layer(backend):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(5)
    cell = nn.SRUCell(3, 6, dtype=np.float64, rng=2)
    layer = nn.SRU(3, 6, dtype=np.float64, rng=3)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = rng.standard_normal((4, 2, 3))
    c0 = rng.standard_normal((1, 2, 6))
    out, (_, c_n) = layer(x, (None, c0))
    h, c = None, c0[0]
    for t in range(4):
        h, c = cell(x[t], (h, c))                                # training path
        np.testing.assert_allclose(h, out[t], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c, c_n[0], rtol=1e-12, atol=1e-14)
    with rnnkit.no_grad():
        h_eval, _ = cell(x[0], (None, c0[0]))                    # the kernels' one-step path
    np.testing.assert_allclose(h_eval, out[0], rtol=1e-12, atol=1e-14)
    dx, (dh, dc) = cell.backward((np.ones((2, 6)), None))
    assert dx.shape == (2, 3) and dc.shape == (2, 6)
    np.testing.assert_array_equal(dh, 0.0)


def test_diagnostics_run():
    cc.diagnostics_run(nn.SRU, ("forget", "reset"))


def test_save_load_round_trip(tmp_path):
    cc.save_load_round_trip(nn.SRU, tmp_path)


def test_export_and_interop_refuse_it():
    cc.export_and_interop_refuse(nn.SRU)


def test_shapes_and_bad_arguments():
    layer = nn.SRU(3, 5, bias=False, rng=0)
    assert [(n, p.shape) for n, p in layer.named_parameters()] == [("weight_ih_l0", (20, 3)), ("weight_hh_l0", (10,))]
    with pytest.raises(TypeError, match="nonlinearity"):
        nn.SRU(3, 5, nonlinearity="tanh")
    with pytest.raises(ValueError, match="proj_size"):
        from rnnkit.nn.rnn_base import RNNBase
        RNNBase(2, 3, proj_size=1, mode="SRU")


# -- the sru package (Lei et al.) as the oracle ------------------------------------------------

def _sru_weights(layer, H, D):
    """rnnkit's parameters in the sru package's layout: weight (I, D*H*4) ordered (direction,
    unit, block), weight_c (2*D*H) = [v_f of each direction, v_r of each direction], bias the same."""
    sfx = ["_l0", "_l0_reverse"][:D]
    W = np.stack([getattr(layer, "weight_ih" + s).data.reshape(4, H, -1) for s in sfx])   # (D, 4, H, I)
    weight = W.transpose(3, 0, 2, 1).reshape(W.shape[3], -1)                              # (I, D*H*4)
    v = np.stack([getattr(layer, "weight_hh" + s).data.reshape(2, H) for s in sfx], axis=1)  # (2, D, H)
    b = np.stack([getattr(layer, "bias_ih" + s).data.reshape(4, H)[1:3] for s in sfx], axis=1)
    return weight, v.reshape(-1), b.reshape(-1)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_matches_the_sru_package(bidirectional):
    sru = pytest.importorskip("sru", reason="the sru package is not installed")
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rnnkit.set_backend("numba" if "numba" in rnnkit.available_backends() else "numpy")
    T, B, I, H = 6, 3, 4, 5
    D = 2 if bidirectional else 1
    rng = np.random.default_rng(0)
    layer = nn.SRU(I, H, bidirectional=bidirectional, dtype=np.float64, rng=1)
    for name, p in layer.named_parameters():
        if name.startswith("bias_ih"):
            p.data.reshape(4, H)[[0, 3]] = 0.0                   # sru has biases on f and r only
    ref = sru.SRUCell(I, H, bidirectional=bidirectional, rescale=False).double()
    weight, v, b = _sru_weights(layer, H, D)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(weight))
        ref.weight_c.copy_(torch.from_numpy(v))
        ref.bias.copy_(torch.from_numpy(b))
    x = rng.standard_normal((T, B, I))
    c0 = rng.standard_normal((D, B, H))
    lengths = np.array([6, 2, 4])
    d_out, d_cn = rng.standard_normal((T, B, D * H)), rng.standard_normal((D, B, H))
    out, (h_n, c_n) = layer(x, (None, c0), lengths=lengths)
    dx, (dh0, dc0) = layer.backward(d_out, (None, d_cn))

    xt = torch.from_numpy(x).requires_grad_()
    c0t = torch.from_numpy(np.ascontiguousarray(c0.transpose(1, 0, 2).reshape(B, D * H))).requires_grad_()
    pad = torch.from_numpy(np.arange(T)[:, None] >= lengths[None, :])         # (T, B), True: padding
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)             # "Running SRU on CPU with grad_enabled"
        h_ref, c_ref = ref(xt, c0t, mask_pad=pad)
    ((h_ref * torch.from_numpy(d_out)).sum()
     + (c_ref * torch.from_numpy(d_cn.transpose(1, 0, 2).reshape(B, D * H))).sum()).backward()

    tol = dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, h_ref.detach().numpy(), **tol)
    np.testing.assert_allclose(c_n.transpose(1, 0, 2).reshape(B, D * H), c_ref.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **tol)
    np.testing.assert_allclose(dc0.transpose(1, 0, 2).reshape(B, D * H), c0t.grad.numpy(), **tol)
    np.testing.assert_array_equal(dh0, 0.0)
    grads = nn.SRU(I, H, bidirectional=bidirectional, dtype=np.float64, rng=0)
    for name, p in grads.named_parameters():
        p.data = getattr(layer, name).grad
    g_weight, g_v, g_b = _sru_weights(grads, H, D)
    np.testing.assert_allclose(g_weight, ref.weight.grad.numpy(), **tol)
    np.testing.assert_allclose(g_v, ref.weight_c.grad.numpy(), **tol)
    np.testing.assert_allclose(g_b, ref.bias.grad.numpy(), **tol)


TOL = {np.float32: 2e-5, np.float64: 1e-11}


@pytest.mark.parametrize("dtype,reverse,with_lengths,bias", itertools.product(
    (np.float32, np.float64), (False, True), (False, True), (True, False)))
def test_compiled_equals_reference(dtype, reverse, with_lengths, bias):
    pytest.importorskip("rnnkit.kernels.fast")
    rng = np.random.default_rng([int(reverse), int(with_lengths), int(bias), np.dtype(dtype).itemsize])
    p = problem("SRU", 6, 4, 5, 7, rng, bias=bias, lengths=with_lengths).astype(dtype)
    assert p.w.W_hh.shape == (14,) and p.w.b_hh is None
    want = run(p, "numpy", reverse)
    got = run(p, "numba", reverse)
    assert_same_keys(got, want, f"{dtype} {reverse} {with_lengths} {bias}")
    for keep in (True, False):
        res = got if keep else run(p, "numba", reverse, keep=False)
        for name in res:
            if want[name] is None:
                assert res[name] is None, name
                continue
            assert res[name].dtype == dtype, name
            scale = max(1.0, float(np.abs(want[name]).max()))
            err = float(np.abs(res[name] - want[name]).max())
            assert err <= TOL[dtype] * scale, f"{name}: compiled differs from reference by {err:.3g}"


def test_learns_the_adding_problem():
    """The paper's claim is speed at an LSTM's quality; at small scale: one SRU layer learns the
    adding problem (T = 30) far below the mean predictor's MSE 1/6."""
    mse = cc.fit_adding(nn.SRU(2, 24, rng=1), np.random.default_rng(0), 30, 300)
    assert mse < 0.05, f"SRU adding problem T=30: test MSE {mse:.4f} (baseline 0.167)"


def test_bench_runs_it_without_a_torch_peer(tmp_path):
    import json

    from rnnkit.bench import main

    assert main(["--quick", "--cells", "sru", "--out", str(tmp_path), "--no-stream"]) == 0
    (row,) = json.loads((tmp_path / "latest.json").read_text())["rows"]
    assert row["cell"] == "SRU" and row["train"]["rnnkit_s"] > 0 and row["train"]["torch_s"] is None
