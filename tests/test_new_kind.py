"""Adding a cell kind is one record plus a registration: a kind defined only here works everywhere.

The test kind, a diagonal RNN with an output gain (IndRNN's recurrence, with a parameter
that is none of PyTorch's five)::

    a_t = x_t @ W_ih.T + b_ih + u * h_{t-1} + b_hh        u = weight_hh (H,): a vector
    h_t = gain * tanh(a_t)                                gain (H,): an extra parameter

is a reference step and its backward (no compiled twin), registered for the test's duration.
With nothing else changed, the generic layer runs it stacked, bidirectional, with lengths and
``batch_first``, on both backends (the 'numba' backend runs a kind without a compiled twin on
its reference); every gradient matches central finite differences in float64; the one-step
cell, its lean eval path, the diagnostics and ``nn.init`` work on it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

import rnnkit
from helpers import check_fd
from rnnkit import diagnostics, nn
from rnnkit.kernels import KINDS, CellKind, implementation, reference
from rnnkit.nn.cells import _CellBase
from rnnkit.nn.rnn_base import RNNBase


class DiagCache(NamedTuple):
    x: np.ndarray                # (T, B, I)
    h_prev: np.ndarray           # (T, B, H)
    tanh_a: np.ndarray           # (T, B, H)
    lengths: np.ndarray | None
    reverse: bool


def _step(xp, state, w, options):
    (h,) = state
    a = xp + w.W_hh * h
    if w.b_hh is not None:
        a = a + w.b_hh
    th = np.tanh(a)
    return (w.extra["gain"] * th,), {"h_prev": h, "tanh_a": th}


def _step_backward(g, cache, t, w):
    (g_h,) = g
    th, h_prev, gain = cache.tanh_a[t], cache.h_prev[t], w.extra["gain"]
    da = g_h * gain * (1 - th * th)
    return da, (da * w.W_hh,), {"W_hh": (da * h_prev).sum(axis=0), "b_hh": da.sum(axis=0),
                                "gain": (g_h * th).sum(axis=0)}


DIAG = CellKind(
    name="DiagRNN", gates=1, gate_names=("hidden",), state_names=("h",), options={}, projection=False,
    cache=DiagCache, step=_step, step_backward=_step_backward,
    activations=lambda options: (("tanh_a", "tanh"),),
    report=lambda state, saved, options: {"tanh_a": saved["tanh_a"]},
    shapes=lambda I, H, P: {"weight_ih": (H, I), "weight_hh": (H,), "bias_ih": (H,), "bias_hh": (H,), "gain": (H,)},
)


class DiagRNN(RNNBase):
    mode = "DiagRNN"


class DiagRNNCell(_CellBase):
    mode = "DiagRNN"


@pytest.fixture(autouse=True)
def _registered(monkeypatch):
    monkeypatch.setitem(KINDS, "DiagRNN", DIAG)




@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_layer_gradients_match_finite_differences(backend):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(0)
    layer = DiagRNN(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64, rng=1)
    assert [n for n, _ in layer.named_parameters()][:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                            "bias_hh_l0", "gain_l0"]
    assert layer.weight_hh_l0.shape == (4,) and layer.gain_l0_reverse.shape == (4,)
    x = rng.standard_normal((3, 5, 3))                       # (B, T, I)
    lengths = np.array([5, 2, 4])
    d_out = rng.standard_normal((3, 5, 8))
    layer(x, lengths=lengths)
    dx, _ = layer.backward(d_out)

    def loss():
        with rnnkit.no_grad():
            out, _ = layer(x, lengths=lengths)
        return float((out * d_out).sum())

    for name, p in layer.named_parameters():
        check_fd(f"grad of {name}", p.grad, loss, p.data, rng, n=3, config=backend, rtol=1e-7)
    check_fd("dx", dx, loss, x, rng, n=5, config=backend, rtol=1e-7)


def test_cell_and_lean_step_and_the_numba_backend():
    cell = DiagRNNCell(3, 4, rng=0, dtype=np.float64)
    for backend in rnnkit.available_backends():       # 'numba': no compiled twin, the reference runs
        fwd = implementation("DiagRNN", backend).forward(np.ones((2, 1, 3)), cell._params().weights(),
                                                          (np.zeros((1, 4)),), None, False, False, {})
        np.testing.assert_allclose(fwd.out[0, 0], cell.gain.data * np.tanh(np.ones(3) @ cell.weight_ih.data.T
                                                                        + cell.bias_ih.data + cell.bias_hh.data))
    x = np.random.default_rng(2).standard_normal((2, 3))
    h1 = cell(x)                                       # training path: the layer's kernels
    dx, dh0 = cell.backward(np.ones_like(h1))
    assert dx.shape == (2, 3) and cell.gain.grad.shape == (4,)
    with rnnkit.no_grad():
        h_eval = cell(x)                               # the lean path: the kernels' step
    np.testing.assert_allclose(h_eval, h1, rtol=1e-12)
    w = cell._params().weights()
    want = cell.gain.data * np.tanh(reference.project(x, w) + cell.bias_hh.data)
    np.testing.assert_allclose(h1, want, rtol=1e-12)


def test_diagnostics_and_init():
    layer = DiagRNN(3, 4, bidirectional=True, rng=0)
    x = np.random.default_rng(3).standard_normal((6, 2, 3))
    stats = diagnostics.gate_stats(layer, x, lengths=np.array([6, 3]))
    assert set(stats) == {"l0/tanh_a", "l0_reverse/tanh_a"} and stats["l0/tanh_a"].kind == "tanh"
    flow = diagnostics.gradient_flow(layer, x)
    assert flow.dh.shape == (1, 2, 6, 2, 4) and flow.dc is None
    assert diagnostics.jacobian_norms(layer, x).shape == (1, 2, 6)
    with pytest.raises(ValueError, match="weight_hh_l0 is not a matrix"):
        nn.init.orthogonal_recurrent_(layer)
    with pytest.raises(ValueError, match="holds no LSTM"):
        nn.init.lstm_forget_bias_(layer)
