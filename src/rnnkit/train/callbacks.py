"""Callbacks: hooks the training loop calls, plus early stopping, checkpoints and LR schedules.

Hooks (all optional), with ``trainer`` the running :class:`~rnnkit.train.Trainer`::

    setup(trainer)                              # before anything happens (before a resume is loaded):
                                                # check paths and settings; raising refuses the run
    on_train_begin(trainer)
    on_epoch_begin(trainer, epoch)              # epoch counts from 1
    on_batch_end(trainer, step, logs)           # logs {"loss": float or None if skipped}
    on_validation_end(trainer, step, logs)      # every val_every steps: {"val_loss": ..., ...}
    on_epoch_end(trainer, epoch, logs)          # logs of the epoch: loss, val_loss, metrics, lr,
                                                # batches, complete
    on_train_end(trainer)                       # not called when training raised or was interrupted

A callback sets ``trainer.stop_training = True`` to stop: the loop looks at it after every
batch, so training stops after the current step; the epoch it stopped in ends there (its log
says ``complete=False``) and its ``on_epoch_end`` runs as for any epoch. Callbacks with state
(early stopping's best value, a scheduler) expose ``state_dict()`` / ``load_state_dict()`` so
a checkpoint restores them. At the end of an epoch checkpoint writers run after every other
callback, so the file holds the state after the epoch.
"""

from __future__ import annotations

import math
import os

import numpy as np

from rnnkit._checks import check_bool, check_choice, check_int
from rnnkit.optim.optimizer import check_real

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler"]


class Callback:
    """Base class; every hook does nothing."""

    runs_last = False

    def setup(self, trainer) -> None:
        pass

    def on_train_begin(self, trainer) -> None:
        pass

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer, step: int, logs: dict) -> None:
        pass

    def on_validation_end(self, trainer, step: int, logs: dict) -> None:
        pass

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        pass

    def on_train_end(self, trainer) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def _monitor_value(logs: dict, monitor: str, who: str) -> float:
    if monitor not in logs:
        raise ValueError(f"{who}: monitored value {monitor!r} is not in the epoch logs {sorted(logs)} "
                         "(val_* values need val_data)")
    v = logs[monitor]
    return float("nan") if v is None else float(v)


def _check_monitor(trainer, monitor: str, who: str) -> None:
    """Refuse before the first step a monitored value the epoch logs will not have."""
    keys = getattr(trainer, "log_keys", None)
    if keys and monitor not in keys:
        raise ValueError(f"{who}: monitored value {monitor!r} is not in the epoch logs {sorted(keys)} "
                         "(val_* values need val_data)")


def _resolve_mode(mode: str, monitor: str) -> str:
    mode = check_choice("mode", mode, ("auto", "min", "max"))
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.endswith("accuracy")) else "min"
    return mode


