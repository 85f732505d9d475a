"""Learning-rate schedules the estimators offer by name (``lr_schedule=``).

- ``None``: the constant ``lr``.
- ``'cosine'``: half a cosine from ``lr`` down to ``lr / 100`` over ``max_epochs`` epochs,
  updated at every optimizer step (``s`` steps done of ``S = max_epochs * steps_per_epoch``)::

      lr_s = lr * (0.01 + 0.99 * (1 + cos(pi * s / S)) / 2)

  Early stopping or a refit that ends sooner simply stops on the way down.
- ``'plateau'``: halve the rate when the monitored value has not improved for
  ``max(1, patience // 2)`` epochs (``ReduceLROnPlateau``, through ``FitSettings``).
"""

from __future__ import annotations

import math

from rnnkit.train.callbacks import Callback

__all__ = ["CosineDecay", "make_schedule"]


class CosineDecay(Callback):
    """Set the optimizer's lr before every step (see the module docstring)."""

    def __init__(self, lr: float, total_steps: int, floor: float = 0.01):
        self.lr, self.total, self.floor = float(lr), max(1, int(total_steps)), float(floor)
        self.done = 0

    def _set(self, trainer) -> None:
        f = 0.5 * (1.0 + math.cos(math.pi * min(self.done, self.total) / self.total))
        for group in trainer.optimizer.param_groups:
            group["lr"] = self.lr * (self.floor + (1.0 - self.floor) * f)

    def setup(self, trainer) -> None:
        self.done = 0                       # before a checkpoint may restore it (resume)

    def on_train_begin(self, trainer) -> None:
        self._set(trainer)

    def state_dict(self) -> dict:
        return {"done": self.done}

    def load_state_dict(self, state: dict) -> None:
        done = state.get("done") if isinstance(state, dict) else None
        if not isinstance(done, int) or isinstance(done, bool) or done < 0:
            raise ValueError(f"CosineDecay state must hold a step count 'done' >= 0, got {state!r:.80}")
        self.done = done

    def on_batch_end(self, trainer, step, logs) -> None:
        self.done += 1
        self._set(trainer)


def make_schedule(name, lr: float, max_epochs: int, steps_per_epoch: int) -> list[Callback]:
    """The callbacks of schedule ``name`` (``'plateau'`` works through ``FitSettings`` instead)."""
    if name == "cosine":
        return [CosineDecay(lr, max_epochs * steps_per_epoch)]
    return []
