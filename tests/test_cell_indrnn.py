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

import cell_checks as cc
import rnnkit
from kernel_cases import assert_same_keys, problem, run
from rnnkit import nn
from rnnkit.nn.rnn_base import RNNBase

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
    cc.layer_gradients_match_finite_differences(nn.IndRNN, backend, nonlinearity=nonlinearity)


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
    cc.cell_equals_layer(nn.IndRNN, nn.IndRNNCell, backend, nonlinearity="tanh")


def test_diagnostics_run():
    cc.diagnostics_run(nn.IndRNN, ("h",), kind="relu")


def test_save_load_round_trip(tmp_path):
    cc.save_load_round_trip(nn.IndRNN, tmp_path, nonlinearity="tanh", recurrent_max=0.9)


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
    cc.export_and_interop_refuse(nn.IndRNN)


def test_learns_the_adding_problem():
    """Predicting the mean (1.0) gives MSE 1/6; a small IndRNN gets far below."""
    rng = np.random.default_rng(0)
    T = 50
    rnn = nn.IndRNN(2, 32, num_layers=2, recurrent_max=2 ** (1 / T), rng=1)
    for name, p in rnn.named_parameters():
        if name.startswith("weight_hh"):
            p.data[:] = rng.uniform(0, 1, p.shape)               # the paper's init of u
    mse = cc.fit_adding(rnn, rng, T, 600, after_step=lambda m: m.constrain_())
    assert mse < 0.03, f"IndRNN adding problem T={T}: test MSE {mse:.4f} (baseline 0.167)"


def test_bench_runs_it_without_a_torch_peer(tmp_path):
    import json

    from rnnkit.bench import main

    assert main(["--quick", "--cells", "indrnn", "--out", str(tmp_path), "--no-stream"]) == 0
    (row,) = json.loads((tmp_path / "latest.json").read_text())["rows"]
    assert row["cell"] == "IndRNN" and row["train"]["rnnkit_s"] > 0 and row["train"]["torch_s"] is None
