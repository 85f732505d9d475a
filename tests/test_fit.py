"""fit / evaluate: learning, batching, masks, non-finite handling, callbacks, history, metrics,
and SequenceModel's backward against finite differences and PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit import nn, optim
from rnnkit.models import SequenceModel
from rnnkit.train import (
    MAE,
    RMSE,
    Accuracy,
    BitsPerCharacter,
    Callback,
    EarlyStopping,
    History,
    LearningRateScheduler,
    NonFiniteError,
    Perplexity,
    evaluate,
    fit,
    predict,
)


def sum_task(n=64, T=12, seed=0):
    """Regression: y = sum of the sequence / 4 (needs memory over all T steps)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, T, 1)).astype(np.float32)
    return X, X.sum(axis=1) / 4                                     # (n, T, 1), (n, 1)


def gru_model(seed=0, **kw):
    return SequenceModel(1, 16, 1, cell="gru", output="last", rng=seed, **kw)


# -- learning -----------------------------------------------------------------------------
def test_gru_learns_sum_task():
    X, Y = sum_task()
    model = gru_model()
    hist = fit(model, (X, Y), loss="mse", optimizer=optim.Adam(model.parameters(), lr=1e-2), epochs=15,
               batch_size=16, rng=0, metrics=["rmse"], progress=False)
    first, last = hist["loss"][0], hist["loss"][-1]
    assert last < 0.25 * first, (first, last)
    assert len(hist.steps) == 15 * 4
    np.testing.assert_allclose(hist["rmse"][-1], math.sqrt(last), rtol=0.2)


def test_sgd_batch_one_and_progress_bar(capsys):
    X, Y = sum_task(n=8, T=5)
    model = gru_model()
    before = evaluate(model, (X, Y), loss="mse")["loss"]
    hist = fit(model, (X, Y), loss=nn.MSELoss(), optimizer=optim.SGD(model.parameters(), lr=0.05), epochs=4,
               batch_size=1, rng=0, progress=True)
    assert len(hist.steps) == 32                                     # one step per example
    assert evaluate(model, (X, Y), loss="mse")["loss"] < before
    assert "epoch 4/4" in capsys.readouterr().err


def test_shuffling_follows_the_seed():
    X, Y = sum_task(n=24, T=4)

    def run(seed):
        m = gru_model()
        return fit(m, (X, Y), loss="mse", optimizer=optim.SGD(m.parameters(), lr=0.1), epochs=2, batch_size=5,
                   rng=seed, progress=False).steps

    assert run(7) == run(7)
    assert run(7) != run(8)
    m = gru_model()
    steps = fit(m, (X, Y), loss="mse", optimizer=optim.SGD(m.parameters(), lr=0.0), epochs=1, batch_size=5,
                shuffle=False, progress=False).steps
    expected = [evaluate(gru_model(), (X[i:i + 5], Y[i:i + 5]), loss="mse")["loss"] for i in range(0, 24, 5)]
    np.testing.assert_allclose(steps, expected, rtol=1e-6)


