"""Bad input refused before the first optimizer step (weights untouched), messages that name the
argument, atomic resume, Ctrl-C stopping at a safe point with TrainingInterrupted."""

from __future__ import annotations

import math
import os
import signal

import numpy as np
import pytest

from rnnkit import optim
from rnnkit.models import CharRNN, SequenceModel
from rnnkit.train import (
    Callback,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    NonFiniteError,
    TrainingInterrupted,
    fit,
    fit_tbptt,
    load_checkpoint_model,
    save_checkpoint,
)
from rnnkit.train.interrupt import SigintGuard
from rnnkit.train.trainer import Trainer


def classify_data(n=20, T=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, T, 2))
    return X, (X[:, :, 0].sum(axis=1) > 0).astype(np.int64), rng.integers(1, T + 1, size=n)


def classifier(seed=0):
    return SequenceModel(2, 4, 2, cell="gru", output="last", dtype=np.float64, rng=seed)


def unchanged(m, before):
    for name, p in m.named_parameters():
        np.testing.assert_array_equal(p.data, before[name], err_msg=name)


def refused(m, exc, match, *args, **kw):
    """fit(m, ...) raises ``exc`` matching ``match`` and no weight has changed."""
    before = m.state_dict()
    kw.setdefault("progress", False)
    with pytest.raises(exc, match=match):
        fit(m, *args, **kw)
    unchanged(m, before)


# -- the whole dataset before the first step ------------------------------------------------
def test_a_zero_length_in_a_later_example_is_refused_up_front():
    X, Y, L = classify_data()
    L[17] = 0
    refused(classifier(), ValueError, r"train_data: lengths\[17\] is 0", (X, Y, L), loss="cross_entropy",
            batch_size=4, shuffle=False)
    L[17] = 9
    refused(classifier(), ValueError, r"lengths\[17\] is 9, but every sequence needs 1 to 6", (X, Y, L),
            loss="cross_entropy")


def test_an_out_of_range_class_id_in_a_later_example_is_refused_up_front():
    X, Y, L = classify_data()
    Y[15] = 2                                                         # the model gives 2 classes: 0 and 1
    refused(classifier(), ValueError, r"Y\[15\] is class id 2, outside \[0, 1\]", (X, Y, L), loss="cross_entropy",
            batch_size=4, shuffle=False)
    Y[15] = -100                                                      # ignore_index is fine
    fit(classifier(), (X, Y, L), loss="cross_entropy", progress=False)


def test_per_step_class_ids_and_token_ids_are_checked_up_front():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 5, size=(12, 7))
    tgt = rng.integers(0, 5, size=(12, 7))
    tgt[9, 3] = 5
    m = SequenceModel(3, 4, 5, cell="lstm", num_embeddings=5, dtype=np.float64, rng=2)
    refused(m, ValueError, r"Y\[9, 3\] is class id 5", (ids, tgt), loss="cross_entropy", batch_size=2, shuffle=False)
    tgt[9, 3] = 1
    ids[10, 6] = 7                                                    # beyond the embedding table
    refused(m, ValueError, r"train_data \(examples .*10.*\): input ids must be in \[0, 4\]", (ids, tgt),
            loss="cross_entropy", batch_size=2, shuffle=False)


def test_a_metric_that_does_not_fit_is_refused_up_front():
    X, Y, L = classify_data()
    refused(classifier(), ValueError, "rmse", (X, Y, L), loss="cross_entropy", metrics=["rmse"])


def test_the_validation_set_is_checked_up_front_and_may_be_smaller_than_a_batch():
    X, Y, L = classify_data()
    Lv = L[:3].copy()
    Lv[2] = 0
    refused(classifier(), ValueError, r"val_data: lengths\[2\] is 0", (X, Y, L), loss="cross_entropy",
            val_data=(X[:3], Y[:3], Lv))
    m = classifier()
    hist = fit(m, (X, Y, L), loss="cross_entropy", batch_size=8, val_data=(X[:3], Y[:3], L[:3]),
               val_batch_size=8, progress=False)
    m.eval()
    logits = np.concatenate([m(X[i:i + 1, :L[i]])[0] for i in range(3)])          # (3, 2), each alone
    z = logits - logits.max(axis=1, keepdims=True)
    nll = -(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))[np.arange(3), Y[:3]]
    assert hist["val_loss"][0] == pytest.approx(nll.mean(), rel=1e-10)


