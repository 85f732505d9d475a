"""Truncated BPTT: windows over parallel streams, the carried state, the cut gradient, resets,
a char-RNN that learns, and exact resume."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import no_grad, optim
from rnnkit.models import CharRNN, SequenceModel
from rnnkit.train import (
    Callback,
    ModelCheckpoint,
    evaluate_tbptt,
    fit_tbptt,
    stream_windows,
)


def test_windows_cut_contiguous_streams():
    x = np.arange(23)
    wins = list(stream_windows(x, x + 100, k=3, batch_size=3))
    assert [w["x"].shape for w in wins] == [(3, 3), (3, 3), (3, 1)]    # n = 23 // 3 = 7 steps per stream
    np.testing.assert_array_equal(np.concatenate([w["x"] for w in wins], axis=1),
                                  np.arange(21).reshape(3, 7))
    np.testing.assert_array_equal(wins[1]["y"], wins[1]["x"] + 100)
    assert [w["reset"] for w in wins] == [True, False, False]
    assert [w["reset"] for w in stream_windows(x, x, k=2, batch_size=3, reset_every=2)] == [True, False, True, False]
    with pytest.raises(ValueError, match="fewer than batch_size"):
        list(stream_windows(x[:2], x[:2], k=2, batch_size=3))


class StepLog(Callback):
    """Keeps every step's gradients (they are still in p.grad when on_batch_end runs)."""

    def __init__(self):
        self.grads = []

    def on_batch_end(self, trainer, step, logs):
        self.grads.append({n: p.grad.copy() for n, p in trainer.model.named_parameters()})


