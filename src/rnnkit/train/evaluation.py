"""Running loss + metrics over batches, shared by ``evaluate`` and ``evaluate_tbptt``."""

from __future__ import annotations

from rnnkit._grad_mode import inference_mode
from rnnkit.train.metrics import get_metric
from rnnkit.train.trainer import make_loss

__all__ = ["inference_mode", "Evaluation"]


class Evaluation:
    """Loss averaged over counted elements, plus metrics, accumulated batch by batch.

    Example::

        ev = Evaluation("mse", ["rmse"])
        for pred, y in batches:
            ev.add(pred, y)                      # n defaults to len(y)
        ev.result()                              # {'loss': ..., 'rmse': ...}
    """

    def __init__(self, loss=None, metrics=()):
        self.criterion = None if loss is None else make_loss(loss)
        self.metrics = [get_metric(m) for m in metrics]
        for m in self.metrics:
            m.reset()
        self.total, self.count = 0.0, 0

    def add(self, pred, y, mask=None, n: int | None = None) -> None:
        """One batch; ``n`` is how many elements its mean loss stands for (default: the real
        steps under ``mask``, else ``len(y)``)."""
        if self.criterion is not None:
            v = self.criterion(pred, y) if mask is None else self.criterion(pred, y, mask=mask)
            if n is None:
                n = int(mask.sum()) if mask is not None else len(y)
            self.total, self.count = self.total + float(v) * n, self.count + n
        for m in self.metrics:
            m.update(pred, y, mask)

    def result(self) -> dict:
        out = {} if self.criterion is None else {"loss": self.total / self.count if self.count else float("nan")}
        out.update({m.name: m.compute() for m in self.metrics})
        return out
