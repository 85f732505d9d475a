"""Regression tests for bugs found by adversarial QA (fuzzing against PyTorch, bad inputs,
kill-and-resume). Each test names the bug it pins down; all are small and fast."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rnnkit
from rnnkit import nn
from rnnkit.models import SequenceModel
from rnnkit.train import fit, predict


# -- a rejected gradient must not consume the saved forward (Module._peek contract) ----------
def _modules_with_output_shapes():
    return [
        (nn.Linear(3, 2, rng=0), np.ones((4, 3)), (4, 2)),
        (nn.Tanh(), np.ones((4, 3)), (4, 3)),
        (nn.Identity(), np.ones(3), (3,)),
        (nn.Dropout(0.3, rng=0), np.ones((2, 3)), (2, 3)),
        (nn.Embedding(5, 2, rng=0), np.array([1, 2]), (2, 2)),
        (nn.LastStep(), np.ones((3, 2, 4)), (2, 4)),
        (nn.Flatten(), np.ones((2, 3, 4)), (2, 12)),
        (nn.FinalState(), np.ones((1, 2, 4)), (2, 4)),
        (nn.WindowMLP(3, 2, rng=0), np.ones((4, 3, 2)), (4, 1)),
        (nn.Sequential(nn.Linear(3, 2, rng=0), nn.Tanh()), np.ones((4, 3)), (4, 2)),
    ]


@pytest.mark.parametrize("k", range(10))
def test_rejected_d_output_keeps_the_forward(k):
    m, x, out_shape = _modules_with_output_shapes()[k]
    m(x)
    with pytest.raises((ValueError, TypeError), match="d_output"):
        m.backward(np.zeros((7, 7, 7)))
    m.backward(np.ones(out_shape))         # the forward is still there for a correct gradient
    assert len(m._cache_stack) == 0


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_loss_rejected_grad_keeps_the_forward(reduction):
    crit = nn.MSELoss(reduction=reduction)
    x, y = np.array([1.0, 2.0, 3.0]), np.zeros(3)
    crit(x, y)
    with pytest.raises(ValueError, match="grad"):
        crit.backward(np.ones(5))
    d = crit.backward()                    # dL/dx = 2 (x - y) (/ 3 for the mean)
    expected = 2 * x / 3 if reduction == "mean" else 2 * x
    np.testing.assert_allclose(d, expected, rtol=1e-12)


def test_sequence_model_rejected_d_output_keeps_the_forward():
    m = SequenceModel(2, 3, 1, cell="gru", output="last", rng=0, dtype=np.float64)
    y, _ = m(np.ones((2, 4, 2)))
    with pytest.raises(ValueError, match="d_output"):
        m.backward(np.ones((2, 5)))
    m.backward(np.ones_like(y))
    assert len(m._cache_stack) == 0


# -- scalars stay scalars; timedelta is not a number ----------------------------------------
def test_zero_d_prediction_gets_zero_d_gradient():
    crit = nn.MSELoss()
    loss = crit(np.float64(3.0), np.float64(1.0))
    assert loss == 4.0
    d = crit.backward()
    assert d.shape == () and float(d) == 4.0   # d/dx (x - y)^2 = 2 (x - y), as torch for 0-D tensors


def test_cross_entropy_rejects_zero_d_logits():
    with pytest.raises(ValueError, match="class dimension"):
        nn.CrossEntropyLoss()(np.float32(1.0), np.array(0))


def test_layer_rejects_zero_d_and_timedelta_input():
    gru = nn.GRU(3, 2)
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        gru(np.float32(1.0))
    with pytest.raises(TypeError, match="timedelta64"):
        gru(np.zeros((2, 1, 3), "timedelta64[s]"))


# -- files: a truncated or hostile file is a FileFormatError (a ValueError), never a crash ---
def _saved_model_arrays(tmp_path):
    """A model file in the .npz layout of rnnkit 0.1 (version 1), which still loads."""
    from rnnkit.io import model_state

    path = tmp_path / "m.npz"
    arrays = {}
    meta = {"format": "rnnkit.model", "version": 1, "metadata": None,
            "model": model_state(SequenceModel(2, 3, 1, cell="gru", rng=0), arrays, "param/")}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)
    return path, arrays


def test_load_model_truncated_file_is_a_value_error(tmp_path):
    path, _ = _saved_model_arrays(tmp_path)
    cut = tmp_path / "cut.npz"
    cut.write_bytes(path.read_bytes()[:200])          # a zip header and nothing else
    with pytest.raises(ValueError, match="not a readable rnnkit"):
        rnnkit.load_model(cut)


@pytest.mark.parametrize("edit, match", [
    (lambda m: '{"format": "rnnkit.model", "version": 1, "model": ' + "[" * 100000 + "]" * 100000 + "}",
     "corrupt __meta__"),
    (lambda m: m.replace('"version": 1', '"version": "1"'), "version must be an integer"),
    (lambda m: m.replace('"kwargs": {', '"kwargs": [{', 1).replace("}}, ", "}]}, ", 1), "kwargs an object"),
])
def test_load_model_hostile_meta_is_a_value_error(tmp_path, edit, match):
    _, arrays = _saved_model_arrays(tmp_path)
    meta = arrays["__meta__"].tobytes().decode()
    arrays["__meta__"] = np.frombuffer(edit(meta).encode(), np.uint8)
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match=match):
        rnnkit.load_model(bad)


# -- train.predict / fit argument checks ---------------------------------------------------
@pytest.mark.parametrize("X", ["abc", np.zeros((0, 4, 2))])
def test_predict_rejects_no_examples(X):
    with pytest.raises(ValueError, match="X must hold at least one example"):
        predict(SequenceModel(2, 3, 1, rng=0), X)


def test_fit_rejects_bad_val_batch_size():
    X, Y = np.zeros((4, 3, 2)), np.zeros((4, 1))
    with pytest.raises(ValueError, match="val_batch_size"):
        fit(SequenceModel(2, 3, 1, rng=0), (X, Y), loss="mse", val_data=(X, Y), val_batch_size=0, progress=False)


# -- negative seeds and unusable paths: named errors, not NumPy's or a traceback ------------
def test_negative_seed_names_the_argument():
    with pytest.raises(ValueError, match="rng as an int seed must be >= 0"):
        nn.GRU(2, 3, rng=-1)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        rnnkit.datasets.get("parity", n=4, seed=-1)


def test_cli_out_that_is_a_file_is_a_clean_error(tmp_path, capsys):
    from rnnkit.cli import main

    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    rc = main(["train", "--task", "parity", "--out", str(not_a_dir), "--epochs", "1", "--n", "8", "--no-progress"])
    assert rc == 2
    assert "rnnkit train: error:" in capsys.readouterr().err


# -- follow-ups from the QA report ---------------------------------------------------------
def test_sequential_rejects_lengths_nobody_takes():
    from rnnkit import nn
    m = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    with pytest.raises(ValueError, match="lengths"):
        m(np.zeros((4, 2, 3)), lengths=np.array([4, 2]))


def test_fit_progress_must_be_bool():
    from rnnkit.models import SequenceModel
    from rnnkit.train import fit
    model = SequenceModel(1, 4, 1, cell="gru", output="last", rng=0)
    X, Y = np.zeros((4, 3, 1), np.float32), np.zeros((4, 1), np.float32)
    with pytest.raises(TypeError, match="progress"):
        fit(model, (X, Y), loss="mse", progress="x")


def test_atomic_write_removes_stale_temp_files(tmp_path):
    from rnnkit.serialization import write_npz_atomic
    target = tmp_path / "ck.npz"
    stale = tmp_path / ".tmp-ck.npz-abc123"            # what a writer killed mid-write leaves
    stale.write_bytes(b"partial")
    other = tmp_path / ".tmp-other.npz-abc123"         # another file's temp file is not ours
    other.write_bytes(b"x")
    write_npz_atomic(target, {"k": 1}, {"a": np.zeros(2)})
    assert target.exists() and not stale.exists() and other.exists()


# -- what a module saves for backward is its own (review findings) --------------------------
def _grads(m):
    return {n: p.grad.copy() for n, p in m.named_parameters()}


@pytest.mark.parametrize("make", [
    lambda: nn.RNN(3, 4, rng=0),
    lambda: nn.RNN(3, 4, nonlinearity="relu", rng=0),
    lambda: nn.GRU(3, 4, rng=0),
    lambda: nn.LSTM(3, 4, rng=0),
], ids=["rnn_tanh", "rnn_relu", "gru", "lstm"])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_layer_backward_ignores_later_writes_to_input_and_output(make, backend):
    rnnkit.set_backend(backend)
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    ref = make()
    out, _ = ref(x.copy())
    d = np.ones_like(out)
    dx_ref, _ = ref.backward(d)
    m = make()
    buf = x.copy()
    out, _ = m(buf)
    buf[...] = 0.0                                   # the caller reuses its input buffer
    out += 1.0                                       # and writes into the output it got
    dx, _ = m.backward(d)
    np.testing.assert_array_equal(dx, dx_ref)
    for name, g in _grads(ref).items():
        np.testing.assert_array_equal(_grads(m)[name], g, err_msg=name)


def test_cell_backward_ignores_later_writes_to_input():
    x = np.random.default_rng(1).standard_normal((2, 3)).astype(np.float32)
    ref, m = nn.GRUCell(3, 4, rng=0), nn.GRUCell(3, 4, rng=0)
    h = ref(x.copy())
    ref.backward(np.ones_like(h))
    buf = x.copy()
    h = m(buf)
    buf[...] = 0.0
    m.backward(np.ones_like(h))
    np.testing.assert_array_equal(m.weight_ih.grad, ref.weight_ih.grad)


@pytest.mark.parametrize("make", [nn.Tanh, nn.Sigmoid, nn.ReLU, lambda: nn.Linear(3, 3, rng=0)])
def test_feedforward_backward_ignores_later_writes(make):
    x = np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32)
    ref, m = make(), make()
    y = ref(x.copy())
    dx_ref = ref.backward(np.ones_like(y))
    buf = x.copy()
    y = m(buf)
    buf[...] = 5.0
    y += 3.0
    dx = m.backward(np.ones_like(y))
    np.testing.assert_array_equal(dx, dx_ref)
    for name, g in _grads(ref).items():
        np.testing.assert_array_equal(_grads(m)[name], g, err_msg=name)


def test_embedding_backward_ignores_later_writes_to_ids():
    ids = np.array([[1, 2], [3, 1]])
    ref, m = nn.Embedding(5, 2, rng=0), nn.Embedding(5, 2, rng=0)
    ref.backward(np.ones_like(ref(ids.copy())))
    buf = ids.copy()
    y = m(buf)
    buf[...] = 0
    m.backward(np.ones_like(y))
    np.testing.assert_array_equal(m.weight.grad, ref.weight.grad)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")   # the overflow is the point
def test_overflowing_update_rolls_back_weights_and_optimizer_state():
    from rnnkit import optim
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 4, 1)).astype(np.float32)
    Y = X.sum(axis=1)
    model = SequenceModel(1, 4, 1, cell="gru", output="last", rng=0)
    start = model.state_dict()
    opt = optim.Adam(model.parameters(), lr=1e39)          # every update overflows float32
    opt_start = opt.state_dict()
    with pytest.warns(RuntimeWarning, match="update undone"):
        hist = fit(model, (X, Y), loss="mse", optimizer=opt, epochs=1, batch_size=4, rng=0,
                   on_nonfinite="skip", progress=False)
    assert hist["skipped_steps"] == [2]
    for name, a in start.items():
        np.testing.assert_array_equal(model.state_dict()[name], a, err_msg=name)
    assert opt.state_dict()["state"] == opt_start["state"]     # no moment or step count advanced


def test_sequence_model_rejects_nonlinearity_for_gated_cells():
    with pytest.raises(ValueError, match="nonlinearity"):
        SequenceModel(1, 4, 1, cell="lstm", nonlinearity="relu")


def test_streaming_step_casts_float64_and_int_inputs_like_the_general_path():
    cell = nn.LSTMCell(4, 3, rng=0)
    rng = np.random.default_rng(0)
    x, h, c = rng.standard_normal((2, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    with rnnkit.no_grad():
        fast = cell(x, (h, c))                                   # float64 arrays into a float32 cell
        ref = cell(x.astype(np.float32), (h.astype(np.float32), c.astype(np.float32)))
    for a, b in zip(fast, ref):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", ["RNN", "GRU", "LSTM"])
def test_backend_switched_between_forward_and_backward(mode):
    """backward uses the kernels that made the forward's cache (their cache layouts differ)."""
    if "numba" not in rnnkit.kernels.available_backends():
        pytest.skip("numba backend not available")
    before = rnnkit.get_backend()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 16, 8)).astype(np.float32)
    d = rng.standard_normal((6, 16, 64)).astype(np.float32)
    grads = []
    try:
        for switch in (False, True):
            rnnkit.set_backend("numba")
            layer = getattr(nn, mode)(8, 64, rng=np.random.default_rng(0))
            out, _ = layer(x)
            if switch:
                rnnkit.set_backend("numpy")
            dx, _ = layer.backward(d)
            grads.append([dx] + [p.grad for p in layer.parameters()])
    finally:
        rnnkit.set_backend(before)
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
