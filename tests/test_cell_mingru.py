"""minGRU (``kernels/mingru_ref.py``, ``kernels/fast/mingru.py``, ``nn.MinGRU``/``nn.MinGRUCell``).

Outside truths: a step by hand, central finite differences in float64 (stacked,
bidirectional, lengths, batch_first; both backends, both algorithms), the compiled loop and
the parallel scan against the NumPy reference, the cell against the layer; the diagnostics,
saving, and minGRU matching the GRU on a small memory task (the paper's claim, small scale).
"""

from __future__ import annotations

import numpy as np
import pytest

import cell_checks as cc
import rnnkit
from rnnkit import nn


def test_one_step_by_hand():
    cell = nn.MinGRUCell(2, 2, dtype=np.float64, rng=0)
    cell.weight_ih.data[...] = [[1.0, 0.0], [0.0, -1.0], [2.0, 1.0], [0.5, 0.5]]   # [W_z; W_h]
    cell.bias_ih.data[...] = [0.0, 0.5, 0.0, -1.0]
    x, h = np.array([[1.0, 2.0]]), np.array([[0.3, -0.4]])
    z = 1 / (1 + np.exp(-np.array([1.0, -1.5])))
    want = (1 - z) * h + z * np.array([4.0, 0.5])
    for backend in rnnkit.available_backends():
        rnnkit.set_backend(backend)
        np.testing.assert_allclose(cell(x, h), want, rtol=1e-14)
        with rnnkit.no_grad():
            np.testing.assert_allclose(cell(x, h), want, rtol=1e-14)


@pytest.mark.parametrize("algorithm", ["loop", "scan"])
@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_layer_gradients_match_finite_differences(backend, algorithm):
    cc.layer_gradients_match_finite_differences(nn.MinGRU, backend, algorithm=algorithm)


@pytest.mark.parametrize("case", cc.CASES)
def test_compiled_equals_reference(case):
    pytest.importorskip("rnnkit.kernels.fast")
    cc.compiled_equals_reference("minGRU", *case)


def test_long_scan_equals_loop():
    pytest.importorskip("rnnkit.kernels.fast")
    cc.long_scan_equals_loop(nn.MinGRU)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
def test_cell_equals_layer(backend):
    cc.cell_equals_layer(nn.MinGRU, nn.MinGRUCell, backend)


def test_diagnostics_run():
    cc.diagnostics_run(nn.MinGRU, ("update",))


def test_save_load_round_trip(tmp_path):
    cc.save_load_round_trip(nn.MinGRU, tmp_path, algorithm="scan")


def test_bad_algorithm_and_shapes():
    with pytest.raises(ValueError, match="algorithm must be one of"):
        nn.MinGRU(2, 3, algorithm="fft")
    layer = nn.MinGRU(2, 3, bias=False, rng=0)
    assert [n for n, _ in layer.named_parameters()] == ["weight_ih_l0"] and layer.weight_ih_l0.shape == (6, 2)


def test_matches_the_gru_on_the_adding_problem():
    """Two stacked minGRU layers (one alone cannot gate on the marker: its gates see x_t only)
    and a GRU, the same budget; baseline MSE 1/6."""
    T, steps = 30, 300
    mse_min = cc.fit_adding(nn.MinGRU(2, 24, num_layers=2, rng=1), np.random.default_rng(0), T, steps)
    mse_gru = cc.fit_adding(nn.GRU(2, 24, rng=1), np.random.default_rng(0), T, steps)
    assert mse_min < 0.05, f"minGRU: test MSE {mse_min:.4f}"
    assert mse_gru < 0.05, f"GRU: test MSE {mse_gru:.4f}"


def test_export_and_interop_refuse_it():
    cc.export_and_interop_refuse(nn.MinGRU)
