"""Peephole LSTM (``kernels/peephole_ref.py``, ``kernels/fast/peephole.py``, ``nn.PeepholeLSTM``/
``nn.PeepholeLSTMCell``; Gers & Schmidhuber 2000, Graves 2013 eq. 7-11).

Outside truths: the equations written again with torch ops and differentiated by torch's
autograd (forward and every gradient, peepholes included), torch.nn.LSTM itself with the
peepholes set to zero, central finite differences in float64 through the layer (every
parameter incl. the three peephole vectors, the input and the initial (h, c); stacked,
bidirectional, lengths, batch_first, with and without bias, both backends), the compiled twin
against the NumPy reference (float32 and float64), the one-step cell against the layer, and a
small learning task; the ONNX export against onnxruntime. Also the diagnostics, saving, bad
arguments, the refusal of interop (torch has no peephole LSTM) and the benchmark.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cell_checks as cc
import rnnkit
import state_checks as sc
from rnnkit import nn
from rnnkit.nn.rnn_base import RNNBase

BACKENDS = rnnkit.available_backends()


def _torch_peephole(torch, x, h, c, p):
    """Graves 2013 eq. 7-11 written with torch ops: x (T, B, I) -> out (T, B, H), (h_n, c_n)."""
    outs = []
    for t in range(x.shape[0]):
        a = x[t] @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
        a_i, a_f, a_g, a_o = a.chunk(4, dim=1)
        i = torch.sigmoid(a_i + p["weight_ci"] * c)
        f = torch.sigmoid(a_f + p["weight_cf"] * c)
        c = f * c + i * torch.tanh(a_g)
        o = torch.sigmoid(a_o + p["weight_co"] * c)
        h = o * torch.tanh(c)
        outs.append(h)
    return torch.stack(outs), (h, c)


def _problem(seed, T=6, B=2, I=3, H=5):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((T, B, I)), rng.standard_normal((1, B, H)), rng.standard_normal((1, B, H)),
            rng.standard_normal((T, B, H)), rng.standard_normal((1, B, H)), rng.standard_normal((1, B, H)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_torch_autograd(backend):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rnnkit.set_backend(backend)
    layer = nn.PeepholeLSTM(3, 5, dtype=np.float64, rng=0)
    for n in ("weight_ci_l0", "weight_cf_l0", "weight_co_l0"):          # peepholes large enough to matter
        getattr(layer, n).data[:] = np.random.default_rng(len(n) + ord(n[8])).uniform(-1.5, 1.5, 5)
    x, h0, c0, d_out, dh, dc = _problem(1)
    out, (h_n, c_n) = layer(x, (h0, c0))
    dx, (dh0, dc0) = layer.backward(d_out, (dh, dc))

    tp = {n[:-3]: torch.tensor(p.data, requires_grad=True) for n, p in layer.named_parameters()}
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0[0], c0[0]))
    t_out, (t_h, t_c) = _torch_peephole(torch, tx, th, tc, tp)
    ((t_out * torch.tensor(d_out)).sum() + (t_h * torch.tensor(dh[0])).sum()
     + (t_c * torch.tensor(dc[0])).sum()).backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(c_n[0], t_c.detach().numpy(), rtol=1e-12, atol=1e-13)
    for got, want in ((dx, tx.grad), (dh0[0], th.grad), (dc0[0], tc.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, tp[n[:-3]].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_peepholes_equal_torch_lstm(backend):
    """With w_ci = w_cf = w_co = 0 it is PyTorch's LSTM (stacked, bidirectional): outputs,
    final states and the gradients of the input, the initial state and every shared parameter."""
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rnnkit.set_backend(backend)
    layer = nn.PeepholeLSTM(3, 4, num_layers=2, bidirectional=True, dtype=np.float64, rng=0)
    for n, p in layer.named_parameters():
        if n.startswith(("weight_ci", "weight_cf", "weight_co")):
            p.data[:] = 0.0
    ref = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=torch.float64)
    shared = {n: p for n, p in layer.named_parameters() if not n.startswith(("weight_c",))}
    with torch.no_grad():
        for n, p in ref.named_parameters():
            p.copy_(torch.tensor(shared[n].data))
    assert set(shared) == {n for n, _ in ref.named_parameters()}
    rng = np.random.default_rng(3)
    x, h0, c0 = rng.standard_normal((5, 2, 3)), rng.standard_normal((4, 2, 4)), rng.standard_normal((4, 2, 4))
    d_out, dh, dc = rng.standard_normal((5, 2, 8)), rng.standard_normal((4, 2, 4)), rng.standard_normal((4, 2, 4))
    out, (h_n, c_n) = layer(x, (h0, c0))
    dx, (dh0, dc0) = layer.backward(d_out, (dh, dc))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    t_out, (t_h, t_c) = ref(tx, (th, tc))
    ((t_out * torch.tensor(d_out)).sum() + (t_h * torch.tensor(dh)).sum() + (t_c * torch.tensor(dc)).sum()).backward()
    for got, want in ((out, t_out), (h_n, t_h), (c_n, t_c)):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12, atol=1e-13)
    for got, want in ((dx, tx.grad), (dh0, th.grad), (dc0, tc.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)
    for n, p in ref.named_parameters():
        np.testing.assert_allclose(shared[n].grad, p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


def test_one_step_by_hand():
    """H = 1, W_ih = W_hh = 0, no bias: a = 0, so with c0 the gates are sigmoids of the
    peepholes alone: i = s(w_ci c0), f = s(w_cf c0), g = 0, c1 = f c0, o = s(w_co c1)."""
    s = lambda v: 1 / (1 + np.exp(-v))                            # noqa: E731
    cell = nn.PeepholeLSTMCell(2, 1, bias=False, dtype=np.float64, rng=0)
    cell.weight_ih.data[:] = 0.0
    cell.weight_hh.data[:] = 0.0
    cell.weight_ci.data[:], cell.weight_cf.data[:], cell.weight_co.data[:] = 0.7, -1.3, 2.1
    c0 = 0.9
    for backend in BACKENDS:
        rnnkit.set_backend(backend)
        h1, c1 = cell(np.array([[1.0, -2.0]]), (np.array([[0.4]]), np.array([[c0]])))
        want_c = s(-1.3 * c0) * c0
        np.testing.assert_allclose(c1[0, 0], want_c, rtol=1e-14)
        np.testing.assert_allclose(h1[0, 0], s(2.1 * want_c) * np.tanh(want_c), rtol=1e-14)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_gradients_match_finite_differences(backend, bias):
    sc.layer_gradients_match_finite_differences(nn.PeepholeLSTM, backend, bias=bias)


@pytest.mark.parametrize("dtype,reverse,with_lengths,bias",
                         itertools.product((np.float32, np.float64), (False, True), (False, True), (True, False)))
def test_compiled_equals_reference(dtype, reverse, with_lengths, bias):
    pytest.importorskip("rnnkit.kernels.fast")
    sc.compiled_equals_reference("PeepholeLSTM", dtype, reverse, with_lengths, bias)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cell_equals_layer(backend):
    sc.cell_equals_layer(nn.PeepholeLSTM, nn.PeepholeLSTMCell, backend)


def test_diagnostics_run():
    sc.diagnostics_run(nn.PeepholeLSTM)


def test_save_load_round_trip(tmp_path):
    cc.save_load_round_trip(nn.PeepholeLSTM, tmp_path)


def test_initialisation_and_bad_arguments():
    H = 16
    layer = nn.PeepholeLSTM(3, H, rng=0)
    for n in ("weight_ci_l0", "weight_cf_l0", "weight_co_l0"):
        v = getattr(layer, n).data
        assert v.shape == (H,) and v.dtype == np.float32
        assert np.abs(v).max() <= 1 / np.sqrt(H) and np.abs(v).max() > 0.5 / np.sqrt(H), n   # U(-1/sqrt(H), 1/sqrt(H))
    names = [n for n, _ in nn.PeepholeLSTM(2, 3, bias=False, rng=0).named_parameters()]
    assert names == ["weight_ih_l0", "weight_hh_l0", "weight_ci_l0", "weight_cf_l0", "weight_co_l0"]
    with pytest.raises(TypeError, match="proj_size|unexpected"):
        nn.PeepholeLSTM(2, 3, proj_size=1)
    with pytest.raises(ValueError, match="proj_size"):
        RNNBase(2, 3, proj_size=1, mode="PeepholeLSTM")
    with pytest.raises(ValueError, match="hidden_size"):
        nn.PeepholeLSTM(2, 0)
    with pytest.raises(ValueError, match="input_size"):
        nn.PeepholeLSTMCell(0, 3)
    with pytest.raises(TypeError, match="bias"):
        nn.PeepholeLSTMCell(2, 3, bias="yes")


def _peepholes_large(m):
    """Peepholes of U(-1.5, 1.5), so that a wrong order of ONNX's P would show."""
    for n, p in m.named_parameters():
        if n.startswith(("weight_ci", "weight_cf", "weight_co")):
            p.data[:] = np.random.default_rng(len(n) + ord(n[8])).uniform(-1.5, 1.5, p.shape)
    return m


