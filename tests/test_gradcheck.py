"""Every backward against central finite differences in float64 (no torch needed).

The loss is ``sum(out * d_out) + sum(h_n * dh_n) (+ sum(c_n * dc_n))`` with random weights
``d_out``/``d_state``, so ``backward(d_out, d_state)`` must return its gradient. We check the
input gradient, the initial-state gradients and a random subset of the entries of every
parameter gradient. This is the only check for what torch lacks: RNN sigmoid, GRU
``reset_after=False``, merge modes other than concat, dropout with the mask reused.
"""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from helpers import check_fd, random_problem, scalar_loss, seed_of
from rnnkit import nn

T, B, I, H = 5, 3, 3, 4
LENGTHS = np.array([5, 2, 3])
N_ENTRIES = 4          # entries checked per tensor

KINDS = {
    "rnn_tanh": ("RNN", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNN", {"nonlinearity": "relu"}),
    "rnn_sigmoid": ("RNN", {"nonlinearity": "sigmoid"}),
    "gru": ("GRU", {}),
    "gru_reset_before": ("GRU", {"reset_after": False}),
    "lstm": ("LSTM", {}),
    "lstm_proj": ("LSTM", {"proj_size": 2}),
}


def gradcheck_layer(kind_id, *, lengths=None, unbatched=False, dropout_seed=None, **kw):
    """Analytic gradients of a float64 layer against central differences (random entries)."""
    kind, extra = KINDS[kind_id]
    config = f"{kind_id} {kw} lengths={lengths is not None} unbatched={unbatched}"
    seed = seed_of(config)
    layer = getattr(nn, kind)(I, H, dtype=np.float64, rng=seed, **extra, **kw)
    rng = np.random.default_rng(seed)
    x, state, d_out, d_state = random_problem(layer, T, B, rng, unbatched=unbatched)

    def forward():
        if dropout_seed is not None:      # the same dropout mask on every call
            layer.rng = np.random.default_rng(dropout_seed)
        return layer(x, state, lengths=lengths)

    def loss():
        with rnnkit.no_grad():
            out, s_n = forward()
        return scalar_loss(out, s_n, d_out, d_state)

    layer.zero_grad()
    forward()
    dx, d_s0 = layer.backward(d_out, d_state)
    check_fd("dx", dx, loss, x, rng, 2 * N_ENTRIES, config)
    states, d_states = (state, d_s0) if kind == "LSTM" else ((state,), (d_s0,))
    for name, s, ds in zip(("dh0", "dc0"), states, d_states):
        check_fd(name, ds, loss, s, rng, N_ENTRIES, config)
    for name, p in layer.named_parameters():
        check_fd(f"grad of {name}", p.grad, loss, p.data, rng, N_ENTRIES, config)
    return layer


@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("kind_id", list(KINDS))
def test_every_kind_bidirectional_with_lengths(kind_id, backend):
    """On every backend: the NumPy reference and the compiled kernels are both checked."""
    rnnkit.set_backend(backend)
    gradcheck_layer(kind_id, bidirectional=True, lengths=LENGTHS)


@pytest.mark.parametrize("kind_id", list(KINDS))
def test_every_kind_three_layers_batch_first(kind_id):
    gradcheck_layer(kind_id, num_layers=3, batch_first=True)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("kind_id", ["rnn_tanh", "gru_reset_before", "lstm_proj"])
def test_merge_modes(kind_id, merge_mode):
    """merge_mode acts after every layer; two layers so the merged output feeds layer 1."""
    gradcheck_layer(kind_id, num_layers=2, bidirectional=True, merge_mode=merge_mode, lengths=LENGTHS)


@pytest.mark.parametrize("dropout", [0.4, 1.0])
@pytest.mark.parametrize("kind_id", ["rnn_tanh", "gru", "lstm_proj"])
def test_dropout_in_training_with_the_mask_reused(kind_id, dropout):
    layer = gradcheck_layer(kind_id, num_layers=3, bidirectional=True, dropout=dropout, dropout_seed=11)
    assert layer.training


@pytest.mark.parametrize("kind_id", ["rnn_relu", "gru_reset_before", "lstm_proj"])
def test_no_bias_unbatched(kind_id):
    gradcheck_layer(kind_id, num_layers=2, bias=False, unbatched=True)


def test_dropout_mask_actually_changes_the_output():
    """Guard for the dropout checks above: dropout is active in training, off in eval."""
    layer = nn.GRU(I, H, num_layers=2, dropout=0.5, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).standard_normal((T, B, I))
    with rnnkit.no_grad():
        a, _ = layer(x)
        b, _ = layer(x)
        layer.eval()
        c, _ = layer(x)
        d, _ = layer(x)
    assert not np.allclose(a, b), "two training-mode calls should draw different masks"
    np.testing.assert_array_equal(c, d)


# -- cells ----------------------------------------------------------------------------------
CELLS = {
    "rnn_tanh": ("RNNCell", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "rnn_sigmoid": ("RNNCell", {"nonlinearity": "sigmoid"}),
    "gru": ("GRUCell", {}),
    "gru_reset_before": ("GRUCell", {"reset_after": False}),
    "lstm": ("LSTMCell", {}),
}


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("cell_id", list(CELLS))
def test_cell_backward(cell_id, bias, batched):
    name, extra = CELLS[cell_id]
    config = f"{cell_id} bias={bias} batched={batched}"
    seed = seed_of(config)
    cell = getattr(nn, name)(I, H, bias=bias, dtype=np.float64, rng=seed, **extra)
    rng = np.random.default_rng(seed)
    lead = (B,) if batched else ()
    x = rng.standard_normal(lead + (I,))
    h = rng.standard_normal(lead + (H,))
    lstm = name == "LSTMCell"
    c = rng.standard_normal(lead + (H,)) if lstm else None
    dh = rng.standard_normal(lead + (H,))
    dc = rng.standard_normal(lead + (H,)) if lstm else None

    def loss():
        with rnnkit.no_grad():
            s = cell(x, (h, c)) if lstm else cell(x, h)
        return scalar_loss(s[0], s[1], dh, dc) if lstm else float(np.sum(s * dh))

    cell.zero_grad()
    if lstm:
        cell(x, (h, c))
        dx, (dh0, dc0) = cell.backward((dh, dc))
        check_fd("dc0", dc0, loss, c, rng, N_ENTRIES, config)
    else:
        cell(x, h)
        dx, dh0 = cell.backward(dh)
    check_fd("dx", dx, loss, x, rng, N_ENTRIES, config)
    check_fd("dh0", dh0, loss, h, rng, N_ENTRIES, config)
    for pname, p in cell.named_parameters():
        check_fd(f"grad of {pname}", p.grad, loss, p.data, rng, N_ENTRIES, config)
