"""NaN and inf semantics of the recurrent layers, with PyTorch (packed sequences) as the oracle.

- Padded steps (``t >= lengths[b]``) are ignored: whatever they hold, NaN and inf included,
  the outputs, final states and every gradient equal PyTorch's, which never sees them
  (``pack_padded_sequence``): finite, padded outputs and input gradients zero.
- NaN in a real step is never hidden: it reaches the same outputs and states as in
  PyTorch, in training and in inference, in both backends; inf gives PyTorch's values.
"""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from helpers import RTOL, assert_results_close, random_problem, rnnkit_run, seed_of, torch_reference
from rnnkit import nn

pytest.importorskip("torch", reason="torch (the oracle of these tests) is not installed")

LAYERS = {
    "rnn_tanh": (nn.RNN, {}), "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, {}), "lstm_proj": (nn.LSTM, {"proj_size": 2}), "gru": (nn.GRU, {}),
}
BACKENDS = ["numpy", "numba"]


def _layer(name, dtype=np.float64, **extra):
    cls, kw = LAYERS[name]
    return cls(3, 4, dtype=dtype, rng=seed_of(name), **kw, **extra)


def _padded(T, lengths):
    return np.arange(T)[:, None] >= np.asarray(lengths)[None, :]          # (T, B)


def _finite_parts_agree(ours, ref, rtol, what):
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg=f"{what}: NaN in other places")
    np.testing.assert_array_equal(np.isinf(ours), np.isinf(ref), err_msg=f"{what}: inf in other places")
    ok = np.isfinite(ref)
    np.testing.assert_allclose(ours[ok], ref[ok], rtol=rtol, atol=rtol, err_msg=what)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
def test_finite_padded_steps_match_packed_sequences(backend, name, num_layers, bidirectional):
    """The baseline of the NaN cases below: junk (finite) in padded steps is ignored."""
    rnnkit.set_backend(backend)
    m = _layer(name, num_layers=num_layers, bidirectional=bidirectional)
    rng = np.random.default_rng(seed_of(name, backend, num_layers))
    lengths = np.array([5, 2, 3])
    x, state, d_out, d_state = random_problem(m, 5, 3, rng)
    x[_padded(5, lengths)] = 1e3
    ours = rnnkit_run(m, x, state, lengths, d_out, d_state)
    ref = torch_reference(m.mode, m, x, state, lengths, d_out, d_state, False)
    assert_results_close(ours, ref, RTOL[np.dtype(np.float64)], f"{name} {backend}")