@pytest.mark.parametrize("config", [{}, {"num_layers": 2, "bidirectional": True},
                                    {"batch_first": True, "bidirectional": True}])
def test_onnx_export_runs_in_onnxruntime(config, tmp_path):
    """An ONNX LSTM node with the peephole input P ([p_i, p_o, p_f]): onnxruntime's outputs and
    final states equal rnnkit's (``export.check``: full and padded batches, lengths, h0/c0)."""
    pytest.importorskip("onnx", reason="onnx is not installed")
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    from rnnkit.export import check, to_onnx

    layer = _peepholes_large(nn.PeepholeLSTM(3, 5, rng=0, **config))
    for lengths, state in itertools.product((False, True), (False, True)):
        to_onnx(layer, tmp_path / "m.onnx", lengths=lengths, initial_state=state)
        assert check(tmp_path / "m.onnx", layer) <= 1e-5
    cell = _peepholes_large(nn.PeepholeLSTMCell(3, 5, rng=0))
    to_onnx(cell, tmp_path / "c.onnx")
    assert check(tmp_path / "c.onnx", cell) <= 1e-5
    model = nn.Sequential(_peepholes_large(nn.PeepholeLSTM(3, 5, rng=0)), nn.LastStep(), nn.Linear(5, 2, rng=0))
    to_onnx(model, tmp_path / "s.onnx")
    assert check(tmp_path / "s.onnx", model) <= 1e-5