def test_padded_steps_do_not_count():
    """Many-to-many with lengths: garbage in padded targets changes nothing."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 5, 2)).astype(np.float32)
    L = np.array([5, 3, 1, 4, 2, 5])
    Y = np.cumsum(X, axis=1)[..., :1]                                   # (6, 5, 1)
    Yg = Y.copy()
    for b, n in enumerate(L):
        Yg[b, n:] = 1e6
    model = SequenceModel(2, 4, 1, cell="lstm", rng=1)
    res = evaluate(model, (X, Yg, L), loss="mse", metrics=["mae"])
    model.eval()
    sq, ab = [], []
    for b, n in enumerate(L):                                          # each sequence alone, unpadded
        y, _ = model(X[b:b + 1, :n])
        sq.append(((y - Y[b:b + 1, :n]) ** 2).ravel())
        ab.append(np.abs(y - Y[b:b + 1, :n]).ravel())
    np.testing.assert_allclose(res["loss"], np.concatenate(sq).mean(), rtol=1e-5)
    np.testing.assert_allclose(res["mae"], np.concatenate(ab).mean(), rtol=1e-5)
    model.train()
    hist = fit(model, (X, Yg, L), loss="mse", optimizer=optim.Adam(model.parameters(), lr=1e-2), epochs=3,
               batch_size=3, rng=0, progress=False)
    assert all(math.isfinite(s) and s < 100 for s in hist.steps)


def test_predict_matches_forward():
    X, _ = sum_task(n=10, T=3)
    model = gru_model()
    p = predict(model, X, batch_size=4)
    model.eval()
    np.testing.assert_allclose(p, model(X)[0], rtol=1e-6)
    assert model.training is False and not model.rnn._cache_stack


# -- non-finite values --------------------------------------------------------------------
def poison(model, at_step, name="rnn.weight_hh_l0"):
    """Make the gradient of parameter ``name`` NaN on the ``at_step``-th backward."""
    calls = {"n": 0}
    params = dict(model.named_parameters())
    original = model.backward

    def backward(d):
        calls["n"] += 1
        r = original(d)
        if calls["n"] == at_step:
            params[name].grad[0, 0] = np.nan
        return r

    model.backward = backward


class WeightLog(Callback):
    def __init__(self):
        self.after = []

    def on_batch_end(self, trainer, step, logs):
        self.after.append(trainer.model.state_dict())


def test_poisoned_gradient_stops_naming_step_and_parameter():
    X, Y = sum_task(n=20, T=4)
    model = gru_model()
    poison(model, at_step=3)
    log = WeightLog()
    with pytest.raises(NonFiniteError, match=r"gradient of parameter 'rnn\.weight_hh_l0' at step 3") as err:
        fit(model, (X, Y), loss="mse", epochs=2, batch_size=4, rng=0, callbacks=[log], progress=False)
    assert err.value.step == 3 and err.value.name == "rnn.weight_hh_l0" and err.value.epoch == 1
    assert "epoch 1, batch 3" in str(err.value)
    assert len(log.after) == 2
    for name, p in model.named_parameters():                        # weights as after step 2, finite
        np.testing.assert_array_equal(p.data, log.after[-1][name], err_msg=name)


def test_skip_mode_skips_the_step_and_continues():
    X, Y = sum_task(n=20, T=4)
    model = gru_model()
    poison(model, at_step=3)
    with pytest.warns(RuntimeWarning, match="step 3"):
        hist = fit(model, (X, Y), loss="mse", epochs=2, batch_size=4, rng=0, on_nonfinite="skip", progress=False)
    assert hist.steps[2] is None and all(s is not None for i, s in enumerate(hist.steps) if i != 2)
    assert hist["skipped_steps"] == [1, 0]
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())
    assert History.from_dict(hist.to_dict()).steps[2] is None


def test_nonfinite_loss_is_named():
    X, Y = sum_task(n=8, T=3)
    Y[5] = np.nan
    model = gru_model()
    with pytest.raises(NonFiniteError, match="non-finite loss .* at step 2") as err:
        fit(model, (X, Y), loss="mse", epochs=1, batch_size=4, shuffle=False, progress=False)
    assert err.value.name == "loss"


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_overflowing_update_is_undone():
    X, Y = sum_task(n=8, T=3)
    model = gru_model()
    start = model.state_dict()
    with pytest.raises(NonFiniteError, match="after the update") as err:
        fit(model, (X, Y), loss="mse", optimizer=optim.SGD(model.parameters(), lr=1e300), epochs=1, batch_size=8,
            progress=False)
    assert err.value.step == 1
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, start[name], err_msg=name)


# -- callbacks, history ---------------------------------------------------------------------
def test_early_stopping_waits_patience_epochs():
    X, Y = sum_task(n=8, T=3)
    model = gru_model()
    stop = EarlyStopping(monitor="val_loss", patience=2)
    hist = fit(model, (X, Y), loss="mse", optimizer=optim.SGD(model.parameters(), lr=0.0), epochs=20, batch_size=8,
               val_data=(X, Y), callbacks=[stop], progress=False)
    assert len(hist) == 4 and stop.stopped_epoch == 4 and stop.best_epoch == 1


class EpochWeights(Callback):
    def __init__(self):
        self.weights = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.weights[epoch] = trainer.model.state_dict()


def test_early_stopping_restores_best_weights():
    X, Y = sum_task(n=16, T=4)
    model = gru_model()
    seen = EpochWeights()
    # 'max' on a falling loss: epoch 1 stays the best, so training stops after 1 + patience + 1 epochs
    stop = EarlyStopping(monitor="loss", patience=1, mode="max", restore_best_weights=True)
    hist = fit(model, (X, Y), loss="mse", optimizer=optim.Adam(model.parameters(), lr=1e-2), epochs=10,
               batch_size=8, rng=0, callbacks=[seen, stop], progress=False)
    assert len(hist) == 3 and hist["loss"][2] < hist["loss"][0]
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.data, seen.weights[1][name], err_msg=name)


def test_lr_schedule_callback():
    X, Y = sum_task(n=8, T=3)
    model = gru_model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = LearningRateScheduler(optim.StepLR(opt, step_size=2, gamma=0.5))
    hist = fit(model, (X, Y), loss="mse", optimizer=opt, epochs=5, batch_size=4, rng=0, callbacks=[sched],
               progress=False)
    np.testing.assert_allclose(hist["lr"], [0.1, 0.1, 0.05, 0.05, 0.025])
    opt2 = optim.SGD(model.parameters(), lr=0.1)
    per_step = LearningRateScheduler(optim.ExponentialLR(opt2, gamma=0.5), interval="step")
    fit(model, (X, Y), loss="mse", optimizer=opt2, epochs=2, batch_size=4, rng=0, callbacks=[per_step],
        progress=False)
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 4)
    opt3 = optim.SGD(model.parameters(), lr=0.0)
    plateau = LearningRateScheduler(optim.ReduceLROnPlateau(opt3, factor=0.5, patience=0), monitor="val_loss")
    fit(model, (X, Y), loss="mse", optimizer=opt3, epochs=3, batch_size=8, val_data=(X, Y), callbacks=[plateau],
        progress=False)
    assert opt3.param_groups[0]["lr"] == 0.0     # 0 halves to 0; the call with a metric went through


def test_history_saves_and_loads_json(tmp_path):
    X, Y = sum_task(n=8, T=3)
    model = gru_model()
    hist = fit(model, (X, Y), loss="mse", epochs=2, batch_size=4, rng=0, val_data=(X, Y), metrics=["mae"],
               progress=False)
    hist.save(tmp_path / "h.json")
    back = History.load(tmp_path / "h.json")
    assert back.steps == hist.steps and back.epochs == hist.epochs
    assert set(hist.history) >= {"epoch", "loss", "mae", "val_loss", "val_mae", "lr"}


def test_bad_arguments_name_the_argument():
    X, Y = sum_task(n=8, T=3)
    model = gru_model()
    with pytest.raises(ValueError, match="Y must have 8 examples"):
        fit(model, (X, Y[:5]), loss="mse", progress=False)
    with pytest.raises(ValueError, match="on_nonfinite"):
        fit(model, (X, Y), loss="mse", on_nonfinite="ignore", progress=False)
    with pytest.raises(TypeError, match="batch_size"):
        fit(model, (X, Y), loss="mse", batch_size=2.5, progress=False)
    with pytest.raises(ValueError, match="loss must be"):
        fit(model, (X, Y), loss="hinge", progress=False)
    with pytest.raises(ValueError, match="val_loss"):
        fit(model, (X, Y), loss="mse", callbacks=[EarlyStopping()], progress=False)


# -- metrics ------------------------------------------------------------------------------
def test_metrics_against_direct_formulas():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 5, 3))
    ids = rng.integers(0, 3, size=(4, 5))
    mask = rng.random((4, 5)) < 0.7
    acc = Accuracy()
    acc.update(logits[:2], ids[:2], mask[:2])
    acc.update(logits[2:], ids[2:], mask[2:])
    assert acc.compute() == pytest.approx(np.mean((logits.argmax(-1) == ids)[mask]))
    pred, tgt = rng.standard_normal((4, 5, 2)), rng.standard_normal((4, 5, 2))
    r, m = RMSE(), MAE()
    for k in (0, 2):
        r.update(pred[k:k + 2], tgt[k:k + 2], mask[k:k + 2])
        m.update(pred[k:k + 2], tgt[k:k + 2], mask[k:k + 2])
    assert r.compute() == pytest.approx(np.sqrt(np.mean(((pred - tgt) ** 2)[mask])))
    assert m.compute() == pytest.approx(np.mean(np.abs(pred - tgt)[mask]))
    binary = Accuracy()
    binary.update(np.array([2.0, -1.0, 0.5]), np.array([1.0, 1.0, 0.0]))
    assert binary.compute() == pytest.approx(1 / 3)


def test_bits_per_character_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((3, 6, 5))
    ids = rng.integers(0, 5, size=(3, 6))
    ce = torch.nn.functional.cross_entropy(torch.tensor(logits).reshape(-1, 5), torch.tensor(ids).reshape(-1)).item()
    b, p = BitsPerCharacter(), Perplexity()
    b.update(logits, ids)
    p.update(logits, ids)
    assert b.compute() == pytest.approx(ce / math.log(2), rel=1e-12)
    assert p.compute() == pytest.approx(math.exp(ce), rel=1e-12)


# -- SequenceModel backward ---------------------------------------------------------------
CONFIGS = [
    dict(cell="gru", output="last", bidirectional=True),
    dict(cell="lstm", output="last", bidirectional=True, merge_mode="mul", num_layers=2),
    dict(cell="lstm", output="last", proj_size=2),
    dict(cell="rnn", output="sequence", bidirectional=True, merge_mode="ave"),
    dict(cell="gru", output="sequence", num_embeddings=6),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[str(sorted(c.items())) for c in CONFIGS])
def test_sequence_model_gradients_finite_differences(cfg):
    rng = np.random.default_rng(3)
    model = SequenceModel(2, 3, 2, dtype=np.float64, rng=4, **cfg)
    B, T = 3, 4
    x = rng.integers(0, 6, size=(B, T)) if "num_embeddings" in cfg else rng.standard_normal((B, T, 2))
    lengths = np.array([4, 2, 3])
    y, _ = model(x, lengths=lengths)
    w = rng.standard_normal(y.shape)
    model.zero_grad()
    dx = model.backward(w)

    def f():
        with_grad = model(x, lengths=lengths)[0]
        model.clear_cache()
        return float(np.sum(with_grad * w))

    eps = 1e-6
    for name, p in model.named_parameters():
        num = np.zeros_like(p.data)
        for i in np.ndindex(p.shape):
            old = p.data[i]
            p.data[i] = old + eps
            fp = f()
            p.data[i] = old - eps
            fm = f()
            p.data[i] = old
            num[i] = (fp - fm) / (2 * eps)
        np.testing.assert_allclose(p.grad, num, rtol=1e-5, atol=1e-7, err_msg=f"{name} {cfg}")
    if "num_embeddings" in cfg:
        assert dx is None
        return
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        num[i] = (fp - fm) / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=1e-5, atol=1e-7, err_msg=f"dx {cfg}")


def test_sequence_model_many_to_one_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    model = SequenceModel(3, 4, 2, cell="lstm", output="last", bidirectional=True, num_layers=2, dtype=np.float64,
                          rng=6)
    x = rng.standard_normal((3, 5, 3))
    lengths = np.array([5, 2, 4])
    y, _ = model(x, lengths=lengths)
    w = rng.standard_normal(y.shape)
    model.zero_grad()
    dx = model.backward(w)

    lstm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=torch.float64)
    head = torch.nn.Linear(8, 2, dtype=torch.float64)
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            p.copy_(torch.tensor(getattr(model.rnn, name).data))
        head.weight.copy_(torch.tensor(model.head.weight.data))
        head.bias.copy_(torch.tensor(model.head.bias.data))
    xt = torch.tensor(x, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    _, (h_n, _) = lstm(packed)
    yt = head(torch.cat([h_n[-2], h_n[-1]], dim=1))                  # last layer, both directions
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg="dx")
    for name, p in lstm.named_parameters():
        np.testing.assert_allclose(getattr(model.rnn, name).grad, p.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(model.head.weight.grad, head.weight.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_unreduced_loss_is_refused():
    X, Y = sum_task(n=4, T=3)
    with pytest.raises(TypeError, match="reduce to a number"):
        fit(gru_model(), (X, Y), loss=nn.MSELoss(reduction="none"), progress=False)