def test_paths_and_monitored_values_are_checked_before_anything(tmp_path):
    X, Y, L = classify_data()
    missing = tmp_path / "no" / "such" / "dir" / "c.npz"
    refused(classifier(), ValueError, "the directory .*no/such/dir does not exist", (X, Y, L), loss="cross_entropy",
            callbacks=[ModelCheckpoint(missing)])
    (tmp_path / "d.npz").mkdir()
    refused(classifier(), ValueError, "is a directory", (X, Y, L), loss="cross_entropy",
            callbacks=[ModelCheckpoint(tmp_path / "d.npz")])
    with pytest.raises(ValueError, match="file name only"):
        ModelCheckpoint(tmp_path / "e{epoch}" / "c.npz")
    refused(classifier(), ValueError, "EarlyStopping: monitored value 'val_loss' is not in the epoch logs",
            (X, Y, L), loss="cross_entropy", callbacks=[EarlyStopping()])
    m = classifier()
    opt = optim.SGD(m.parameters(), lr=0.1)
    plateau = LearningRateScheduler(optim.ReduceLROnPlateau(opt), monitor="val_accuracy")
    refused(m, ValueError, "LearningRateScheduler: monitored value 'val_accuracy'", (X, Y, L), loss="cross_entropy",
            optimizer=opt, val_data=(X, Y, L), callbacks=[plateau])


def test_a_refused_resume_leaves_everything_as_it_was(tmp_path):
    X, Y, L = classify_data()
    m = classifier()
    opt = optim.Adam(m.parameters(), lr=1e-2)
    fit(m, (X, Y, L), loss="cross_entropy", optimizer=opt, progress=False)
    trainer = Trainer(m, "cross_entropy", opt, progress=False, rng=0)
    next(iter(opt.state.values()))["exp_avg"][...] = np.nan          # a corrupt moment in the file
    save_checkpoint(tmp_path / "bad.npz", trainer)
    other = classifier(seed=5)
    other_opt = optim.Adam(other.parameters(), lr=1e-2)
    before = other.state_dict()
    with pytest.raises(ValueError, match=r"exp_avg'\] holds non-finite values"):
        fit(other, (X, Y, L), loss="cross_entropy", optimizer=other_opt, epochs=2, progress=False,
            resume=tmp_path / "bad.npz")
    unchanged(other, before)
    assert not other_opt.state


def test_an_empty_or_too_short_tbptt_stream_is_refused():
    m = CharRNN(5, hidden_size=4, num_layers=1, cell="gru", embedding_dim=3, rng=0)
    for bad, match in (([], "holds no sequences"), ([np.array([1, 2]), np.array([3])], r"sequence\[1\] needs at least"),
                       (np.zeros(0, np.int64), "needs at least 2 steps")):
        with pytest.raises(ValueError, match=match):
            fit_tbptt(m, bad, k=4, loss="cross_entropy", progress=False)
    with pytest.raises(ValueError, match="holds no sequences"):
        fit_tbptt(m, [], k=4, loss="cross_entropy", layout="documents", progress=False)
    with pytest.raises(ValueError, match=r"sequence\[0\] has 3 steps, fewer than batch_size=4"):
        fit_tbptt(m, np.arange(4) % 5, k=4, batch_size=4, loss="cross_entropy", progress=False)
    ids = np.arange(40) % 5
    ids[30] = 6                                                       # a later token beyond the vocabulary
    before = m.state_dict()
    with pytest.raises(ValueError, match=r"sequence\[0\] at step 30"):
        fit_tbptt(m, ids, k=4, batch_size=2, loss="cross_entropy", progress=False)
    unchanged(m, before)


