"""RNNForecaster: fit(checkpoint=, resume=) continues an interrupted fit exactly (one network and
ensembles), and the validation windows are reported."""

import os

import numpy as np
import pytest

from rnnkit.estimators import forecaster as mod
from rnnkit.estimators.forecaster import RNNForecaster, member_checkpoint

SMALL = dict(hidden_size=6, max_epochs=6, patience=6, lr=1e-2, horizon=3, season_length=12, random_state=3)


def _series(n=96):
    t = np.arange(n)
    return 10 + np.sin(2 * np.pi * t / 12) + 0.1 * np.random.default_rng(1).normal(size=n)


class _Killed(RuntimeError):
    pass


def _interrupted(monkeypatch, member: int, after: int):
    """Make member ``member``'s training stop after ``after`` epochs, then the fit die (as a kill)."""
    real = mod.train_network
    calls = []

    def run(net, *args, settings, **kwargs):
        calls.append(1)
        if len(calls) - 1 == member:
            real(net, *args, settings=mod.FitSettings(**{**settings.__dict__, "max_epochs": after}), **kwargs)
            raise _Killed
        return real(net, *args, settings=settings, **kwargs)

    monkeypatch.setattr(mod, "train_network", run)


def _same(a, b):
    np.testing.assert_array_equal(a.predict(), b.predict())
    assert [h.history["val_loss"] for h in a.histories_] == [h.history["val_loss"] for h in b.histories_]
    assert a.best_epochs_ == b.best_epochs_
    for (n, p), (_, q) in zip(a.model_.named_parameters(), b.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


@pytest.mark.parametrize("ensemble_size, member", [(1, 0), (3, 1)])
def test_a_resumed_fit_equals_the_uninterrupted_one(tmp_path, monkeypatch, ensemble_size, member):
    y = _series()
    full = RNNForecaster(ensemble_size=ensemble_size, **SMALL).fit(y)
    ckpt = tmp_path / "checkpoint.npz"
    _interrupted(monkeypatch, member, after=2)
    with pytest.raises(_Killed):
        RNNForecaster(ensemble_size=ensemble_size, **SMALL).fit(y, checkpoint=ckpt)
    monkeypatch.undo()
    written = [os.path.exists(member_checkpoint(ckpt, k)) for k in range(ensemble_size)]
    assert written == [k <= member for k in range(ensemble_size)]     # the finished ones and the one cut off
    back = RNNForecaster(ensemble_size=ensemble_size, **SMALL).fit(y, checkpoint=ckpt, resume=True)
    _same(back, full)
    assert len(back.histories_[member].epochs) == SMALL["max_epochs"]


def test_a_new_run_does_not_resume_from_an_earlier_runs_member_files(tmp_path, monkeypatch):
    y = _series()
    ckpt = tmp_path / "checkpoint.npz"
    RNNForecaster(ensemble_size=3, **SMALL).fit(y, checkpoint=ckpt)           # an earlier run, finished
    other = {**SMALL, "random_state": 4}
    _interrupted(monkeypatch, 0, after=2)                                     # a new run, killed in member 0
    with pytest.raises(_Killed):
        RNNForecaster(ensemble_size=3, **other).fit(y, checkpoint=ckpt)
    monkeypatch.undo()
    assert not any(os.path.exists(member_checkpoint(ckpt, k)) for k in (1, 2))
    back = RNNForecaster(ensemble_size=3, **other).fit(y, checkpoint=ckpt, resume=True)
    _same(back, RNNForecaster(ensemble_size=3, **other).fit(y))


def test_checkpointing_changes_nothing_and_resume_needs_a_path(tmp_path):
    y = _series()
    _same(RNNForecaster(**SMALL).fit(y, checkpoint=tmp_path / "c.npz"), RNNForecaster(**SMALL).fit(y))
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        RNNForecaster(**SMALL).fit(y, resume=True)
    with pytest.raises(TypeError, match="resume"):
        RNNForecaster(**SMALL).fit(y, checkpoint=tmp_path / "c.npz", resume="yes")


def test_member_checkpoint_names():
    assert member_checkpoint("run/checkpoint.npz", 0) == "run/checkpoint.npz"
    assert member_checkpoint("run/checkpoint.npz", 2) == "run/checkpoint.member2.npz"


def test_validation_indices_are_the_last_windows_in_time(tmp_path):
    y = _series()
    est = RNNForecaster(**SMALL).fit(y)
    idx = est.validation_indices_
    # windows of lags=12 inputs and 3 targets over the 84 seasonally differenced steps: 70 origins,
    # round(0.15 * 70) = 10 of them held out, the last ones; an origin is the first forecast step
    assert idx.shape == (10, 2) and (idx[:, 0] == 0).all()
    np.testing.assert_array_equal(idx[:, 1], np.arange(96 - 3 - 9, 96 - 2))
    np.testing.assert_array_equal(est.validation_forecasts_["origin"], idx[:, 1])
    est.save(tmp_path / "m.npz")
    from rnnkit import load

    np.testing.assert_array_equal(load(tmp_path / "m.npz").validation_indices_, idx)
    assert RNNForecaster(**{**SMALL, "validation_fraction": 0.0}).fit(y).validation_indices_ is None
