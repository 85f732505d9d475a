"""Learning-rate schedules that write ``'lr'`` into an optimizer's parameter groups.

They follow ``torch.optim.lr_scheduler`` step for step (the same recursive formulas), so
the learning rates equal PyTorch's over any number of epochs::

    opt = SGD(model.parameters(), lr=0.1)
    sched = CosineAnnealingLR(opt, T_max=50)
    for epoch in range(50):
        train_one_epoch(opt)          # opt.step() inside
        sched.step()                  # ReduceLROnPlateau: sched.step(val_loss)
    sched.get_last_lr()               # one lr per parameter group

Creating a scheduler stores each group's starting ``'lr'`` as ``'initial_lr'`` and counts
as epoch 0. ``state_dict()`` holds only numbers and lists (JSON-ready, no pickle).
"""

from __future__ import annotations

import abc
import math
import numbers
from typing import Any

from rnnkit._checks import check_bool, check_choice, check_int
from rnnkit.optim.optimizer import Optimizer, check_real

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau"]


def _lrs(name: str, value, n: int) -> list[float]:
    """One finite learning rate >= 0 per parameter group."""
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of {n} numbers (one per parameter group), got {type(value).__name__}")
    if len(value) != n:
        raise ValueError(f"{name} must have one value per parameter group ({n}), got {len(value)}")
    return [check_real(f"{name}[{i}]", v) for i, v in enumerate(value)]


def _int(minimum: int):
    return lambda name, value: check_int(name, value, minimum)


def _choice(*choices: str):
    return lambda name, value: check_choice(name, value, choices)


def _real_or_none(name: str, value):
    return None if value is None else check_real(name, value, minimum=None)


def _like(name: str, value, own):
    """``value`` of the kind of ``own`` (a bool, an integer, a real, a string or a list of reals)."""
    if isinstance(own, bool):
        return check_bool(name, value)
    if isinstance(own, numbers.Integral):
        return check_int(name, value)
    if isinstance(own, numbers.Real):
        return check_real(name, value, minimum=None)
    if isinstance(own, str):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a string, got {type(value).__name__} {value!r}")
        return value
    if isinstance(own, list):
        return _lrs(name, value, len(own))
    if own is None and value is None:
        return None
    raise TypeError(f"{name} must be like {own!r}, got {type(value).__name__} {value!r}")


class LRScheduler(abc.ABC):
    """Base class: subclasses give :meth:`get_lr`, the new lr of each group at ``last_epoch``.

    Args:
        optimizer: the :class:`~rnnkit.optim.Optimizer` whose ``param_groups[i]['lr']`` it sets.
        last_epoch: ``-1`` to start; when resuming, the last finished epoch (the groups
            must then already hold ``'initial_lr'``, e.g. from a loaded optimizer state).
    """

    #: ``{option: check(name, value) -> value}``: the constructor and :meth:`load_state_dict` use them
    _CHECKS: dict = {"last_epoch": _int(-1), "_step_count": _int(0)}

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an rnnkit.optim.Optimizer, got {type(optimizer).__name__}")
        last_epoch = self._checked("last_epoch", last_epoch)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param_groups[{i}] has no 'initial_lr', needed to resume with last_epoch={last_epoch} "
                        "(load the optimizer state first, or start with last_epoch=-1)"
                    )
        self.base_lrs: list[float] = [float(g["initial_lr"]) for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self._is_initial = True  # the constructor's step keeps the current learning rates
        self.step()
        self._is_initial = False

    @abc.abstractmethod
    def get_lr(self) -> list[float]:
        """The learning rate of each group for epoch ``last_epoch`` (called by :meth:`step`)."""

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimizer."""
        self._step_count += 1
        self.last_epoch += 1
        values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [float(g["lr"]) for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last :meth:`step`, one per parameter group."""
        return list(self._last_lr)

    def _current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer, as numbers and lists (JSON-ready)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items() if k != "optimizer"}

    def _checked(self, name: str, value):
        return self._CHECKS[name](name, value)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (the keys must be this scheduler's).

        Every value is checked first (its kind and range, one learning rate per parameter
        group): a malformed state raises ``TypeError`` or ``ValueError`` naming the entry and
        changes nothing.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        own = self.state_dict()
        unknown = sorted(set(state_dict) - set(own), key=str)
        if unknown:
            raise ValueError(f"state_dict has keys {unknown} that {type(self).__name__} does not have")
        loaded = {}
        for k, v in state_dict.items():
            name = f"state_dict[{k!r}]"
            loaded[k] = self._CHECKS[k](name, v) if k in self._CHECKS else _like(name, v, own[k])
        self.__dict__.update(loaded)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.get_last_lr()})"


