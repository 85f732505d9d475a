"""Checks before the first optimizer step: what a later batch would reject, rejected up front.

A run that stops at batch 40 of epoch 3 because one target is out of range has already
changed the weights 140 times. So before the first step:

- every length is an integer in ``[1, T]`` (:func:`~rnnkit.train.sources.check_lengths`);
- the model, the loss and the metrics run once, in inference mode (nothing kept, no random
  numbers drawn, no weight touched), on the few examples that hold the extremes of the data
  (the first example, the smallest and the largest integer input, the shortest and the
  longest sequence): whatever one batch would refuse (shapes, dtypes, token ids beyond an
  embedding, a metric that does not fit the output) is refused here, naming the example;
- with a cross-entropy loss, every integer target is a class id in ``[0, C)`` (``C`` from the
  model's output) or the loss's ``ignore_index``, as the loss itself would demand batch by
  batch.

A stream of batches (``fit`` on a generator) gets the same dry run on its first batch; its
later batches are checked one by one before their own steps.
"""

from __future__ import annotations

import copy

import numpy as np

from rnnkit._grad_mode import inference_mode
from rnnkit.nn.cross_entropy import CrossEntropyLoss
from rnnkit.train.trainer import split_output, step_mask

__all__ = ["dry_run", "check_class_ids", "extreme_examples", "in_context"]


def in_context(err: Exception, context: str) -> Exception:
    """``err`` with ``context`` in front of its message (plain ValueError/TypeError), else noted."""
    if type(err) in (ValueError, TypeError):
        new = type(err)(f"{context}: {err}")
        new.__cause__ = err
        return new
    if hasattr(err, "add_note"):
        err.add_note(context)
    return err


def extreme_examples(X: np.ndarray, L: np.ndarray | None) -> np.ndarray:
    """Indices of the examples holding the first, the smallest and largest integer input, and
    the shortest and longest length."""
    idx = [0]
    if np.issubdtype(X.dtype, np.integer) and X.size:
        flat = X.reshape(X.shape[0], -1)
        idx += [int(flat.min(axis=1).argmin()), int(flat.max(axis=1).argmax())]
    if L is not None:
        idx += [int(L.argmin()), int(L.argmax())]
    return np.unique(np.asarray(idx, dtype=np.int64))


def dry_run(trainer, x, y, lengths=None, *, stateful: bool = False, where: str = "") -> np.ndarray:
    """The model's forward, the loss and every metric on one batch, in inference mode; returns
    the prediction. An error is re-raised with ``where`` in front of its message."""
    model, crit = trainer.model, trainer.criterion
    try:
        with inference_mode(model):
            kw = {} if lengths is None else {"lengths": lengths}
            pred, _ = split_output(model(x, None, **kw) if stateful else model(x, **kw))
            pred = np.asarray(pred)
            mask = step_mask(pred, x, lengths)
            loss = crit(pred, y) if mask is None else crit(pred, y, mask=mask)
            if np.ndim(loss) != 0:
                raise TypeError(f"the loss must reduce to a number (reduction 'mean' or 'sum'), "
                                f"got shape {np.shape(loss)}")
            for m in trainer.metrics:
                probe = copy.deepcopy(m)
                probe.reset()
                probe.update(pred, y, mask)
    except (TypeError, ValueError, IndexError) as err:
        raise in_context(err, where) from None
    finally:
        crit.clear_cache()
    return pred


def check_class_ids(criterion, Y: np.ndarray, pred: np.ndarray, name: str) -> None:
    """With a cross-entropy loss and integer targets: every id in ``[0, C)`` or ``ignore_index``.

    ``pred`` is a prediction for a few of ``Y``'s examples, ``(b, ..., C)`` for ``Y (N, ...)``.
    """
    if not isinstance(criterion, CrossEntropyLoss) or Y.dtype == np.bool_ or not np.issubdtype(Y.dtype, np.integer):
        return
    if pred.ndim != Y.ndim + 1:            # (.., C) logits and (..) ids, else probabilities: nothing to count
        return
    C = pred.shape[-1]
    ignore = criterion.ignore_index
    bad = (Y != ignore) & ((Y < 0) | (Y >= C))
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}: Y[{', '.join(map(str, pos))}] is class id {Y[pos]}, outside [0, {C - 1}] (the model gives "
            f"{C} classes) and not ignore_index={ignore}; {int(bad.sum())} target(s) out of range"
        )
