"""Running metrics over an epoch: accuracy, RMSE, MAE, bits per character, perplexity.

Each metric sums over batches and reports one number at the end, weighting every counted
element equally (not every batch)::

    m = RMSE(); m.reset()
    for pred, target, mask in batches:
        m.update(pred, target, mask)      # mask: True where a target counts, or None
    value = m.compute()

Shapes: classification metrics take logits ``pred (..., C)`` and integer ``target (...)``
(or, for ``Accuracy`` on binary tasks, logits and 0/1 targets of the same shape, with the
decision at logit 0). Regression metrics take ``pred`` and ``target`` of one shape. A
``mask`` has the target's leading shape (for example ``(B, T)``) and broadcasts over the
rest.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Metric", "Accuracy", "RMSE", "MAE", "BitsPerCharacter", "Perplexity", "get_metric", "METRICS"]


def _expand_mask(mask, shape) -> np.ndarray | None:
    """A boolean mask of the target's leading shape, broadcast to ``shape``."""
    if mask is None:
        return None
    m = np.asarray(mask).astype(bool)
    if m.shape != tuple(shape[: m.ndim]):
        raise ValueError(f"mask of shape {m.shape} does not match the leading dimensions of {tuple(shape)}")
    return np.broadcast_to(m.reshape(m.shape + (1,) * (len(shape) - m.ndim)), shape)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)                         # (..., C)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class Metric:
    """Base class: ``reset``, ``update(pred, target, mask=None)``, ``compute``."""

    name = "metric"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def compute(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def update(self, pred, target, mask=None) -> None:
        raise TypeError(f"{type(self).__name__} does not define update()")

    def _add(self, values: np.ndarray, mask) -> None:
        m = _expand_mask(mask, values.shape)
        if m is None:
            self.total += float(values.sum())
            self.count += values.size
        else:
            self.total += float(values[m].sum())
            self.count += int(m.sum())


class Accuracy(Metric):
    """Fraction of correct predictions: ``argmax(pred) == target``, or ``(pred > 0) == target``
    when ``pred`` and ``target`` have one shape (binary logits). Class targets equal to
    ``ignore_index`` (-100, as in ``CrossEntropyLoss``) are left out."""

    name = "accuracy"

    def __init__(self, ignore_index: int = -100) -> None:
        self.ignore_index = ignore_index
        super().__init__()

    def update(self, pred, target, mask=None) -> None:
        pred, target = np.asarray(pred), np.asarray(target)
        if pred.ndim == target.ndim + 1:
            hit = pred.argmax(axis=-1) == target                   # (...)
            ignored = target == self.ignore_index                  # padded class targets do not count
            if ignored.any():
                keep = ~ignored
                mask = keep if mask is None else (_expand_mask(mask, keep.shape) & keep)
        elif pred.shape == target.shape:
            hit = (pred > 0) == (target > 0.5)
        else:
            raise ValueError(f"accuracy: pred {pred.shape} and target {target.shape} do not match")
        self._add(hit.astype(np.float64), mask)


class MAE(Metric):
    """Mean absolute error ``mean |pred - target|``."""

    name = "mae"

    def update(self, pred, target, mask=None) -> None:
        pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
        if pred.shape != target.shape:
            raise ValueError(f"{self.name}: pred {pred.shape} and target {target.shape} differ")
        self._add(np.abs(pred - target), mask)


class RMSE(MAE):
    """Root mean squared error ``sqrt(mean (pred - target)^2)`` over the whole epoch."""

    name = "rmse"

    def update(self, pred, target, mask=None) -> None:
        pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
        if pred.shape != target.shape:
            raise ValueError(f"{self.name}: pred {pred.shape} and target {target.shape} differ")
        self._add((pred - target) ** 2, mask)

    def compute(self) -> float:
        return math.sqrt(super().compute())


class BitsPerCharacter(Metric):
    """Mean ``-log2 softmax(pred)[target]``: cross-entropy in bits per predicted token."""

    name = "bpc"

    def update(self, pred, target, mask=None) -> None:
        pred, target = np.asarray(pred), np.asarray(target)
        if pred.ndim != target.ndim + 1 or pred.shape[:-1] != target.shape:
            raise ValueError(f"{self.name}: expected logits (..., C) and ids (...), got {pred.shape}, {target.shape}")
        logp = _log_softmax(pred)                                    # (..., C)
        nll = -np.take_along_axis(logp, target[..., None].astype(np.int64), axis=-1)[..., 0]   # (...)
        self._add(nll / math.log(2.0), mask)


class Perplexity(BitsPerCharacter):
    """``2 ** bpc`` = ``exp`` of the mean cross-entropy in nats."""

    name = "perplexity"

    def compute(self) -> float:
        return 2.0 ** super().compute()


METRICS = {
    "accuracy": Accuracy, "acc": Accuracy, "rmse": RMSE, "mae": MAE,
    "bpc": BitsPerCharacter, "bits_per_char": BitsPerCharacter, "perplexity": Perplexity,
}


def get_metric(metric) -> Metric:
    """A fresh :class:`Metric` from a name in :data:`METRICS`, or ``metric`` itself."""
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str) and metric.lower() in METRICS:
        return METRICS[metric.lower()]()
    raise ValueError(f"metric must be a Metric or one of {sorted(METRICS)}, got {metric!r}")
