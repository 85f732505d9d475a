"""Bad arguments raise ValueError/TypeError at the boundary, and the message names the argument.

Each case checks the exception type and a pattern that must appear in the message (the
argument's name, and where useful the expected and the actual value).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import rnnkit
from rnnkit import nn

I, H, T, B = 3, 4, 5, 2


def x_ok(**kw):
    return np.ones((T, B, I), np.float32)


@contextlib.contextmanager
def in_mode(module, mode):
    """Run the block in training mode, eval mode or under rnnkit.no_grad()."""
    module.train(mode != "eval")
    with rnnkit.set_grad_enabled(mode != "no_grad"):
        yield


# -- constructor arguments ------------------------------------------------------------------
CTOR_CASES = [
    # (kind, kwargs, exception, message pattern)
    ("RNN", dict(input_size=0), ValueError, r"input_size must be >= 1, got 0"),
    ("LSTM", dict(input_size=-2), ValueError, r"input_size.*-2"),
    ("GRU", dict(input_size=2.5), TypeError, r"input_size must be an integer.*2\.5"),
    ("GRU", dict(input_size="3"), TypeError, r"input_size"),
    ("LSTM", dict(input_size=True), TypeError, r"input_size"),
    ("RNN", dict(hidden_size=0), ValueError, r"hidden_size must be >= 1, got 0"),
    ("GRU", dict(hidden_size=4.0), TypeError, r"hidden_size"),
    ("LSTM", dict(num_layers=0), ValueError, r"num_layers must be >= 1, got 0"),
    ("RNN", dict(num_layers=1.5), TypeError, r"num_layers"),
    ("LSTM", dict(proj_size=-1), ValueError, r"proj_size must be >= 0, got -1"),
    ("LSTM", dict(proj_size=1.5), TypeError, r"proj_size"),
    ("LSTM", dict(proj_size=H), ValueError, r"proj_size must be smaller than hidden_size.*4.*4"),
    ("LSTM", dict(proj_size=H + 3), ValueError, r"proj_size must be smaller than hidden_size"),
    ("RNN", dict(proj_size=2), ValueError, r"proj_size is only supported by LSTM.*RNN"),
    ("GRU", dict(proj_size=2), ValueError, r"proj_size is only supported by LSTM.*GRU"),
    ("RNN", dict(nonlinearity="gelu"), ValueError, r"nonlinearity must be one of.*'gelu'"),
    ("RNN", dict(nonlinearity=None), ValueError, r"nonlinearity"),
    ("LSTM", dict(dropout=-0.1), ValueError, r"dropout must be in \[0\.0, 1\.0\], got -0\.1"),
    ("GRU", dict(dropout=1.5), ValueError, r"dropout.*1\.5"),
    ("GRU", dict(dropout="0.5"), TypeError, r"dropout"),
    ("GRU", dict(bidirectional=True, merge_mode="max"), ValueError, r"merge_mode must be one of.*'max'"),
    ("LSTM", dict(merge_mode=""), ValueError, r"merge_mode"),
    ("LSTM", dict(bias="yes"), TypeError, r"bias must be a bool"),
    ("RNN", dict(batch_first=None), TypeError, r"batch_first"),
    ("GRU", dict(bidirectional=1), TypeError, r"bidirectional"),
    ("GRU", dict(reset_after="no"), TypeError, r"reset_after"),
    ("LSTM", dict(dtype=np.int32), TypeError, r"dtype must be float32 or float64.*int32"),
    ("LSTM", dict(dtype="float16"), TypeError, r"dtype"),
    ("RNN", dict(rng="seed"), TypeError, r"rng must be"),
    ("RNN", dict(device="cuda"), ValueError, r"device.*'cuda'"),
]


@pytest.mark.parametrize("kind,kw,exc,pattern", CTOR_CASES,
                         ids=[f"{c[0]}-{'-'.join(c[1])}-{i}" for i, c in enumerate(CTOR_CASES)])
def test_layer_constructor_errors(kind, kw, exc, pattern):
    args = {"input_size": I, "hidden_size": H, **kw}
    with pytest.raises(exc, match=pattern):
        getattr(nn, kind)(**args)


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("kw,exc,pattern", [
    (dict(input_size=0), ValueError, "input_size"),
    (dict(hidden_size=-1), ValueError, "hidden_size"),
    (dict(hidden_size=2.0), TypeError, "hidden_size"),
    (dict(bias=1), TypeError, "bias"),
    (dict(dtype=np.complex128), TypeError, "dtype"),
])
def test_cell_constructor_errors(kind, kw, exc, pattern):
    with pytest.raises(exc, match=pattern):
        getattr(nn, kind)(**{"input_size": I, "hidden_size": H, **kw})


def test_rnn_cell_unknown_nonlinearity():
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(I, H, nonlinearity="softsign")


def test_dropout_with_one_layer_warns():
    with pytest.warns(UserWarning, match="dropout"):
        nn.GRU(I, H, dropout=0.3)


# -- forward: input, state, lengths --------------------------------------------------------
@pytest.mark.parametrize("x,exc,pattern", [
    (np.ones(I), ValueError, r"input must be 3-D.*got shape \(3,\)"),
    (np.ones((T, B, I, 1)), ValueError, r"input must be 3-D.*\(5, 2, 3, 1\)"),
    (np.ones((T, B, I + 1)), ValueError, r"input expected 3 features.*\(5, 2, 4\)"),
    (np.ones((T, I + 2)), ValueError, r"input expected 3 features"),
    (np.ones((0, B, I)), ValueError, r"input must hold at least one step.*\(0, 2, 3\)"),
    (np.ones((T, 0, I)), ValueError, r"input must hold at least one.*\(5, 0, 3\)"),
    (np.ones((0, I)), ValueError, r"input must hold at least one step"),
    (np.full((T, B, I), "a"), TypeError, r"input must be a real numeric array.*<U1"),
    (np.ones((T, B, I), dtype=object), TypeError, r"input must be a real numeric array.*object"),
    (np.ones((T, B, I), dtype=complex), TypeError, r"input must be a real numeric array.*complex"),
    ("abc", TypeError, r"input must be a numeric array, got str"),
    (None, TypeError, r"input must be a numeric array"),
    ([[1, 2], [3]], TypeError, r"input must be a numeric array"),
])
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("mode", ["train", "eval", "no_grad"])
def test_bad_input(kind, x, exc, pattern, mode):
    layer = getattr(nn, kind)(I, H, rng=0)
    with pytest.raises(exc, match=pattern), in_mode(layer, mode):
        layer(x)


def test_bad_input_batch_first_message_names_layout():
    with pytest.raises(ValueError, match=r"\(B, T, I\)"):
        nn.GRU(I, H, batch_first=True, rng=0)(np.ones(3))


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
def test_bad_state_single(kind):
    layer = getattr(nn, kind)(I, H, num_layers=2, rng=0)
    x = x_ok()
    with pytest.raises(ValueError, match=r"h0 expected shape \(2, 2, 4\), got \(1, 2, 4\)"):
        layer(x, np.zeros((1, B, H)))
    with pytest.raises(ValueError, match=r"h0 expected shape \(2, 2, 4\), got \(2, 4\)"):
        layer(x, np.zeros((2, H)))
    with pytest.raises(TypeError, match=rf"{kind} state must be an array h0 or None.*tuple"):
        layer(x, (np.zeros((2, B, H)), np.zeros((2, B, H))))
    with pytest.raises(TypeError, match="h0"):
        layer(x, np.full((2, B, H), "x"))
    with pytest.raises(ValueError, match=r"h0 expected shape \(2, 4\)"):    # unbatched input
        layer(np.ones((T, I)), np.zeros((2, B, H)))


def test_bad_state_lstm():
    lstm = nn.LSTM(I, H, proj_size=2, rng=0)
    x = x_ok()
    with pytest.raises(TypeError, match=r"LSTM state must be a tuple \(h0, c0\) or None, got ndarray"):
        lstm(x, np.zeros((1, B, 2)))
    with pytest.raises(TypeError, match="LSTM state must be a tuple"):
        lstm(x, (np.zeros((1, B, 2)),))
    with pytest.raises(ValueError, match=r"h0 expected shape \(1, 2, 2\), got \(1, 2, 4\)"):
        lstm(x, (np.zeros((1, B, H)), np.zeros((1, B, H))))
    with pytest.raises(ValueError, match=r"c0 expected shape \(1, 2, 4\), got \(1, 2, 2\)"):
        lstm(x, (np.zeros((1, B, 2)), np.zeros((1, B, 2))))
    with pytest.raises(TypeError, match="c0"):
        lstm(x, (np.zeros((1, B, 2)), np.zeros((1, B, H), complex)))


@pytest.mark.parametrize("lengths,exc,pattern", [
    ([5], ValueError, r"lengths expected shape \(2,\).*got \(1,\)"),
    ([5, 3, 2], ValueError, r"lengths expected shape \(2,\)"),
    ([[5, 3]], ValueError, r"lengths expected shape \(2,\).*\(1, 2\)"),
    (5, ValueError, r"lengths expected shape"),
    ([5, 2.5], TypeError, r"lengths must be integers.*float"),
    (["5", "3"], TypeError, r"lengths must be integers"),
    ([True, True], TypeError, r"lengths must be integers.*bool"),
    ([5, np.nan], TypeError, r"lengths must be integers"),
    ([5, 0], ValueError, r"lengths must be in \[1, 5\].*min 0"),
    ([5, -1], ValueError, r"lengths must be in \[1, 5\]"),
    ([6, 3], ValueError, r"lengths must be in \[1, 5\].*max 6"),
])
def test_bad_lengths(lengths, exc, pattern):
    gru = nn.GRU(I, H, rng=0)
    with pytest.raises(exc, match=pattern):
        gru(x_ok(), lengths=lengths)


def test_lengths_with_unbatched_input():
    with pytest.raises(ValueError, match="lengths requires batched input"):
        nn.LSTM(I, H, rng=0)(np.ones((T, I)), lengths=[T])


# -- backward -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_backward_without_forward(kind):
    layer = getattr(nn, kind)(I, H, rng=0)
    with pytest.raises(RuntimeError, match="without a matching forward"):
        layer.backward(np.ones((T, B, H)))


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_bad_output_gradient_and_retry(kind, batch_first):
    layer = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, batch_first=batch_first, rng=0)
    out, _ = layer(np.ones((B, T, I) if batch_first else (T, B, I)))
    wrong = np.ones((T, B, H))           # H instead of 2H features
    with pytest.raises(ValueError, match=rf"d_output expected shape {tuple(out.shape)}".replace("(", r"\(")
                       .replace(")", r"\)")):
        layer.backward(wrong)
    with pytest.raises(TypeError, match="d_output"):
        layer.backward(np.full(out.shape, "g"))
    # the saved forward survives a rejected gradient: a corrected call still works
    dx, _ = layer.backward(np.ones_like(out))
    assert dx.shape == ((B, T, I) if batch_first else (T, B, I))


def test_bad_state_gradient():
    lstm = nn.LSTM(I, H, num_layers=2, rng=0)
    out, _ = lstm(x_ok())
    d = np.ones_like(out)
    with pytest.raises(TypeError, match=r"LSTM d_state must be a tuple \(dh_n, dc_n\)"):
        lstm.backward(d, np.zeros((2, B, H)))
    with pytest.raises(ValueError, match=r"dh_n expected shape \(2, 2, 4\), got \(1, 2, 4\)"):
        lstm.backward(d, (np.zeros((1, B, H)), None))
    with pytest.raises(ValueError, match=r"dc_n expected shape \(2, 2, 4\), got \(2, 2, 5\)"):
        lstm.backward(d, (None, np.zeros((2, B, H + 1))))
    lstm.backward(d, (None, np.zeros((2, B, H))))
    gru = nn.GRU(I, H, rng=0)
    out, _ = gru(x_ok())
    with pytest.raises(TypeError, match="GRU d_state must be an array"):
        gru.backward(np.ones_like(out), (np.zeros((1, B, H)),))
    with pytest.raises(ValueError, match=r"dh_n expected shape \(1, 2, 4\)"):
        gru.backward(np.ones_like(out), np.zeros((1, 1, H)))


def test_unbatched_gradient_shapes():
    rnn = nn.RNN(I, H, rng=0)
    out, _ = rnn(np.ones((T, I)))
    with pytest.raises(ValueError, match=r"d_output expected shape \(5, 4\), got \(5, 1, 4\)"):
        rnn.backward(np.ones((T, 1, H)))
    with pytest.raises(ValueError, match=r"dh_n expected shape \(1, 4\)"):
        rnn.backward(np.ones((T, H)), np.ones((1, 1, H)))
    rnn.backward(np.ones((T, H)), np.ones((1, H)))


# -- cells ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("mode", ["train", "eval", "no_grad"])
def test_cell_bad_inputs(kind, mode):
    """The same checks whether or not the forward keeps a cache (inference may take a lean path)."""
    cell = getattr(nn, kind)(I, H, rng=0)
    lstm = kind == "LSTMCell"
    with in_mode(cell, mode):
        cell_bad_inputs(cell, lstm)


def cell_bad_inputs(cell, lstm):
    with pytest.raises(ValueError, match=r"input expected shape \(B, 3\) or \(3,\), got \(2, 4\)"):
        cell(np.ones((B, I + 1)))
    with pytest.raises(ValueError, match=r"input expected shape.*\(5, 2, 3\)"):
        cell(np.ones((T, B, I)))
    with pytest.raises(ValueError, match="at least one sample"):
        cell(np.ones((0, I)))
    with pytest.raises(TypeError, match="input"):
        cell(np.ones((B, I), complex))
    with pytest.raises(RuntimeError, match="without a matching forward"):
        cell.backward((np.ones((B, H)), None) if lstm else np.ones((B, H)))
    if lstm:
        with pytest.raises(TypeError, match=r"LSTMCell state must be a tuple \(hx, cx\)"):
            cell(np.ones((B, I)), np.zeros((B, H)))
        with pytest.raises(ValueError, match=r"cx expected shape \(2, 4\), got \(2, 5\)"):
            cell(np.ones((B, I)), (np.zeros((B, H)), np.zeros((B, H + 1))))
    else:
        with pytest.raises(TypeError, match="state must be an array h"):
            cell(np.ones((B, I)), (np.zeros((B, H)),))
        with pytest.raises(ValueError, match=r"hx expected shape \(2, 4\), got \(3, 4\)"):
            cell(np.ones((B, I)), np.zeros((3, H)))
        with pytest.raises(ValueError, match=r"hx expected shape \(4,\)"):
            cell(np.ones(I), np.zeros((B, H)))


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
def test_cell_bad_backward_and_retry(kind):
    cell = getattr(nn, kind)(I, H, rng=0)
    lstm = kind == "LSTMCell"
    cell(np.ones((B, I)))
    if lstm:
        with pytest.raises(TypeError, match=r"must be a tuple \(dh, dc\)"):
            cell.backward(np.ones((B, H)))
        with pytest.raises(ValueError, match=r"dc expected shape \(2, 4\), got \(4,\)"):
            cell.backward((np.ones((B, H)), np.ones(H)))
        dx, _ = cell.backward((np.ones((B, H)), None))
    else:
        with pytest.raises(TypeError, match="must be an array dh"):
            cell.backward((np.ones((B, H)),))
        with pytest.raises(ValueError, match=r"dh expected shape \(2, 4\), got \(2, 5\)"):
            cell.backward(np.ones((B, H + 1)))
        dx, _ = cell.backward(np.ones((B, H)))      # the saved step survived the rejections
    assert dx.shape == (B, I)
