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


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["nan", "inf"])
def test_nonfinite_padded_steps_are_ignored(backend, name, num_layers, bidirectional, value):
    rnnkit.set_backend(backend)
    m = _layer(name, num_layers=num_layers, bidirectional=bidirectional)
    rng = np.random.default_rng(seed_of(name, backend, num_layers))
    lengths = np.array([5, 2, 3])
    x, state, d_out, d_state = random_problem(m, 5, 3, rng)
    pad = _padded(5, lengths)
    x[pad] = value
    ours = rnnkit_run(m, x, state, lengths, d_out, d_state)
    clean = x.copy()
    clean[pad] = 0.0                                  # what torch's packed sequence sees: nothing there
    ref = torch_reference(m.mode, m, clean, state, lengths, d_out, d_state, False)
    ref["dx"][pad] = 0.0
    for key in ("out", "h_n", "dx"):
        assert np.all(np.isfinite(ours[key])), f"{name} {backend}: non-finite {key}"
    for pname, g in ours["grads"].items():
        assert np.all(np.isfinite(g)), f"{name} {backend}: non-finite gradient of {pname}"
    assert not ours["out"][pad].any() and not ours["dx"][pad].any(), "padded outputs/input gradients not zero"
    assert_results_close(ours, ref, RTOL[np.dtype(np.float64)], f"{name} {backend}")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype, B, H", [(np.float64, 2, 4), (np.float32, 64, 96)], ids=["small", "rows"])
def test_nan_in_a_real_step_is_never_hidden(backend, name, training, dtype, B, H):
    rnnkit.set_backend(backend)
    cls, kw = LAYERS[name]
    m = cls(3, H, dtype=dtype, rng=seed_of(name, H), **kw)
    m.train(training)
    x = np.random.default_rng(seed_of(name, "nan")).standard_normal((4, B, 3)).astype(dtype)
    x[1, 0, 2] = np.nan
    with rnnkit.set_grad_enabled(training):
        out, _ = m(x)
    ref = torch_reference(m.mode, m, x, None, None, None, None, False)["out"]
    assert np.isnan(ref[1:, 0]).all()                 # torch: NaN from that step on, in that sequence
    _finite_parts_agree(out, ref, RTOL[np.dtype(dtype)], f"{name} {backend} out")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("value", [np.inf, -np.inf], ids=["inf", "-inf"])
def test_inf_in_a_real_step_gives_torchs_outputs(backend, name, value):
    rnnkit.set_backend(backend)
    m = _layer(name)
    m.eval()
    x = np.random.default_rng(seed_of(name, "inf")).standard_normal((4, 2, 3))
    x[1, 0, 2] = value
    out, _ = m(x)
    ref = torch_reference(m.mode, m, x, None, None, None, None, False)["out"]
    _finite_parts_agree(out, ref, RTOL[np.dtype(np.float64)], f"{name} {backend} out")
