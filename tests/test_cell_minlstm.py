"""minLSTM (``kernels/minlstm_ref.py``, ``kernels/fast/minlstm.py``, ``nn.MinLSTM``/``nn.MinLSTMCell``).

The checks of ``min_checks`` (finite differences, compiled loop and scan = reference, cell =
layer, diagnostics, saving), a step by hand, and the adding problem learned at small scale.
"""

from __future__ import annotations

import numpy as np
import pytest

import cell_checks as cc
import rnnkit
from rnnkit import nn


def test_one_step_by_hand():
    cell = nn.MinLSTMCell(1, 2, dtype=np.float64, rng=0)
    cell.weight_ih.data[...] = [[1.0], [0.0], [-1.0], [2.0], [3.0], [1.0]]   # [W_f; W_i; W_h]
    cell.bias_ih.data[...] = 0.0
    x, h = np.array([[1.0]]), np.array([[0.5, -1.0]])
    s = lambda v: 1 / (1 + np.exp(-v))                               # noqa: E731
    f, i = s(np.array([1.0, 0.0])), s(np.array([-1.0, 2.0]))
    want = (f * h + i * np.array([3.0, 1.0])) / (f + i)
    for backend in rnnkit.available_backends():
        rnnkit.set_backend(backend)
        np.testing.assert_allclose(cell(x, h), want, rtol=1e-14)
        with rnnkit.no_grad():
            np.testing.assert_allclose(cell(x, h), want, rtol=1e-14)


@pytest.mark.parametrize("algorithm", ["loop", "scan"])
@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_layer_gradients_match_finite_differences(backend, algorithm):
    cc.layer_gradients_match_finite_differences(nn.MinLSTM, backend, algorithm=algorithm)


@pytest.mark.parametrize("case", cc.CASES)
def test_compiled_equals_reference(case):
    pytest.importorskip("rnnkit.kernels.fast")
    cc.compiled_equals_reference("minLSTM", *case)


def test_long_scan_equals_loop():
    pytest.importorskip("rnnkit.kernels.fast")
    cc.long_scan_equals_loop(nn.MinLSTM)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_cell_equals_layer(backend):
    cc.cell_equals_layer(nn.MinLSTM, nn.MinLSTMCell, backend)


def test_diagnostics_run():
    cc.diagnostics_run(nn.MinLSTM, ("forget", "input"))


def test_save_load_round_trip(tmp_path):
    cc.save_load_round_trip(nn.MinLSTM, tmp_path, algorithm="scan")


def test_forget_bias_init_finds_the_forget_gate():
    layer = nn.init.lstm_forget_bias_(nn.MinLSTM(2, 3, rng=0), 2.0)
    assert (layer.bias_ih_l0.data[:3] == 2.0).all() and not (layer.bias_ih_l0.data[3:] == 2.0).any()


def test_learns_the_adding_problem():
    mse = cc.fit_adding(nn.MinLSTM(2, 24, num_layers=2, rng=1), np.random.default_rng(0), 30, 300)
    assert mse < 0.05, f"minLSTM: test MSE {mse:.4f} (baseline 0.167)"


def test_export_and_interop_refuse_it():
    cc.export_and_interop_refuse(nn.MinLSTM)
