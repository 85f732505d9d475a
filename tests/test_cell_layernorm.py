"""LayerNorm LSTM (``kernels/lnlstm_ref.py``, ``kernels/fast/lnlstm.py``, ``nn.LayerNormLSTM``/
``nn.LayerNormLSTMCell``) and LayerNorm GRU (``kernels/lngru_ref.py``, ``kernels/fast/lngru.py``,
``nn.LayerNormGRU``/``nn.LayerNormGRUCell``).

Outside truths: the equations written again with torch ops (``torch.nn.functional.layer_norm``)
and differentiated by torch's autograd (forward and every gradient over a sequence), central
finite differences in float64 through the layer (stacked, bidirectional, lengths, batch_first,
with and without the shifts, both backends), the compiled twin against the NumPy reference,
the one-step cell against the layer, and a small learning task. Also the diagnostics, saving,
``eps`` checks and the refusals of export/interop.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cell_checks as cc
import rnnkit
import state_checks as sc
from rnnkit import nn

LAYERS = {"LayerNormLSTM": (nn.LayerNormLSTM, nn.LayerNormLSTMCell),
          "LayerNormGRU": (nn.LayerNormGRU, nn.LayerNormGRUCell)}


def _torch_lnlstm(torch, x, h, c, p, eps):
    """The LayerNorm LSTM of Ba et al. written with torch ops: x (T, B, I) -> out (T, B, H)."""
    F = torch.nn.functional
    H = h.shape[1]
    outs = []
    for t in range(x.shape[0]):
        a = (F.layer_norm(x[t] @ p["weight_ih"].T, (4 * H,), 1 + p["weight_ln_ih"], p["bias_ln_ih"], eps)
             + F.layer_norm(h @ p["weight_hh"].T, (4 * H,), 1 + p["weight_ln_hh"], p["bias_ln_hh"], eps))
        i, f, g, o = a.split(H, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(F.layer_norm(c, (H,), 1 + p["weight_ln_c"], p["bias_ln_c"], eps))
        outs.append(h)
    return torch.stack(outs), (h, c)


def _torch_lngru(torch, x, h, p, eps):
    """The LayerNorm GRU of ``kernels/lngru_ref.py`` written with torch ops."""
    F = torch.nn.functional
    H = h.shape[1]
    outs = []
    for t in range(x.shape[0]):
        x_r, x_z, x_n = F.layer_norm(x[t] @ p["weight_ih"].T, (3 * H,), 1 + p["weight_ln_ih"], p["bias_ln_ih"],
                                     eps).split(H, dim=1)
        s_r, s_z, s_n = F.layer_norm(h @ p["weight_hh"].T, (3 * H,), 1 + p["weight_ln_hh"], p["bias_ln_hh"],
                                     eps).split(H, dim=1)
        r, z = torch.sigmoid(x_r + s_r), torch.sigmoid(x_z + s_z)
        h = (1 - z) * torch.tanh(x_n + r * s_n) + z * h
        outs.append(h)
    return torch.stack(outs), (h,)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_gru_matches_torch_autograd(backend):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rnnkit.set_backend(backend)
    eps = 1e-3
    layer = nn.LayerNormGRU(3, 5, dtype=np.float64, eps=eps, rng=0)
    rng = np.random.default_rng(2)
    x, h0 = rng.standard_normal((6, 2, 3)), rng.standard_normal((1, 2, 5))
    d_out, dh = rng.standard_normal((6, 2, 5)), rng.standard_normal((1, 2, 5))
    out, h_n = layer(x, h0)
    dx, dh0 = layer.backward(d_out, dh)
    tp = {n[:-3]: torch.tensor(p.data, requires_grad=True) for n, p in layer.named_parameters()}
    tx, th = (torch.tensor(a, requires_grad=True) for a in (x, h0[0]))
    t_out, (t_h,) = _torch_lngru(torch, tx, th, tp, eps)
    ((t_out * torch.tensor(d_out)).sum() + (t_h * torch.tensor(dh[0])).sum()).backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-13)
    for got, want in ((dx, tx.grad), (dh0[0], th.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, tp[n[:-3]].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_lstm_matches_torch_autograd(backend):
    torch = pytest.importorskip("torch", reason="torch is not installed")
    rnnkit.set_backend(backend)
    eps = 1e-3
    layer = nn.LayerNormLSTM(3, 5, dtype=np.float64, eps=eps, rng=0)
    rng = np.random.default_rng(1)
    x, h0, c0 = rng.standard_normal((6, 2, 3)), rng.standard_normal((1, 2, 5)), rng.standard_normal((1, 2, 5))
    d_out, dh, dc = rng.standard_normal((6, 2, 5)), rng.standard_normal((1, 2, 5)), rng.standard_normal((1, 2, 5))
    out, (h_n, c_n) = layer(x, (h0, c0))
    dx, (dh0, dc0) = layer.backward(d_out, (dh, dc))

    tp = {n[:-3]: torch.tensor(p.data, requires_grad=True) for n, p in layer.named_parameters()}
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0[0], c0[0]))
    t_out, (t_h, t_c) = _torch_lnlstm(torch, tx, th, tc, tp, eps)
    ((t_out * torch.tensor(d_out)).sum() + (t_h * torch.tensor(dh[0])).sum()
     + (t_c * torch.tensor(dc[0])).sum()).backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(c_n[0], t_c.detach().numpy(), rtol=1e-12, atol=1e-13)
    for got, want in ((dx, tx.grad), (dh0[0], th.grad), (dc0[0], tc.grad)):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-10, atol=1e-12)
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, tp[n[:-3]].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=n)


def test_lstm_one_step_by_hand():
    """H = 1 makes every LN of the cell state its shift: h_1 = o * tanh(beta_c), whatever c_1."""
    cell = nn.LayerNormLSTMCell(2, 1, dtype=np.float64, rng=0)
    cell.bias_ln_c.data[:] = 0.5
    for backend in rnnkit.available_backends():
        rnnkit.set_backend(backend)
        x = np.array([[1.0, -2.0]])
        h1, c1 = cell(x)                                          # h0 = c0 = 0
        W, gx, bx = cell.weight_ih.data, 1 + cell.weight_ln_ih.data, cell.bias_ln_ih.data
        v = W @ x[0]                                              # (4,), one unit: i, f, g, o
        a = gx * (v - v.mean()) / np.sqrt(v.var() + 1e-5) + bx + cell.bias_ln_hh.data   # LN_hh(0) = beta_hh
        sig = 1 / (1 + np.exp(-a))
        np.testing.assert_allclose(c1[0, 0], sig[0] * np.tanh(a[2]), rtol=1e-13)
        np.testing.assert_allclose(h1[0, 0], sig[3] * np.tanh(0.5), rtol=1e-13)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_gradients_match_finite_differences(name, backend, bias):
    sc.layer_gradients_match_finite_differences(LAYERS[name][0], backend, bias=bias, eps=1e-4)


@pytest.mark.parametrize("name,dtype,reverse,with_lengths,bias",
                         itertools.product(LAYERS, (np.float32, np.float64), (False, True), (False, True),
                                           (True, False)))
def test_compiled_equals_reference(name, dtype, reverse, with_lengths, bias):
    pytest.importorskip("rnnkit.kernels.fast")
    sc.compiled_equals_reference(name, dtype, reverse, with_lengths, bias, eps=1e-3)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("name", list(LAYERS))
def test_cell_equals_layer(name, backend):
    sc.cell_equals_layer(*LAYERS[name], backend, eps=1e-4)


@pytest.mark.parametrize("name", list(LAYERS))
def test_diagnostics_run(name):
    sc.diagnostics_run(LAYERS[name][0], eps=1e-4)


@pytest.mark.parametrize("name", list(LAYERS))
def test_save_load_round_trip(name, tmp_path):
    cc.save_load_round_trip(LAYERS[name][0], tmp_path, eps=1e-3)


@pytest.mark.parametrize("name", list(LAYERS))
def test_eps_and_bad_arguments(name):
    layer_cls, cell_cls = LAYERS[name]
    assert layer_cls(2, 3, rng=0).eps == 1e-5 and cell_cls(2, 3, rng=0).eps == 1e-5
    for bad in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="eps"):
            layer_cls(2, 3, eps=bad)
    with pytest.raises(TypeError, match="eps must be a number"):
        cell_cls(2, 3, eps="small")
    with pytest.raises(TypeError, match="proj_size|unexpected"):
        layer_cls(2, 3, proj_size=1)
    names = [n for n, _ in layer_cls(2, 3, bias=False, rng=0).named_parameters()]
    assert not any(n.startswith("bias") for n in names) and "weight_ln_ih_l0" in names


@pytest.mark.parametrize("name", list(LAYERS))
def test_export_and_interop_refuse_it(name):
    cc.export_and_interop_refuse(LAYERS[name][0])


@pytest.mark.parametrize("name", list(LAYERS))
def test_learns_the_adding_problem(name):
    """Predicting the mean (1.0) gives MSE 1/6; a small LayerNorm RNN gets far below."""
    rng = np.random.default_rng(0)
    mse = cc.fit_adding(LAYERS[name][0](2, 16, rng=1), rng, 20, 250, lr=1e-2)
    assert mse < 0.03, f"{name} adding problem T=20: test MSE {mse:.4f} (baseline 0.167)"
