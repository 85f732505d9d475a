"""nn.init: orthogonal (Q^T Q = I), per-gate orthogonal recurrent weights, Xavier, forget-gate bias."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit import nn
from rnnkit.nn import Parameter, init


@pytest.mark.parametrize("shape", [(6, 6), (8, 3), (3, 8), (4, 2, 3)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_orthogonal(shape, dtype):
    a = np.zeros(shape, dtype)
    assert init.orthogonal_(a, rng=0) is a
    w = a.reshape(shape[0], -1).astype(np.float64)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    if w.shape[0] >= w.shape[1]:
        np.testing.assert_allclose(w.T @ w, np.eye(w.shape[1]), atol=tol, err_msg="Q^T Q")
    else:
        np.testing.assert_allclose(w @ w.T, np.eye(w.shape[0]), atol=tol, err_msg="Q Q^T")
    g = np.zeros(shape, dtype)
    init.orthogonal_(g, gain=2.5, rng=0)
    np.testing.assert_allclose(g, 2.5 * a, rtol=1e-6)
    b = np.zeros(shape, dtype)
    init.orthogonal_(b, rng=0)
    np.testing.assert_array_equal(a, b)          # seeded: reproducible
    init.orthogonal_(b, rng=1)
    assert not np.array_equal(a, b)


def test_orthogonal_on_parameter_and_errors():
    p = Parameter(np.zeros((4, 4), np.float32))
    assert init.orthogonal_(p, rng=0) is p
    np.testing.assert_allclose(p.data.T @ p.data, np.eye(4), atol=1e-6)
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*\(4,\)"):
        init.orthogonal_(np.zeros(4))
    with pytest.raises(TypeError, match="Parameter or numpy.ndarray.*list"):
        init.orthogonal_([[1.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize("module", [
    nn.RNN(3, 5, num_layers=2, rng=0),
    nn.GRU(3, 4, bidirectional=True, rng=0),
    nn.LSTM(3, 5, num_layers=2, rng=0),
    nn.LSTM(3, 5, proj_size=3, bidirectional=True, rng=0),     # gate blocks (5, 3): orthonormal columns
    nn.LSTM(3, 6, proj_size=4, dtype=np.float64, rng=0),
    nn.GRUCell(2, 3, rng=0),
    nn.LSTMCell(2, 3, rng=0),
], ids=["rnn", "gru_bidir", "lstm_L2", "lstm_proj_bidir", "lstm_proj_f64", "grucell", "lstmcell"])
def test_orthogonal_recurrent_per_gate_block(module):
    before = module.state_dict()
    assert init.orthogonal_recurrent_(module, rng=1) is module
    G = {"RNN": 1, "GRU": 3, "LSTM": 4}[module.mode]
    H = module.hidden_size
    seen = 0
    for name, p in module.named_parameters():
        if not name.startswith("weight_hh"):
            np.testing.assert_array_equal(p.data, before[name], err_msg=f"{name} must be untouched")
            continue
        seen += 1
        assert p.dtype == before[name].dtype
        for g in range(G):
            block = p.data[g * H:(g + 1) * H].astype(np.float64)       # (H, H_out)
            np.testing.assert_allclose(block.T @ block, np.eye(block.shape[1]), atol=1e-6,
                                       err_msg=f"{name} gate block {g}")
        if G > 1:       # independent blocks, not one block repeated
            assert not np.allclose(p.data[:H], p.data[H:2 * H]), name
    assert seen == sum(1 for n in before if n.startswith("weight_hh"))


@pytest.mark.parametrize("shape", [(200, 100), (64, 32, 3)])
def test_xavier_uniform_bound_and_variance(shape):
    a = np.zeros(shape)
    init.xavier_uniform_(a, gain=1.5, rng=0)
    receptive = int(np.prod(shape[2:]))
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    s = 1.5 * math.sqrt(6.0 / (fan_in + fan_out))
    assert np.all(np.abs(a) <= s) and a.max() > 0.95 * s and a.min() < -0.95 * s
    assert abs(a.var() / (s * s / 3) - 1) < 0.05
    assert abs(a.mean()) < 0.02 * s


def test_xavier_normal_std():
    a = np.zeros((300, 200), np.float32)
    init.xavier_normal_(a, gain=2.0, rng=0)
    std = 2.0 * math.sqrt(2.0 / 500)
    assert abs(a.std() / std - 1) < 0.03 and abs(a.mean()) < 0.02 * std
    assert a.dtype == np.float32
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_normal_(np.zeros(5))


def test_uniform_constant_zeros_ones():
    a = np.zeros((50, 40))
    init.uniform_(a, -0.3, 0.7, rng=0)
    assert a.min() >= -0.3 and a.max() < 0.7 and a.min() < -0.25 and a.max() > 0.65
    init.constant_(a, 0.25)
    assert np.all(a == 0.25)
    p = Parameter(np.ones((3, 2), np.float32))
    init.zeros_(p)
    assert not p.data.any()
    init.ones_(p)
    assert np.all(p.data == 1.0)


@pytest.mark.parametrize("module", [
    nn.LSTM(3, 4, num_layers=2, bidirectional=True, rng=0),
    nn.LSTMCell(3, 4, rng=0),
], ids=["lstm", "lstmcell"])
def test_lstm_forget_bias(module):
    before = module.state_dict()
    assert init.lstm_forget_bias_(module, 2.0) is module
    H = 4
    n_bias = 0
    for name, p in module.named_parameters():
        if name.startswith("bias_"):
            n_bias += 1
            other = np.r_[0:H, 2 * H:4 * H]
            np.testing.assert_array_equal(p.data[other], before[name][other], err_msg=name)
            np.testing.assert_array_equal(p.data[H:2 * H], 2.0 if name.startswith("bias_ih") else 0.0,
                                          err_msg=name)
        else:
            np.testing.assert_array_equal(p.data, before[name], err_msg=name)
    assert n_bias == (8 if isinstance(module, nn.LSTM) else 2)


def test_lstm_forget_bias_sets_the_forget_gate():
    """With zero weights, zero input and state, the cell is c' = f*c + i*g with f = sigmoid(value)."""
    cell = nn.LSTMCell(2, 3, dtype=np.float64, rng=0)
    for p in cell.parameters():
        p.data[...] = 0.0
    init.lstm_forget_bias_(cell, 3.0)
    c = np.array([[1.0, -2.0, 0.5]])
    _, c1 = cell(np.zeros((1, 2)), (np.zeros((1, 3)), c))
    np.testing.assert_allclose(c1, c / (1 + math.exp(-3.0)), rtol=1e-14)


def test_lstm_forget_bias_errors():
    with pytest.raises(ValueError, match="no LSTM"):
        init.lstm_forget_bias_(nn.GRU(3, 4, rng=0))
    with pytest.raises(ValueError, match="no LSTM"):
        init.lstm_forget_bias_(nn.LSTM(3, 4, bias=False, rng=0))
    with pytest.raises(TypeError, match="value"):
        init.lstm_forget_bias_(nn.LSTM(3, 4, rng=0), "1")
