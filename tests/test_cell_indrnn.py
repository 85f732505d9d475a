"""IndRNN (``kernels/indrnn_ref.py``, ``kernels/fast/indrnn.py``, ``nn.IndRNN``/``nn.IndRNNCell``).

Outside truths: a hand-written two-step computation of the paper's equation, central finite
differences in float64 through the layer (stacked, bidirectional, lengths, batch_first, both
backends, both nonlinearities), the compiled twin against the NumPy reference, the one-step
cell against the layer, and the adding problem (the paper's benchmark) learned at small
scale. Also the diagnostics, saving, ``recurrent_max`` and the refusals of export/interop.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import rnnkit
from helpers import check_fd
from kernel_cases import assert_same_keys, problem, run
from rnnkit import diagnostics, nn
from rnnkit.datasets import adding_problem
from rnnkit.nn.rnn_base import RNNBase
from rnnkit.optim import Adam

TOL = {np.float32: 2e-5, np.float64: 1e-11}


def test_two_steps_by_hand():
    layer = nn.IndRNN(2, 3, dtype=np.float64, rng=0)
    W = np.array([[1.0, -1.0], [0.5, 2.0], [-1.0, 0.0]])
    u = np.array([0.5, -2.0, 1.0])
    for p, v in ((layer.weight_ih_l0, W), (layer.weight_hh_l0, u), (layer.bias_ih_l0, [0.1, 0.0, 0.0]),
                 (layer.bias_hh_l0, [0.0, -0.2, 0.3])):
        p.data[...] = v
    x = np.array([[[1.0, 2.0]], [[0.0, -1.0]]])                 # (T=2, B=1, I=2)
    b = np.array([0.1, -0.2, 0.3])
    h1 = np.maximum(W @ [1.0, 2.0] + b, 0)                       # [0, 4.3, 0]
    h2 = np.maximum(W @ [0.0, -1.0] + b + u * h1, 0)             # [1.1, 0, 0.3]
    for backend in rnnkit.available_backends():
        rnnkit.set_backend(backend)
        out, h_n = layer(x)
        np.testing.assert_allclose(out[:, 0], [h1, h2], rtol=1e-14, atol=1e-14)
        np.testing.assert_allclose(h_n[0, 0], [1.1, 0.0, 0.3], rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("nonlinearity", ["relu", "tanh"])
@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_layer_gradients_match_finite_differences(backend, nonlinearity):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(0)
    layer = nn.IndRNN(3, 4, num_layers=2, nonlinearity=nonlinearity, bidirectional=True, batch_first=True,
                      dtype=np.float64, rng=1)
    assert layer.weight_hh_l1_reverse.shape == (4,)
    x = rng.standard_normal((3, 5, 3))                           # (B, T, I)
    lengths = np.array([5, 2, 4])
    h0 = rng.standard_normal((4, 3, 4))
    d_out, d_hn = rng.standard_normal((3, 5, 8)), rng.standard_normal((4, 3, 4))
    layer(x, h0, lengths=lengths)
    dx, dh0 = layer.backward(d_out, d_hn)

    def loss():
        with rnnkit.no_grad():
            out, h_n = layer(x, h0, lengths=lengths)
        return float((out * d_out).sum() + (h_n * d_hn).sum())

    cfg = f"{backend} {nonlinearity}"
    for name, p in layer.named_parameters():
        check_fd(f"grad of {name}", p.grad, loss, p.data, rng, n=4, config=cfg, rtol=1e-7)
    check_fd("dx", dx, loss, x, rng, n=6, config=cfg, rtol=1e-7)
    check_fd("dh0", dh0, loss, h0, rng, n=6, config=cfg, rtol=1e-7)


@pytest.mark.parametrize("dtype,reverse,with_lengths,act,bias",
                         itertools.product((np.float32, np.float64), (False, True), (False, True), ("relu", "tanh"),
                                           (True, False)))
def test_compiled_equals_reference(dtype, reverse, with_lengths, act, bias):
    pytest.importorskip("rnnkit.kernels.fast")
    rng = np.random.default_rng([int(reverse), int(with_lengths), len(act), int(bias), np.dtype(dtype).itemsize])
    p = problem("IndRNN", 6, 4, 5, 7, rng, bias=bias, lengths=with_lengths, nonlinearity=act).astype(dtype)
    assert p.w.W_hh.shape == (7,)
    want = run(p, "numpy", reverse)
    got = run(p, "numba", reverse)
    assert_same_keys(got, want, act)
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


@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_cell_equals_layer(backend):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(5)
    cell = nn.IndRNNCell(3, 6, nonlinearity="tanh", dtype=np.float64, rng=2)
    layer = nn.IndRNN(3, 6, nonlinearity="tanh", dtype=np.float64, rng=3)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = rng.standard_normal((4, 2, 3))
    out, _ = layer(x)
    h = np.zeros((2, 6))
    for t in range(4):
        h = cell(x[t], h)                                        # training path
        np.testing.assert_allclose(h, out[t], rtol=1e-12, atol=1e-14)
    with rnnkit.no_grad():
        h_eval = cell(x[0])                                      # the kernels' one-step path
    np.testing.assert_allclose(h_eval, out[0], rtol=1e-12, atol=1e-14)


def test_diagnostics_run():
    layer = nn.IndRNN(3, 5, num_layers=2, bidirectional=True, rng=0)
    x = np.random.default_rng(3).standard_normal((8, 2, 3))
    stats = diagnostics.gate_stats(layer, x, lengths=np.array([8, 5]))
    assert set(stats) == {"l0/h", "l0_reverse/h", "l1/h", "l1_reverse/h"}
    assert stats["l0/h"].kind == "relu"
    flow = diagnostics.gradient_flow(layer, x)
    assert flow.dh.shape == (2, 2, 8, 2, 5) and np.isfinite(flow.dh).all()
    assert diagnostics.jacobian_norms(layer, x).shape == (2, 2, 8)


def test_save_load_round_trip(tmp_path):
    layer = nn.IndRNN(3, 4, num_layers=2, nonlinearity="tanh", bidirectional=True, recurrent_max=0.9, rng=0)
    x = np.random.default_rng(1).standard_normal((5, 2, 3)).astype(np.float32)
    want, _ = layer(x)
    rnnkit.save_model(layer, tmp_path / "ind.rnnkit")
    back = rnnkit.load_model(tmp_path / "ind.rnnkit")
    assert type(back) is nn.IndRNN and back.nonlinearity == "tanh" and back.recurrent_max == 0.9
    got, _ = back(x)
    np.testing.assert_array_equal(got, want)


def test_recurrent_max_and_bad_arguments():
    layer = nn.IndRNN(2, 50, recurrent_max=0.1, rng=0)
    assert np.abs(layer.weight_hh_l0.data).max() <= 0.1
    layer.weight_hh_l0.data[:] = 3.0
    layer.constrain_()
    np.testing.assert_array_equal(layer.weight_hh_l0.data, np.float32(0.1))
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.IndRNN(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="recurrent_max"):
        nn.IndRNNCell(2, 3, recurrent_max=-1.0)
    with pytest.raises(ValueError, match="proj_size"):
        RNNBase(2, 3, proj_size=1, mode="IndRNN")


def test_export_and_interop_refuse_it():
    layer = nn.Sequential(nn.IndRNN(2, 3, rng=0))
    pytest.importorskip("onnx", reason="onnx is not installed")
    from rnnkit.export import UnsupportedModuleError, to_onnx

    with pytest.raises(UnsupportedModuleError, match="IndRNN"):
        to_onnx(layer, "unused.onnx")
    pytest.importorskip("torch", reason="torch is not installed")
    from rnnkit.interop import to_torch

    with pytest.raises(TypeError, match="IndRNN"):
        to_torch(layer)


def test_learns_the_adding_problem():
    """Predicting the mean (1.0) gives MSE 1/6; a small IndRNN gets far below (about 0.002 over seeds 0-3)."""
    rng = np.random.default_rng(0)
    T = 50
    rnn = nn.IndRNN(2, 32, num_layers=2, recurrent_max=2 ** (1 / T), rng=1)
    for name, p in rnn.named_parameters():
        if name.startswith("weight_hh"):
            p.data[:] = rng.uniform(0, 1, p.shape)               # the paper's init of u
    head = nn.Linear(32, 1, rng=2)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = Adam(params, lr=1e-2)
    loss = nn.MSELoss()
    for _ in range(600):
        data = adding_problem(T, 64, rng=rng)
        x, y = data.X, data.y
        out, _ = rnn(x)
        pred = head(out[-1])
        loss(pred, y)
        opt.zero_grad()
        d_out = np.zeros_like(out)
        d_out[-1] = head.backward(loss.backward())
        rnn.backward(d_out)
        opt.step()
        rnn.constrain_()
    test = adding_problem(T, 500, seed=99)
    x, y = test.X, test.y
    with rnnkit.no_grad():
        out, _ = rnn(x)
        mse = float(np.mean((head(out[-1]) - y) ** 2))
    assert mse < 0.03, f"IndRNN adding problem T={T}: test MSE {mse:.4f} (baseline 0.167)"


def test_bench_runs_it_without_a_torch_peer(tmp_path):
    import json

    from rnnkit.bench import main

    assert main(["--quick", "--cells", "indrnn", "--out", str(tmp_path), "--no-stream"]) == 0
    (row,) = json.loads((tmp_path / "latest.json").read_text())["rows"]
    assert row["cell"] == "IndRNN" and row["train"]["rnnkit_s"] > 0 and row["train"]["torch_s"] is None
