"""Learning-rate schedules the estimators offer by name (``lr_schedule=``).

- ``None``: the constant ``lr``.
- ``'cosine'``: half a cosine from ``lr`` down to ``lr * floor`` (``floor = 0.01``) over a
  budget of optimizer steps, of seconds, or of both (whichever runs out first), updated at
  every optimizer step::

      lr = lr_0 * (floor + (1 - floor) * (1 + cos(pi * p)) / 2)
      p  = min(1, max(s / S, elapsed / seconds))        # the share of the budget spent

  with ``s`` steps done of ``S = max_epochs * steps_per_epoch`` and ``elapsed`` the wall
  seconds trained (:class:`~rnnkit.estimators._training.TrainingClock`). Early stopping or a
  refit that ends sooner simply stops on the way down; with a time budget a run cut by
  ``max_time`` ends annealed instead of at its peak rate. Both clocks are checkpointed: a
  resumed run continues the same curve. On the step clock that is exact; on the time clock
  it depends on the machine's speed, so such a run is not repeatable bit for bit (no run
  stopped by ``max_time`` is).
- ``'plateau'``: halve the rate when the monitored value has not improved for
  ``max(1, patience // 2)`` epochs (``ReduceLROnPlateau``, through ``FitSettings``).
"""

from __future__ import annotations

import math

from rnnkit.estimators._training import TrainingClock
from rnnkit.train.callbacks import Callback

__all__ = ["CosineDecay", "make_schedule"]


class CosineDecay(TrainingClock):
    """Set the optimizer's lr before every step (see the module docstring).

    Args:
        lr: the starting rate ``lr_0``. total_steps: the step budget ``S`` (None: time only).
        floor: the final rate as a share of ``lr_0``. seconds: the time budget (None: steps
            only). At least one budget must be given.
    """

    def __init__(self, lr: float, total_steps: int | None = None, floor: float = 0.01, seconds: float | None = None):
        if total_steps is None and seconds is None:
            raise ValueError("CosineDecay needs a budget: total_steps or seconds (or both)")
        self.lr, self.floor, self.seconds = float(lr), float(floor), seconds
        self.total = None if total_steps is None else max(1, int(total_steps))
        super().__init__()
        self.done = 0

    def progress(self) -> float:
        """The share ``p`` of the budget spent."""
        p = 0.0 if self.total is None else self.done / self.total
        if self.seconds is not None:
            p = max(p, self.elapsed() / self.seconds if self.seconds > 0 else 1.0)
        return min(1.0, p)

    def _set(self, trainer) -> None:
        f = 0.5 * (1.0 + math.cos(math.pi * self.progress()))
        for group in trainer.optimizer.param_groups:
            group["lr"] = self.lr * (self.floor + (1.0 - self.floor) * f)

    def setup(self, trainer) -> None:
        super().setup(trainer)
        self.done = 0                       # before a checkpoint may restore it (resume)

    def on_train_begin(self, trainer) -> None:
        super().on_train_begin(trainer)
        self._set(trainer)

    def state_dict(self) -> dict:
        return {"done": self.done, **super().state_dict()}

    def load_state_dict(self, state: dict) -> None:
        done = state.get("done") if isinstance(state, dict) else None
        if not isinstance(done, int) or isinstance(done, bool) or done < 0:
            raise ValueError(f"CosineDecay state must hold a step count 'done' >= 0, got {state!r:.80}")
        super().load_state_dict(state)
        self.done = done

    def on_batch_end(self, trainer, step, logs) -> None:
        self.done += 1
        self._set(trainer)


def make_schedule(name, lr: float, max_epochs: int, steps_per_epoch: int) -> list[Callback]:
    """The callbacks of schedule ``name`` (``'plateau'`` works through ``FitSettings`` instead)."""
    if name == "cosine":
        return [CosineDecay(lr, max_epochs * steps_per_epoch)]
    return []