def features(S=41, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((S, 2))
    y = np.cumsum(x[:, :1], axis=0) * 0.1                          # (S, 1): needs the whole past
    return x, y


def test_state_is_carried_between_windows():
    x, y = features()
    model = SequenceModel(2, 5, 1, cell="gru", dtype=np.float64, rng=0)
    hist = fit_tbptt(model, x, y, k=4, batch_size=2, loss="mse", optimizer=optim.SGD(model.parameters(), lr=0.0),
                     progress=False)
    xs, ys = x[:40].reshape(2, 20, 2), y[:40].reshape(2, 20, 1)    # the two streams
    with no_grad():
        full, _ = model(xs)                                         # one pass over each whole stream
        per_window = [np.mean((full[:, s:s + 4] - ys[:, s:s + 4]) ** 2) for s in range(0, 20, 4)]
        fresh = [np.mean((model(xs[:, s:s + 4])[0] - ys[:, s:s + 4]) ** 2) for s in range(0, 20, 4)]
    np.testing.assert_allclose(hist.steps, per_window, rtol=1e-12)
    assert not np.allclose(hist.steps[1:], fresh[1:], rtol=1e-3)    # a zero state each window would differ
    evald = evaluate_tbptt(model, x, y, k=4, batch_size=2, loss="mse")
    np.testing.assert_allclose(evald["loss"], np.mean((full - ys) ** 2), rtol=1e-12)


def test_gradient_is_cut_at_the_window_boundary_against_torch():
    torch = pytest.importorskip("torch")
    x, y = features(S=24, seed=1)
    model = SequenceModel(2, 4, 1, cell="lstm", dtype=np.float64, rng=2)
    log = StepLog()
    fit_tbptt(model, x, y, k=5, batch_size=2, loss="mse", optimizer=optim.SGD(model.parameters(), lr=0.0),
              callbacks=[log], progress=False)

    lstm = torch.nn.LSTM(2, 4, batch_first=True, dtype=torch.float64)
    head = torch.nn.Linear(4, 1, dtype=torch.float64)
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.copy_(torch.tensor(getattr(model.rnn, name).data))
        head.weight.copy_(torch.tensor(model.head.weight.data))
        head.bias.copy_(torch.tensor(model.head.bias.data))
    xs = torch.tensor(x.reshape(2, 12, 2))
    ys = torch.tensor(y.reshape(2, 12, 1))
    state = None
    for w, s in enumerate(range(0, 12, 5)):
        lstm.zero_grad()
        head.zero_grad()
        out, state = lstm(xs[:, s:s + 5], state)
        loss = torch.nn.functional.mse_loss(head(out), ys[:, s:s + 5])
        loss.backward()
        state = tuple(t.detach() for t in state)                    # truncation: no gradient across windows
        for name, p in lstm.named_parameters():
            np.testing.assert_allclose(log.grads[w]["rnn." + name], p.grad.numpy(), rtol=1e-9, atol=1e-13,
                                       err_msg=f"window {w} {name}")
        np.testing.assert_allclose(log.grads[w]["head.weight"], head.weight.grad.numpy(), rtol=1e-9, atol=1e-13)
    assert len(log.grads) == 3


def test_state_resets_per_sequence_and_on_request():
    x, y = features(S=20)
    model = SequenceModel(2, 3, 1, cell="rnn", dtype=np.float64, rng=0)
    sgd0 = optim.SGD(model.parameters(), lr=0.0)
    two = fit_tbptt(model, [x[:10], x[10:]], [y[:10], y[10:]], k=5, batch_size=1, loss="mse", optimizer=sgd0,
                    progress=False)
    every = fit_tbptt(model, x, y, k=5, batch_size=1, loss="mse", optimizer=sgd0, reset_every=2, progress=False)
    with no_grad():
        starts = [np.mean((model(x[None, s:s + 5])[0] - y[None, s:s + 5]) ** 2) for s in (0, 10)]
        carried = np.mean((model(x[None, :15])[0][:, 10:] - y[None, 10:15]) ** 2)
    np.testing.assert_allclose([two.steps[0], two.steps[2]], starts, rtol=1e-12)   # zero state at each sequence
    np.testing.assert_allclose(every.steps[2], starts[1], rtol=1e-12)              # reset after 2 windows
    assert abs(carried - starts[1]) > 1e-6


def test_char_rnn_learns_a_pattern():
    text = "hello world, " * 60
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text])
    model = CharRNN(len(chars), hidden_size=24, num_layers=1, cell="gru", embedding_dim=8, rng=0)
    hist = fit_tbptt(model, ids[:640], k=16, batch_size=8, loss="cross_entropy",
                     optimizer=optim.Adam(model.parameters(), lr=2e-2), epochs=6, metrics=["bpc", "accuracy"],
                     clip_grad_norm=5.0, val_data=ids[640:], progress=False)
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["val_bpc"][-1] < 1.0 < np.log2(len(chars))          # far below a uniform guess (3.3 bits)
    prime = ids[:5]
    out = model.generate(prime, 12, temperature=0.1, rng=0)
    assert "".join(chars[i] for i in out) == text[5:17]


def test_tbptt_resume_is_exact(tmp_path):
    ids = np.random.default_rng(0).integers(0, 5, size=300)

    def make(seed):
        m = CharRNN(5, hidden_size=6, num_layers=2, cell="lstm", embedding_dim=3, dropout=0.2, rng=seed)
        return m, optim.RMSprop(m.parameters(), lr=1e-2)

    def go(m, o, epochs, resume=None):
        return fit_tbptt(m, ids, k=7, batch_size=4, loss="cross_entropy", optimizer=o, epochs=epochs,
                         callbacks=[ModelCheckpoint(tmp_path / "t.npz")], progress=False, resume=resume)

    full = go(*make(0), epochs=3)
    go(*make(0), epochs=1)
    resumed = go(*make(5), epochs=3, resume=tmp_path / "t.npz")
    assert resumed.steps == full.steps and len(full.steps) == 3 * 11


def test_skipped_window_does_not_poison_the_carried_state():
    x, y = features(S=20)
    x[7] = np.nan                                                   # inside window 2 (steps 5..9)
    model = SequenceModel(2, 3, 1, cell="gru", rng=0)
    with pytest.warns(RuntimeWarning, match="non-finite loss .* at step 2"):
        hist = fit_tbptt(model, x, y, k=5, batch_size=1, loss="mse", on_nonfinite="skip", progress=False)
    assert hist.steps[1] is None
    assert all(s is not None and np.isfinite(s) for s in hist.steps[2:])
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
