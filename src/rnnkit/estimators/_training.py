"""The training run every estimator's ``fit`` does: Adam, a validation set, early stopping,
the best weights kept, a time budget.

::

    opt = Adam(lr, weight_decay)                    # optionally ReduceLROnPlateau on `monitor`
    fit(model, train, val_data=val, epochs=max_epochs, callbacks=[
        KeepBest(monitor),                          # snapshot the best epoch's weights ...
        EarlyStopping(monitor, patience, tol),      # stop after `patience` epochs without a gain > tol
        MaxTime(seconds)])                          # stop once the budget is spent
    # ... and at the end the model holds the best epoch's weights (KeepBest restores them)

``tol`` (0 unless the estimator has one): a gain of at most ``tol`` in the monitored value
does not count as one for early stopping (gains add up until they exceed it).

``monitor`` is a validation value (``val_loss``, ``val_accuracy``) when there is a
validation set, else the training loss.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from rnnkit._checks import check_float_range, check_int
from rnnkit.train.callbacks import Callback, EarlyStopping, LearningRateScheduler, _Improvement

__all__ = ["FitSettings", "KeepBest", "MaxTime", "TrainingClock", "train_network"]


class KeepBest(Callback):
    """Keep a copy of the weights of the best epoch by ``monitor``; put them back at the end.

    ``best_epoch`` and ``best`` tell which epoch won and its value (0 and nan before any).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto"):
        self.monitor = monitor
        self.tracker = _Improvement(monitor, mode, 0.0)
        self.best_epoch = 0
        self.weights = None

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        v = logs.get(self.monitor)
        v = float("nan") if v is None else float(v)
        if self.tracker.better(v):
            self.tracker.best, self.best_epoch = v, epoch
            self.weights = trainer.model.state_dict()

    def on_train_end(self, trainer) -> None:
        if self.weights is not None:
            trainer.model.load_state_dict(self.weights)

    @property
    def best(self) -> float:
        return self.tracker.best if self.best_epoch else math.nan

    def state_dict(self) -> dict:
        return {"best": self.tracker.best, "best_epoch": self.best_epoch, "weights": self.weights}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.best = float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        w = state.get("weights")
        self.weights = None if w is None else {str(k): np.array(v) for k, v in w.items()}


class TrainingClock(Callback):
    """The wall seconds a run has trained, counting those of the run a checkpoint resumed.

    ``elapsed()`` runs from ``on_train_begin``; a checkpoint keeps ``{"elapsed": seconds}``
    as of its writing, and a run resumed from it goes on from there (so a time budget is the
    whole run's, not each sitting's). ``now`` is the clock (``time.monotonic``).
    """

    now = staticmethod(time.monotonic)

    def __init__(self):
        self._spent, self._start = 0.0, None

    def setup(self, trainer) -> None:
        self._spent, self._start = 0.0, None           # before a checkpoint may restore _spent

    def on_train_begin(self, trainer) -> None:
        self._start = self.now() - self._spent

    def elapsed(self) -> float:
        return self._spent if self._start is None else self.now() - self._start

    def state_dict(self) -> dict:
        return {"elapsed": self.elapsed()}

    def load_state_dict(self, state: dict) -> None:
        spent = state.get("elapsed", 0.0) if isinstance(state, dict) else None    # files of old runs: none
        if isinstance(spent, bool) or not isinstance(spent, (int, float)) or not 0 <= spent < math.inf:
            raise ValueError(f"{type(self).__name__} state must hold the seconds spent 'elapsed' >= 0, "
                             f"got {state!r:.80}")
        self._spent = float(spent)