class StepLR(LRScheduler):
    """Multiply the lr by ``gamma`` every ``step_size`` epochs: ``lr_e = lr_0 * gamma**(e // step_size)``.

    Example::

        sched = StepLR(opt, step_size=30, gamma=0.1)   # 0.1 for epochs 0-29, 0.01 for 30-59, ...
    """

    _CHECKS = {**LRScheduler._CHECKS, "step_size": _int(1), "gamma": check_real}

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = self._checked("step_size", step_size)
        self.gamma = self._checked("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class ExponentialLR(LRScheduler):
    """Multiply the lr by ``gamma`` every epoch: ``lr_e = lr_0 * gamma**e``.

    Example::

        sched = ExponentialLR(opt, gamma=0.95)
    """

    _CHECKS = {**LRScheduler._CHECKS, "gamma": check_real}

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = self._checked("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the initial lr down to ``eta_min`` over ``T_max`` epochs (no restarts).

    The closed form is ``lr_e = eta_min + (lr_0 - eta_min) * (1 + cos(pi * e / T_max)) / 2``;
    like PyTorch it is applied recursively,
    ``lr_e = eta_min + (lr_{e-1} - eta_min) * (1 + cos(pi e / T_max)) / (1 + cos(pi (e-1) / T_max))``,
    so that changes made to ``'lr'`` by others carry on. Past ``T_max`` the lr rises
    again along the same cosine (period ``2 * T_max``).

    Example::

        sched = CosineAnnealingLR(opt, T_max=100, eta_min=1e-5)
    """

    _CHECKS = {**LRScheduler._CHECKS, "T_max": _int(1), "eta_min": check_real}

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = self._checked("T_max", T_max)
        self.eta_min = self._checked("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and e > 0:
            return [eta_min + (base - eta_min) * (1 + math.cos(e * math.pi / T)) / 2 for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # the bottom of the cosine: step back up from eta_min
            return [
                lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                for base, lr in zip(self.base_lrs, self._current_lrs())
            ]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in self._current_lrs()]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    ``step(metric)`` once per epoch. The metric improves when it beats the best so far by
    more than ``threshold`` (``'rel'``: ``best * (1 -/+ threshold)``, ``'abs'``:
    ``best -/+ threshold``; minus for ``mode='min'``). After more than ``patience`` epochs
    without improvement every group's lr becomes ``max(lr * factor, min_lr)`` (unless the
    change is at most ``eps``), then ``cooldown`` epochs pass before bad epochs count again.

    Example::

        sched = ReduceLROnPlateau(opt, mode='min', factor=0.5, patience=3)
        for epoch in range(100):
            sched.step(validate(model))
    """

    _CHECKS = {
        "mode": _choice("min", "max"), "factor": lambda name, v: check_real(name, v, 0.0, below=1.0),
        "patience": _int(0), "threshold": check_real, "threshold_mode": _choice("rel", "abs"),
        "cooldown": _int(0), "eps": check_real, "min_lr": check_real, "default_min_lr": _real_or_none,
        "best": _real_or_none, "last_epoch": _int(0), "num_bad_epochs": _int(0), "cooldown_counter": _int(0),
    }

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0,
        eps: float = 1e-8,
    ):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be an rnnkit.optim.Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for name, value in (("mode", mode), ("factor", factor), ("patience", patience), ("threshold", threshold),
                            ("threshold_mode", threshold_mode), ("cooldown", cooldown), ("eps", eps)):
            setattr(self, name, self._checked(name, value))
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(f"min_lr must have one value per parameter group ({n_groups}), got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = [check_real(f"min_lr[{i}]", v) for i, v in enumerate(min_lr)]
        else:
            self.default_min_lr = self._checked("min_lr", min_lr)
            self.min_lrs = [self.default_min_lr] * n_groups
        self.last_epoch = 0
        self._last_lr = [float(g["lr"]) for g in optimizer.param_groups]
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def get_lr(self) -> list[float]:
        """The current learning rates (this schedule changes them only in :meth:`step`)."""
        return self._current_lrs()

    def _is_better(self, a: float) -> bool:
        best, th = self.best, self.threshold
        if self.mode == "min":
            return a < (best * (1.0 - th) if self.threshold_mode == "rel" else best - th)
        return a > (best * (th + 1.0) if self.threshold_mode == "rel" else best + th)

    def step(self, metrics) -> None:  # type: ignore[override]
        """Record this epoch's metric (a number) and reduce the lr if it has plateaued."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"metrics must be a number, got {type(metrics).__name__} {metrics!r}") from None
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [float(g["lr"]) for g in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        n_groups = len(self.optimizer.param_groups)
        if len(self.min_lrs) != n_groups and self.default_min_lr is not None:
            self.min_lrs = [self.default_min_lr] * n_groups
        if len(self.min_lrs) != n_groups:
            raise ValueError(
                f"the optimizer has {n_groups} parameter groups but min_lrs has "
                f"{len(self.min_lrs)} values (a group was added after the scheduler was made); set min_lrs"
            )
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def state_dict(self) -> dict[str, Any]:
        """As the base class; an infinite ``best`` (nothing seen yet) is stored as None for JSON."""
        state = super().state_dict()
        if math.isinf(state["best"]):
            state["best"] = None
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        if self.best is None:
            self.best = math.inf if self.mode == "min" else -math.inf
