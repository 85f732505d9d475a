"""CharLM checkpoints: a run killed after its 2nd checkpoint and resumed ends as the run never
interrupted (bit for bit without a time budget; under a fake clock with one); the schedule's
and the budget's clocks across a resume; refusals; ``rnnkit train --task generate --resume``."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rnnkit
from helpers import die_after_checkpoint
from rnnkit.estimators import CharLM
from rnnkit.estimators._schedule import CosineDecay
from rnnkit.estimators._training import MaxTime, TrainingClock
from rnnkit.serialization import read_npz, unpack
from rnnkit.train import Trainer
from rnnkit.train.checkpoint import CHECKPOINT_FORMAT
from test_cli_files import run, run_json, write_texts

TEXT = "".join(f"line {i}: the cat sat on the mat, {i * 7 % 13} times.\n" for i in range(40))
# 80 % of ~1500 characters for training: 4 streams of ~300 steps, 30 windows of 10 per pass;
# epochs of 7 windows end inside a pass and wrap around it in epoch 5.
PARAMS = dict(hidden_size=12, num_layers=2, dropout=0.3, bptt=10, batch_size=4, steps_per_epoch=7, max_epochs=6,
              lr=5e-3, patience=50, reduce_lr_patience=0, validation_fraction=0.2, random_state=3)


def _same_run(a: CharLM, b: CharLM) -> None:
    assert a.history_.steps == b.history_.steps
    for key in ("loss", "val_loss", "lr"):
        assert a.history_.history[key] == b.history_.history[key], key
    assert a.best_epoch_ == b.best_epoch_
    for (n, p), (_, q) in zip(a.model_.named_parameters(), b.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


def _killed_then_resumed(params, ckpt, monkeypatch) -> CharLM:
    with monkeypatch.context() as m:
        die_after_checkpoint(m, epoch=2)
        with pytest.raises(RuntimeError, match="killed"):
            CharLM(**params).fit(TEXT, checkpoint=ckpt)
    return CharLM(**params).fit(TEXT, checkpoint=ckpt, resume=True)


def _walk_state(path) -> dict:
    meta, arrays = read_npz(path, CHECKPOINT_FORMAT)
    (walk,) = [c for c in meta["callbacks"] if c["class"] == "StreamWalk"]
    return unpack(walk["state"], arrays, "walk")


@pytest.mark.parametrize("schedule, lr", [("plateau", 3.0), ("cosine", 5e-3)])
def test_a_killed_run_resumes_to_the_same_weights_bit_for_bit(schedule, lr, tmp_path, monkeypatch):
    params = {**PARAMS, "lr_schedule": schedule, "lr": lr}
    full = CharLM(**params).fit(TEXT)
    assert len(full.history_.epochs) == 6 and len(full.history_.steps) == 42
    if schedule == "plateau":     # a rate this high stalls in epoch 5: the halving after it is part of the resume
        assert full.history_.history["lr"] == [3.0] * 5 + [1.5]
    ckpt = tmp_path / "ckpt.npz"
    resumed = _killed_then_resumed(params, ckpt, monkeypatch)
    _same_run(resumed, full)
    assert resumed.val_bpc_ == full.val_bpc_
    assert _walk_state(ckpt)["position"] == 42     # the last checkpoint, after epoch 6: 6 * 7 windows


def test_the_checkpoint_holds_the_walk_position_inside_a_pass(tmp_path, monkeypatch):
    ckpt = tmp_path / "ckpt.npz"
    with monkeypatch.context() as m:
        die_after_checkpoint(m, epoch=2)
        with pytest.raises(RuntimeError, match="killed"):
            CharLM(**PARAMS).fit(TEXT, checkpoint=ckpt)
    walk = _walk_state(ckpt)
    n_train = len(TEXT) - round(0.2 * len(TEXT))                   # one document: its tail is held out
    assert walk["position"] == 14 and walk["chars"] == n_train and (walk["streams"], walk["k"]) == (4, 10)


class _FakeClock:
    """Each training step takes exactly one second; nothing else moves the clock."""

    def __init__(self, t0: float):
        self.t = t0

    def __call__(self) -> float:
        return self.t


def _fake_time(monkeypatch, t0: float) -> None:
    clock = _FakeClock(t0)
    step = Trainer.train_step

    def timed_step(self, *args, **kwargs):
        clock.t += 1.0
        return step(self, *args, **kwargs)

    monkeypatch.setattr(TrainingClock, "now", staticmethod(clock))
    monkeypatch.setattr(Trainer, "train_step", timed_step)


def test_a_time_budget_goes_on_from_the_seconds_spent_before_the_checkpoint(tmp_path, monkeypatch):
    params = {**PARAMS, "max_epochs": 10, "max_time": 9.5}          # lr_schedule 'auto': cosine over the time
    with monkeypatch.context() as m:
        _fake_time(m, 0.0)
        full = CharLM(**params).fit(TEXT)
    assert len(full.history_.steps) == 10                           # stopped by the step ending at 10 s > 9.5 s
    lr = full.history_.history["lr"]                                # at the start of epochs 1 and 2 (after 7 s)
    assert lr[0] == 5e-3 and lr[1] == pytest.approx(5e-3 * (1 + math.cos(math.pi * 7 / 9.5)) / 2, rel=1e-12)
    ckpt = tmp_path / "ckpt.npz"
    with monkeypatch.context() as m:
        _fake_time(m, 1000.0)                                       # a clock of another origin
        die_after_checkpoint(m, epoch=1)
        with pytest.raises(RuntimeError, match="killed"):
            CharLM(**params).fit(TEXT, checkpoint=ckpt)
    with monkeypatch.context() as m:
        _fake_time(m, 50.0)                                         # the resumed sitting: 3 s left
        resumed = CharLM(**params).fit(TEXT, checkpoint=ckpt, resume=True)
    _same_run(resumed, full)


def test_the_clocks_continue_from_a_checkpoint_state(monkeypatch):
    now = _FakeClock(100.0)
    monkeypatch.setattr(TrainingClock, "now", staticmethod(now))
    sched = CosineDecay(2.0, total_steps=100, floor=0.0, seconds=10.0)
    trainer = Trainer(rnnkit.nn.Linear(1, 1, rng=0), "mse", callbacks=[sched], progress=False)
    sched.setup(trainer)
    sched.load_state_dict({"done": 10, "elapsed": 5.0})            # time (0.5) ahead of the steps (0.1)
    sched.on_train_begin(trainer)
    assert sched.progress() == 0.5 and trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1.0, abs=1e-15)
    now.t = 107.5
    assert sched.state_dict() == {"done": 10, "elapsed": 12.5}
    assert sched.progress() == 1.0
    steps = CosineDecay(2.0, total_steps=4)                         # the estimators' step clock, floor 0.01
    steps.setup(trainer)
    steps.load_state_dict({"done": 2})                             # a checkpoint without seconds
    steps.on_train_begin(trainer)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(2.0 * (0.01 + 0.99 * 0.5), rel=1e-12)
    limit = MaxTime(8.0)
    limit.setup(trainer)
    limit.load_state_dict({})                                       # written before MaxTime kept its seconds
    limit.load_state_dict({"elapsed": 7.0})
    limit.on_train_begin(trainer)
    limit.on_batch_end(trainer, 1, {})
    assert not trainer.stop_training
    now.t += 1.0
    limit.on_batch_end(trainer, 2, {})
    assert trainer.stop_training and limit.expired
    for bad in ({"elapsed": -1.0}, {"elapsed": "5"}, {"elapsed": math.inf}, [5]):
        with pytest.raises(ValueError, match="'elapsed' >= 0"):
            limit.load_state_dict(bad)
    with pytest.raises(ValueError, match="needs a budget"):
        CosineDecay(1.0)


def test_refusals(tmp_path, monkeypatch):
    ckpt = tmp_path / "ckpt.npz"
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        CharLM(**PARAMS).fit(TEXT, resume=True)
    with pytest.raises(ValueError, match="needs an int random_state"):
        CharLM(**{**PARAMS, "random_state": None}).fit(TEXT, checkpoint=ckpt)
    with monkeypatch.context() as m:
        die_after_checkpoint(m, epoch=1)
        with pytest.raises(RuntimeError, match="killed"):
            CharLM(**PARAMS).fit(TEXT, checkpoint=ckpt)
    other = TEXT.replace("cat", "act")                              # the same characters, another text
    with pytest.raises(ValueError, match="walked another text or layout"):
        CharLM(**PARAMS).fit(other, checkpoint=ckpt, resume=True)
    with pytest.raises(ValueError, match="walked another text or layout"):
        CharLM(**{**PARAMS, "batch_size": 3}).fit(TEXT, checkpoint=ckpt, resume=True)


def test_cli_generate_resumes_a_killed_run(tmp_path, monkeypatch):
    texts = tmp_path / "texts"
    write_texts(texts)
    args = ["--task", "generate", "--data", texts, "--hidden-size", 8, "--bptt", 8, "--batch-size", 4,
            "--max-epochs", 4, "--param", "steps_per_epoch=5", "--no-progress"]
    full = run_json("train", *args, "--out", tmp_path / "full")
    rd = tmp_path / "run"
    with monkeypatch.context() as m:
        die_after_checkpoint(m, epoch=2)
        code, _, err = run("train", *args, "--out", rd)
    assert code != 0 and "killed" in err and (rd / "checkpoint.npz").exists()
    resumed = run_json("train", "--out", rd, "--resume")
    assert resumed["epochs"] == full["epochs"] == 4 and resumed["held_out"] == full["held_out"]
    a, b = rnnkit.load(rd / "model.npz"), rnnkit.load(tmp_path / "full" / "model.npz")
    _same_run(a, b)
