"""Checkpoints: exact resume, atomic writes, refusal of non-finite weights and of mismatched runs."""

from __future__ import annotations

import os

import numpy as np
import pytest

import rnnkit.io._archive
from rnnkit import optim
from rnnkit.io import read_archive
from rnnkit.models import SequenceModel
from rnnkit.serialization import FileFormatError
from rnnkit.train import (
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    NonFiniteError,
    fit,
    load_checkpoint_model,
    save_checkpoint,
)
from rnnkit.train.trainer import Trainer


def data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((30, 6, 2)).astype(np.float32)
    Y = (X[:, :, 0].sum(axis=1) > 0).astype(np.int64)               # (30,) class ids
    L = rng.integers(2, 7, size=30)
    return X, Y, L


def build(seed):
    """A fresh run: model with dropout (its rng matters), Adam, a StepLR schedule, early stopping."""
    model = SequenceModel(2, 8, 2, cell="lstm", num_layers=2, dropout=0.3, output="last", rng=seed)
    opt = optim.Adam(model.parameters(), lr=5e-3)
    sched = LearningRateScheduler(optim.StepLR(opt, step_size=1, gamma=0.7))
    stop = EarlyStopping(monitor="val_loss", patience=10, restore_best_weights=True)
    return model, opt, [sched, stop]


def run(model, opt, callbacks, epochs, rng, resume=None):
    X, Y, L = data()
    return fit(model, (X, Y, L), loss="cross_entropy", optimizer=opt, epochs=epochs, batch_size=7, rng=rng,
               val_data=(X[:10], Y[:10], L[:10]), metrics=["accuracy"], callbacks=callbacks, progress=False,
               resume=resume)


def test_resume_reproduces_the_uninterrupted_run(tmp_path):
    full_model, opt, cbs = build(seed=0)
    full = run(full_model, opt, cbs, epochs=5, rng=42)

    model, opt, cbs = build(seed=0)
    ckpt = ModelCheckpoint(tmp_path / "run.npz")
    first = run(model, opt, cbs + [ckpt], epochs=2, rng=42)
    assert first.steps == full.steps[: len(first.steps)]

    # a new "process": every object built anew, even from other seeds; the checkpoint restores them
    model2, opt2, cbs2 = build(seed=123)
    resumed = run(model2, opt2, cbs2 + [ModelCheckpoint(tmp_path / "run.npz")], epochs=5, rng=999,
                  resume=tmp_path / "run.npz")
    assert len(resumed.steps) == len(full.steps) == 5 * 5
    assert resumed.steps == full.steps                                # exact, step for step
    for key in ("loss", "val_loss", "accuracy", "val_accuracy", "lr"):
        assert resumed[key] == full[key], key
    for (name, p), q in zip(full_model.named_parameters(), model2.parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)


def test_resume_final_weights_equal(tmp_path):
    model, opt, cbs = build(seed=1)
    run(model, opt, cbs, epochs=3, rng=5)
    m1, o1, c1 = build(seed=1)
    run(m1, o1, c1 + [ModelCheckpoint(tmp_path / "c.npz")], epochs=1, rng=5)
    m2, o2, c2 = build(seed=7)
    run(m2, o2, c2 + [ModelCheckpoint(tmp_path / "c.npz")], epochs=3, rng=0, resume=tmp_path / "c.npz")
    for (name, p), q in zip(model.named_parameters(), m2.parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)


def test_crash_during_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model, opt, cbs = build(seed=0)
    path = tmp_path / "ckpt.npz"
    run(model, opt, cbs + [ModelCheckpoint(path)], epochs=1, rng=0)
    saved = {n: p.data.copy() for n, p in model.named_parameters()}

    real_write = rnnkit.io._archive.write_container

    def crash_midway(f, description, arrays):
        real_write(f, description, dict(list(arrays.items())[:3]))   # part of the file, then the crash
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(rnnkit.io._archive, "write_container", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        run(model, opt, cbs + [ModelCheckpoint(path)], epochs=2, rng=0, resume=path)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["ckpt.npz"]               # the temp file is gone
    old = load_checkpoint_model(path)
    for name, p in old.named_parameters():
        np.testing.assert_array_equal(p.data, saved[name], err_msg=name)
    m, o, c = build(seed=3)                                           # and the full state still resumes
    hist = run(m, o, c + [ModelCheckpoint(path)], epochs=1, rng=0, resume=path)
    assert len(hist) == 1


def test_nonfinite_weights_are_never_written(tmp_path):
    model, opt, cbs = build(seed=0)
    path = tmp_path / "ckpt.npz"
    trainer = Trainer(model, "cross_entropy", opt, callbacks=cbs, progress=False, rng=0)
    save_checkpoint(path, trainer)
    before = path.read_bytes()
    model.head.weight.data[0, 0] = np.inf
    with pytest.raises(NonFiniteError, match="head.weight"):
        save_checkpoint(path, trainer)
    assert path.read_bytes() == before


def test_resume_refuses_a_different_setup(tmp_path):
    model, opt, cbs = build(seed=0)
    path = tmp_path / "ckpt.npz"
    run(model, opt, cbs + [ModelCheckpoint(path)], epochs=1, rng=0)
    m, o, c = build(seed=0)
    with pytest.raises(ValueError, match="callbacks"):
        run(m, o, c, epochs=2, rng=0, resume=path)
    m, _, c = build(seed=0)
    with pytest.raises(ValueError, match="optimizer is Adam"):
        run(m, optim.SGD(m.parameters(), lr=0.1), c + [ModelCheckpoint(path)], epochs=2, rng=0, resume=path)
    other = SequenceModel(2, 8, 2, cell="gru", num_layers=2, dropout=0.3, output="last", rng=0)
    o = optim.Adam(other.parameters(), lr=5e-3)
    c = [LearningRateScheduler(optim.StepLR(o, 1, 0.7)), EarlyStopping(patience=10), ModelCheckpoint(path)]
    with pytest.raises(ValueError, match="checkpoint model .*'lstm'.* differs"):
        run(other, o, c, epochs=2, rng=0, resume=path)
    junk = tmp_path / "junk.npz"
    np.savez(junk, x=np.zeros(2))
    with pytest.raises(FileFormatError):
        load_checkpoint_model(junk)


def test_checkpoint_file_is_plain_data(tmp_path):
    model, opt, cbs = build(seed=0)
    run(model, opt, cbs + [ModelCheckpoint(tmp_path / "e{epoch}.npz", every=2)], epochs=4, rng=0)
    assert sorted(os.listdir(tmp_path)) == ["e2.npz", "e4.npz"]
    meta, arrays = read_archive(tmp_path / "e4.npz", "rnnkit.checkpoint")    # no pickle anywhere
    assert all(a.dtype != object for a in arrays.values())
    assert any(k.startswith("model/") for k in arrays)
    rebuilt = load_checkpoint_model(tmp_path / "e4.npz")
    for (name, p), q in zip(model.named_parameters(), rebuilt.parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)


def test_save_best_only(tmp_path):
    model, opt, cbs = build(seed=0)
    best = ModelCheckpoint(tmp_path / "best.npz", save_best_only=True, monitor="val_loss")
    hist = run(model, opt, cbs + [best], epochs=4, rng=0)
    assert best.tracker.best == min(hist["val_loss"])
    assert best.last_path == str(tmp_path / "best.npz")
