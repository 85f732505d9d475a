"""Truncated BPTT on one long id stream, with epochs of a chosen number of windows that can
end early (a time budget), for :class:`~rnnkit.estimators.CharLM`.

The stream ``ids (S,)`` is cut into ``B`` contiguous streams (``x = ids[:-1]``, next-step
targets ``y = ids[1:]``, :func:`rnnkit.train.stream_windows`), walked in windows of ``k``
steps with the state carried (detached) from window to window::

    windows: w = 0, 1, 2, ...  (x (B, k), y (B, k)); the state resets at w = 0 of each pass
    epoch:   steps_per_epoch windows (None: one pass over the streams); the next epoch
             continues the walk where this one stopped (its first window starts from a zero
             state), wrapping around at the end of the streams
    a callback setting ``trainer.stop_training`` (MaxTime) ends the epoch after that window;
    validation and the epoch-end callbacks (KeepBest, EarlyStopping) still run on it.
"""

from __future__ import annotations

import copy
import itertools

import numpy as np

from rnnkit._checks import check_int
from rnnkit.train.tbptt import evaluate_tbptt, stream_windows
from rnnkit.train.trainer import Trainer

__all__ = ["fit_stream", "eval_streams"]


def eval_streams(n_steps: int, k: int, batch_size: int) -> int:
    """Parallel streams for evaluating ``n_steps`` predictions: up to ``batch_size``, each of
    at least ``4 k`` steps (so that few predictions lack context), and at least one."""
    return max(1, min(batch_size, n_steps // (4 * k)))


def fit_stream(model, ids, *, k: int, batch_size: int, loss, optimizer, epochs: int, steps_per_epoch=None,
               val_data=None, metrics=(), callbacks=(), clip_grad_norm=None, progress: bool = False):
    """Train ``model`` (``model(x, state) -> (logits, state)``) on ``ids`` as the module says.

    ``val_data``: ids ``(S_v,)`` evaluated after every epoch with the state carried (as
    :func:`rnnkit.train.evaluate_tbptt`, on :func:`eval_streams` parallel streams).
    Returns the :class:`~rnnkit.train.History`.
    """
    k = check_int("k", k, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    ids = np.asarray(ids)
    x, y = ids[:-1], ids[1:]
    n_windows = -(-(x.shape[0] // batch_size) // k)
    if steps_per_epoch is None:
        steps_per_epoch = n_windows
    trainer = Trainer(model, loss, optimizer, metrics=metrics, callbacks=callbacks, clip_grad_norm=clip_grad_norm,
                      progress=progress, shuffle_rng=False)
    walk = itertools.chain.from_iterable(
        stream_windows(x, y, k, batch_size, None, "text") for _ in itertools.count())

    def epoch_batches(epoch):
        for _ in range(steps_per_epoch):
            if trainer.stop_training:
                return
            yield next(walk)

    def validate():
        v = np.asarray(val_data)
        B = eval_streams(v.shape[0] - 1, k, batch_size)
        return evaluate_tbptt(model, v, k=max(k, 256), batch_size=B, loss=trainer.criterion,
                              metrics=[copy.deepcopy(m) for m in trainer.metrics])

    return trainer.run(epochs, epoch_batches, steps_per_epoch, validate if val_data is not None else None,
                       stateful=True)