class MaxTime(TrainingClock):
    """Stop training once ``seconds`` of wall time have passed since it began (a resumed run:
    since the run it continues began, see :class:`TrainingClock`)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = check_float_range("max_time", seconds, 0.0, math.inf)
        self.expired = False

    def on_batch_end(self, trainer, step, logs) -> None:
        if self.elapsed() >= self.seconds:
            self.expired = True
            trainer.stop_training = True


@dataclass
class FitSettings:
    """The training settings estimators share (each is a constructor argument of theirs)."""

    max_epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    clip_grad_norm: float | None = 1.0
    patience: int = 10
    tol: float = 0.0
    reduce_lr_patience: int | None = None
    max_time: float | None = None
    verbose: int = 0

    def validate(self) -> FitSettings:
        check_int("max_epochs", self.max_epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_float_range("lr", self.lr, 1e-12, 10.0)
        check_float_range("weight_decay", self.weight_decay, 0.0, 1e6)
        if self.clip_grad_norm is not None:
            check_float_range("clip_grad_norm", self.clip_grad_norm, 1e-12, math.inf)
        check_int("patience", self.patience, 0)
        check_float_range("tol", self.tol, 0.0, math.inf)
        if self.reduce_lr_patience is not None:
            check_int("reduce_lr_patience", self.reduce_lr_patience, 0)
        if self.max_time is not None:
            check_float_range("max_time", self.max_time, 0.0, math.inf)
        check_int("verbose", int(self.verbose) if isinstance(self.verbose, bool) else self.verbose, 0)
        return self

    @classmethod
    def from_estimator(cls, est) -> FitSettings:
        """The settings read from the estimator's attributes of the same names (absent ones default)."""
        from rnnkit.estimators._sizes import check_sizes

        if hasattr(est, "get_params"):
            check_sizes(est.get_params())                   # absurd sizes: refused before allocating
        names = cls.__dataclass_fields__
        return cls(**{k: getattr(est, k) for k in names if hasattr(est, k)}).validate()


def train_network(model, train_data, *, settings: FitSettings, loss, val_data=None, metrics=(),
                  monitor: str | None = None, rng=None, callbacks=(), checkpoint=None, resume: bool = False,
                  fit_fn=None, **fit_kwargs):
    """Train ``model`` as the module docstring says; returns ``(history, keep_best)``.

    ``train_data``/``val_data`` are what :func:`rnnkit.train.fit` takes (or, with ``fit_fn``,
    what that function takes: e.g. :func:`rnnkit.train.fit_tbptt` and its streams).
    ``monitor`` defaults to ``val_loss`` with validation data, ``loss`` without.
    ``checkpoint``: a path written after every epoch (model, optimizer, callbacks, random
    state); ``resume=True`` continues the run saved there exactly (the same data and settings
    must be given again: estimators rebuild them deterministically from ``random_state``).
    """
    from rnnkit import optim
    from rnnkit.train import fit

    if monitor is None:
        monitor = "val_loss" if val_data is not None else "loss"
    opt = optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    keep = KeepBest(monitor)
    cbs = [keep, EarlyStopping(monitor, patience=settings.patience, min_delta=settings.tol)]
    if settings.reduce_lr_patience is not None:
        sched = optim.lr_scheduler.ReduceLROnPlateau(opt, mode=keep.tracker.mode, factor=0.5,
                                                      patience=settings.reduce_lr_patience)
        cbs.append(LearningRateScheduler(sched, monitor=monitor))
    if settings.max_time is not None:
        cbs.append(MaxTime(settings.max_time))
    cbs.extend(callbacks)
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=<path of the run's checkpoint>")
    if checkpoint is not None:
        from rnnkit.train import ModelCheckpoint

        cbs.append(ModelCheckpoint(checkpoint))
    fit_fn = fit if fit_fn is None else fit_fn
    kw = dict(loss=loss, optimizer=opt, epochs=settings.max_epochs, batch_size=settings.batch_size,
              val_data=val_data, metrics=list(metrics), callbacks=cbs, clip_grad_norm=settings.clip_grad_norm,
              progress=bool(settings.verbose))
    if fit_fn is fit:
        kw["rng"] = rng
    if resume:
        kw["resume"] = checkpoint
    kw.update(fit_kwargs)
    history = fit_fn(model, train_data, **kw)
    return history, keep
