"""A learning rate that anneals over a fixed budget of time or steps (cosine).

::

    lr(p) = lr_0 * (1 + cos(pi * p)) / 2,    p = min(1, max(elapsed / seconds, step / total_steps))

``p`` is the share of the budget spent, whichever runs out first: with a time budget the
rate reaches 0 when the time does, so a run cut by ``max_time`` ends annealed instead of at
its peak rate. (A time-based rate depends on the machine's speed: such a run is not
repeatable bit for bit, as no run stopped by ``max_time`` is.)
"""

from __future__ import annotations

import math
import time

from rnnkit.train.callbacks import Callback

__all__ = ["CosineToBudget"]


class CosineToBudget(Callback):
    """Set every parameter group's rate to ``lr_0 (1 + cos(pi p)) / 2`` after each step.

    Args:
        seconds: the time budget (None: steps only). total_steps: the step budget (None:
            time only). At least one must be given.
    """

    def __init__(self, seconds: float | None = None, total_steps: int | None = None):
        if seconds is None and total_steps is None:
            raise ValueError("CosineToBudget needs seconds or total_steps (or both)")
        self.seconds = seconds
        self.total_steps = total_steps
        self.start = None
        self.base = []
        self.steps = 0

    def on_train_begin(self, trainer) -> None:
        self.start = time.monotonic()
        self.base = [g["lr"] for g in trainer.optimizer.param_groups]
        self.steps = 0

    def progress(self) -> float:
        p = 0.0
        if self.seconds is not None:
            p = (time.monotonic() - self.start) / self.seconds if self.seconds > 0 else 1.0
        if self.total_steps is not None:
            p = max(p, self.steps / self.total_steps)
        return min(1.0, p)

    def on_batch_end(self, trainer, step, logs) -> None:
        self.steps += 1
        factor = 0.5 * (1.0 + math.cos(math.pi * self.progress()))
        for g, lr0 in zip(trainer.optimizer.param_groups, self.base):
            g["lr"] = lr0 * factor