# -- messages that name the argument ----------------------------------------------------------
@pytest.mark.parametrize(("kw", "exc", "match"), [
    (dict(clip_grad_norm="1"), TypeError, "clip_grad_norm must be None or a number > 0, got str '1'"),
    (dict(clip_grad_norm=0.0), ValueError, "clip_grad_norm"),
    (dict(clip_grad_norm=math.nan), ValueError, "clip_grad_norm"),
    (dict(metrics="accuracy"), TypeError, "metrics must be a list"),
    (dict(callbacks=EarlyStopping()), TypeError, "callbacks must be a list"),
    (dict(steps_per_epoch=3), ValueError, "steps_per_epoch=3 applies to a stream"),
    (dict(val_every=2), ValueError, "val_every=2 needs val_data"),
    (dict(max_steps=0), ValueError, "max_steps must be >= 1"),
    (dict(epochs=1.5), TypeError, "epochs must be an integer"),
])
def test_bad_arguments_name_the_argument(kw, exc, match):
    X, Y, L = classify_data()
    refused(classifier(), exc, match, (X, Y, L), loss="cross_entropy", **kw)


@pytest.mark.parametrize(("make", "match"), [
    (lambda: EarlyStopping(min_delta=math.nan), "min_delta must be finite"),
    (lambda: EarlyStopping(min_delta=-1), "min_delta must be >= 0"),
    (lambda: EarlyStopping(min_delta="0.1"), "min_delta must be a real number"),
    (lambda: EarlyStopping(monitor=3), "monitor must be the name"),
    (lambda: EarlyStopping(restore_best_weights="yes"), "restore_best_weights must be a bool"),
    (lambda: ModelCheckpoint(3), "path must be a file path"),
    (lambda: ModelCheckpoint("c.npz", save_best_only=1), "save_best_only must be a bool"),
])
def test_callback_arguments_name_the_argument(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


# -- Ctrl-C ---------------------------------------------------------------------------------------
class Log(Callback):
    """The weights and the optimizer state after every step; ``action(step)`` after logging."""

    def __init__(self, action=None):
        self.weights, self.opt, self.action = [], [], action

    def on_batch_end(self, trainer, step, logs):
        self.weights.append(trainer.model.state_dict())
        self.opt.append(trainer.optimizer.state_dict())
        if self.action is not None:
            self.action(step)


def interrupt_at(n):
    def action(step):
        if step == n:
            raise KeyboardInterrupt
    return action


def build(seed=0):
    m = classifier(seed)
    return m, optim.Adam(m.parameters(), lr=1e-2)


def go(m, opt, callbacks, epochs=3, resume=None, path=None):
    X, Y, L = classify_data(18)
    return fit(m, (X, Y, L), loss="cross_entropy", optimizer=opt, epochs=epochs, batch_size=6, rng=1,
               callbacks=callbacks + ([ModelCheckpoint(path)] if path else []), progress=False, resume=resume)


def same_opt(a, b):
    assert a["param_groups"] == b["param_groups"]
    for k in a["state"]:
        for n, v in a["state"][k].items():
            np.testing.assert_array_equal(v, b["state"][k][n], err_msg=f"{k} {n}")


def test_a_keyboard_interrupt_from_a_callback_stops_cleanly_and_resumes(tmp_path):
    full = go(*build(), [Log()], epochs=3)
    path = tmp_path / "c.npz"
    m, opt = build()
    log = Log(interrupt_at(5))                                        # 3 steps per epoch: inside epoch 2
    with pytest.raises(TrainingInterrupted) as info:
        go(m, opt, [log], path=path)
    stop = info.value
    assert isinstance(stop, KeyboardInterrupt)
    assert (stop.epoch, stop.step, stop.checkpoint) == (2, 5, str(path))
    assert "interrupted at epoch 2, step 5" in str(stop) and f"resume={str(path)!r}" in str(stop)
    unchanged(m, log.weights[-1])                                    # as after step 5
    same_opt(opt.state_dict(), log.opt[-1])
    assert stop.history.steps == full.steps[:5]
    last = stop.history.epochs[-1]
    assert (last["batches"], last["complete"], last["interrupted"]) == (2, False, True)
    unchanged(load_checkpoint_model(path), log.weights[2])           # the file is still epoch 1's
    m2, opt2 = build(seed=7)
    resumed = go(m2, opt2, [Log()], resume=path, path=path)
    assert resumed.steps == full.steps                                # exact from the last complete epoch


def test_a_keyboard_interrupt_from_a_batch_generator_keeps_the_last_step():
    def batches():
        for i in range(10):
            if i == 4:
                raise KeyboardInterrupt
            X, Y, L = classify_data(5, seed=i)
            yield X, Y, L

    m, opt = build()
    log = Log()
    with pytest.raises(TrainingInterrupted) as info:
        fit(m, batches(), loss="cross_entropy", optimizer=opt, callbacks=[log], progress=False)
    assert info.value.step == 4 and info.value.checkpoint is None and "no checkpoint" in str(info.value)
    unchanged(m, log.weights[-1])


def test_a_keyboard_interrupt_inside_a_step_changes_nothing():
    m, opt = build()
    calls = {"n": 0}
    forward = m.forward

    def flaky(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 5:                                           # the dry run is call 1; step 4's forward
            raise KeyboardInterrupt
        return forward(*a, **kw)

    m.forward = flaky
    log = Log()
    with pytest.raises(TrainingInterrupted) as info:
        go(m, opt, [log])
    assert info.value.step == 3
    unchanged(m, log.weights[-1])
    same_opt(opt.state_dict(), log.opt[-1])
    assert not m.rnn._cache_stack                                     # no forward left half-used


def test_ctrl_c_is_deferred_to_the_end_of_the_step():
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        m, opt = build()
        log = Log(lambda step: os.kill(os.getpid(), signal.SIGINT) if step == 2 else None)
        with pytest.raises(TrainingInterrupted) as info:
            go(m, opt, [log])
        assert info.value.step == 2 and len(log.weights) == 2         # the rest of step 2 ran, then it stopped
        unchanged(m, log.weights[-1])
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler    # put back
    finally:
        signal.signal(signal.SIGINT, old)


def test_the_guard_defers_a_first_press_and_shields_the_commit():
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with SigintGuard() as guard:
            signal.raise_signal(signal.SIGINT)
            assert guard.requested                                    # the first press only asks
            guard.critical = True
            signal.raise_signal(signal.SIGINT)                        # during a commit: still nothing raised
            guard.critical = False
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)                    # a second press outside it raises
    finally:
        signal.signal(signal.SIGINT, old)

    guards, shielded = [], []

    class Grab(Callback):
        def on_train_begin(self, trainer):
            guards.append(trainer._guard)

    m, opt = build()
    step_if_finite = opt.step_if_finite

    def watched():
        shielded.append(guards[0].critical)
        return step_if_finite()

    opt.step_if_finite = watched
    go(m, opt, [Grab()], epochs=1)
    assert shielded == [True, True, True]                             # every commit ran shielded


# -- never NaN weights, with any optimizer --------------------------------------------------------
class Foreign:
    """An optimizer from elsewhere: step() and state_dict(), no step_if_finite."""

    def __init__(self, params, lr):
        self.inner = optim.SGD(params, lr=lr, momentum=0.9)
        self.param_groups = self.inner.param_groups

    def step(self):
        self.inner.step()

    def state_dict(self):
        return self.inner.state_dict()

    def load_state_dict(self, state):
        self.inner.load_state_dict(state)


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value")
def test_a_foreign_optimizer_is_undone_by_copies():
    X, Y, L = classify_data()
    m = SequenceModel(2, 4, 2, cell="gru", output="last", rng=0)       # float32: lr * grad overflows
    opt = Foreign(list(m.parameters()), lr=1e300)
    before = m.state_dict()
    with pytest.raises(NonFiniteError, match="after the update"):
        fit(m, (X, Y, L), loss="cross_entropy", optimizer=opt, progress=False)
    unchanged(m, before)
    assert not opt.inner.state