class _Improvement:
    """Tracks the best monitored value; ``better(v)`` is True when ``v`` beats it by ``min_delta``."""

    def __init__(self, monitor: str, mode: str, min_delta: float):
        if not isinstance(monitor, str):
            raise TypeError(f"monitor must be the name of a logged value (a str), got {type(monitor).__name__}")
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor)
        self.min_delta = check_real("min_delta", min_delta)
        self.best = math.inf if self.mode == "min" else -math.inf

    def better(self, v: float) -> bool:
        if not math.isfinite(v):
            return False
        if self.mode == "min":
            return v < self.best - self.min_delta
        return v > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``mode`` 'min', 'max' or 'auto' (max for accuracies, min otherwise). With
    ``restore_best_weights`` the model gets the best epoch's weights back when it stops.
    ``stopped_epoch`` is the epoch it stopped at (0 if it never did).
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = False):
        self.tracker = _Improvement(monitor, mode, min_delta)
        self.monitor = monitor
        self.patience = check_int("patience", patience, 0)
        self.restore_best_weights = check_bool("restore_best_weights", restore_best_weights)
        self.wait = 0
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def setup(self, trainer) -> None:
        _check_monitor(trainer, self.monitor, "EarlyStopping")

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        v = _monitor_value(logs, self.monitor, "EarlyStopping")
        if self.tracker.better(v):
            self.tracker.best, self.best_epoch, self.wait = v, epoch, 0
            if self.restore_best_weights:
                self.best_weights = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                trainer.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {"best": self.tracker.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.best = float(state["best"])
        self.wait, self.best_epoch = int(state["wait"]), int(state["best_epoch"])
        self.stopped_epoch = int(state["stopped_epoch"])
        w = state.get("best_weights")
        self.best_weights = None if w is None else {str(k): np.array(v) for k, v in w.items()}


class ModelCheckpoint(Callback):
    """Write a full training checkpoint (see :mod:`rnnkit.train.checkpoint`) at epoch ends.

    Args:
        path: file to write; ``{epoch}`` in it is replaced by the epoch number.
        every: write every ``every`` epochs.
        save_best_only: write only when ``monitor`` improved (``mode`` as in EarlyStopping).

    Each write is atomic, so a crash never destroys the previous checkpoint. ``last_path``
    and ``last_epoch`` are the most recent file written and its epoch (kept in the file
    itself, so a resumed run knows them). A partial epoch (training stopped inside it, see
    :mod:`rnnkit.train.loop`) is written like any other; a run resumed from it starts the next
    epoch.
    """

    runs_last = True

    def __init__(self, path, every: int = 1, save_best_only: bool = False, monitor: str = "val_loss",
                 mode: str = "auto"):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a file path (str or os.PathLike), got {type(path).__name__}")
        self.path = os.fspath(path)
        if "{epoch}" in os.path.dirname(self.path):
            raise ValueError(f"path {self.path!r}: '{{epoch}}' may appear in the file name only, not in its directory")
        self.every = check_int("every", every, 1)
        self.save_best_only = check_bool("save_best_only", save_best_only)
        self.monitor = monitor
        self.tracker = _Improvement(monitor, mode, 0.0)
        self.last_path: str | None = None
        self.last_epoch = 0

    def setup(self, trainer) -> None:
        """The directory must exist and be writable, and the path must not be a directory:
        refused before the first step rather than at the first epoch's end."""
        target = self.path.replace("{epoch}", "1")
        directory = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(directory):
            raise ValueError(f"ModelCheckpoint path {self.path!r}: the directory {directory} does not exist")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise ValueError(f"ModelCheckpoint path {self.path!r}: the directory {directory} is not writable")
        if os.path.isdir(target):
            raise ValueError(f"ModelCheckpoint path {self.path!r} is a directory, not a file")
        if self.save_best_only:
            _check_monitor(trainer, self.monitor, "ModelCheckpoint")

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        if epoch % self.every:
            return
        if self.save_best_only:
            v = _monitor_value(logs, self.monitor, "ModelCheckpoint")
            if not self.tracker.better(v):
                return
            self.tracker.best = v
        from rnnkit.train.checkpoint import save_checkpoint

        path = self.path.replace("{epoch}", str(epoch))
        previous = self.last_path, self.last_epoch
        self.last_path, self.last_epoch = path, epoch     # the file holds these, as written below
        try:
            save_checkpoint(path, trainer)
        except BaseException:
            self.last_path, self.last_epoch = previous
            raise

    def state_dict(self) -> dict:
        return {"best": self.tracker.best, "last_path": self.last_path, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.tracker.best = float(state["best"])
        self.last_path = state.get("last_path")
        self.last_epoch = int(state.get("last_epoch", 0))


class LearningRateScheduler(Callback):
    """Step an :mod:`rnnkit.optim.lr_scheduler` schedule each epoch (or each step).

    ``monitor`` (e.g. 'val_loss') is passed to ``scheduler.step(value)`` for
    ``ReduceLROnPlateau``; leave it None for the others. ``interval`` 'epoch' or 'step'.
    The scheduler's state is saved in checkpoints.
    """

    def __init__(self, scheduler, monitor: str | None = None, interval: str = "epoch"):
        if not (hasattr(scheduler, "step") and hasattr(scheduler, "state_dict")):
            raise TypeError(f"scheduler must have step() and state_dict(), got {type(scheduler).__name__}")
        self.scheduler = scheduler
        self.monitor = monitor
        self.interval = check_choice("interval", interval, ("epoch", "step"))
        if monitor is not None and interval == "step":
            raise ValueError("monitor needs interval='epoch' (monitored values exist at epoch ends)")

    def setup(self, trainer) -> None:
        if self.monitor is not None:
            _check_monitor(trainer, self.monitor, "LearningRateScheduler")

    def on_batch_end(self, trainer, step, logs) -> None:
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        if self.interval != "epoch":
            return
        if self.monitor is None:
            self.scheduler.step()
        else:
            self.scheduler.step(_monitor_value(logs, self.monitor, "LearningRateScheduler"))

    def state_dict(self) -> dict:
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state["scheduler"])