def test_interop_refuses_it():
    pytest.importorskip("torch", reason="torch is not installed")
    from rnnkit.interop import to_torch

    with pytest.raises(TypeError, match="PeepholeLSTM"):
        to_torch(nn.Sequential(nn.PeepholeLSTM(2, 3, rng=0)))


def test_learns_the_adding_problem():
    """Predicting the mean (1.0) gives MSE 1/6; a small peephole LSTM gets far below (400 steps:
    at 250 it, like nn.LSTM with the same seeds, is still on the adding problem's plateau)."""
    rng = np.random.default_rng(0)
    mse = cc.fit_adding(nn.PeepholeLSTM(2, 16, rng=1), rng, 20, 400, lr=1e-2)
    assert mse < 0.03, f"PeepholeLSTM adding problem T=20: test MSE {mse:.4f} (baseline 0.167)"


def test_bench_runs_it_without_a_torch_peer(tmp_path):
    import json

    from rnnkit.bench import main
    from rnnkit.bench.grid import CELLS

    assert "PeepholeLSTM" in CELLS
    assert main(["--quick", "--cells", "peepholelstm", "--out", str(tmp_path), "--no-stream"]) == 0
    (row,) = json.loads((tmp_path / "latest.json").read_text())["rows"]
    assert row["cell"] == "PeepholeLSTM" and row["train"]["rnnkit_s"] > 0 and row["train"]["torch_s"] is None
