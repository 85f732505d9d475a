"""Truncated BPTT on one long id stream, with epochs of a chosen number of windows that can
end early (a time budget), for :class:`~rnnkit.estimators.CharLM`; checkpoints resume it
exactly.

The stream ``ids (S,)`` is cut into ``B`` contiguous streams (``x = ids[:-1]``, next-step
targets ``y = ids[1:]``, :func:`rnnkit.data.split_streams`), walked in windows of ``k``
steps with the state carried (detached) from window to window::

    xs, ys (B, n)                 the streams, n = (S - 1) // B steps each
    window p = 0, 1, 2, ...       w = p mod W of the W = ceil(n / k) windows of a pass:
                                  x = xs[:, w k : (w+1) k], y likewise; the state resets at w = 0
    epoch:   steps_per_epoch windows (None: one pass, W); the next epoch continues the walk
             where this one stopped (its first window starts from a zero state), wrapping
             around at the end of the streams
    a callback setting ``trainer.stop_training`` (MaxTime) ends the epoch after that window;
    validation and the epoch-end callbacks (KeepBest, EarlyStopping) still run on it.

Resuming: the walk's position ``p`` (windows taken) is a callback's state
(:class:`StreamWalk`), so a checkpoint holds it with the weights, the optimizer, the other
callbacks and the random generators; and since every epoch's first window starts from a
zero state, a checkpoint (written at an epoch's end) needs no hidden state: the resumed
run's next epoch starts from zeros as the uninterrupted run's does. Resumed without a time
budget, the run ends with the same weights, bit for bit, as the uninterrupted one.
"""

from __future__ import annotations

import copy
import zlib

import numpy as np

from rnnkit._checks import check_int
from rnnkit.data.streams import split_streams, window_bounds
from rnnkit.train.callbacks import Callback
from rnnkit.train.tbptt import evaluate_tbptt
from rnnkit.train.trainer import Trainer

__all__ = ["fit_stream", "eval_streams", "StreamWalk"]


def eval_streams(n_steps: int, k: int, batch_size: int) -> int:
    """Parallel streams for evaluating ``n_steps`` predictions: up to ``batch_size``, each of
    at least ``4 k`` steps (so that few predictions lack context), and at least one."""
    return max(1, min(batch_size, n_steps // (4 * k)))


class StreamWalk(Callback):
    """The walk over the streams (see the module docstring): ``next_window()`` hands out
    window ``position`` and moves on. Its checkpointed state is the position and what the
    walk is over (the text's length and CRC-32, ``B``, ``k``), so a checkpoint of another
    text or layout is refused."""

    def __init__(self, ids: np.ndarray, k: int, batch_size: int):
        self.xs = split_streams(ids[:-1], batch_size, name="text")                   # (B, n)
        self.ys = split_streams(ids[1:], batch_size, name="text")                    # (B, n)
        self.bounds = list(window_bounds(self.xs.shape[1], k))
        self.walk = {"chars": int(ids.shape[0]), "crc32": zlib.crc32(np.ascontiguousarray(ids, np.int64).tobytes()),
                     "streams": int(batch_size), "k": int(k)}
        self.position = 0

    def setup(self, trainer) -> None:
        self.position = 0                   # before a checkpoint may restore it (resume)

    def next_window(self) -> dict:
        w = self.position % len(self.bounds)
        start, stop = self.bounds[w]
        self.position += 1
        return {"x": self.xs[:, start:stop], "y": self.ys[:, start:stop], "reset": w == 0}

    def state_dict(self) -> dict:
        return {"position": self.position, **self.walk}

    def load_state_dict(self, state: dict) -> None:
        saved = {k: state.get(k) for k in self.walk} if isinstance(state, dict) else state
        if saved != self.walk:
            raise ValueError(f"the checkpoint walked another text or layout ({saved}), not this one ({self.walk}): "
                             "resume with the same text, bptt and batch_size")
        position = state.get("position")
        if not isinstance(position, int) or isinstance(position, bool) or position < 0:
            raise ValueError(f"StreamWalk state must hold a window count 'position' >= 0, got {position!r}")
        self.position = position


def fit_stream(model, ids, *, k: int, batch_size: int, loss, optimizer, epochs: int, steps_per_epoch=None,
               val_data=None, metrics=(), callbacks=(), clip_grad_norm=None, progress: bool = False, resume=None):
    """Train ``model`` (``model(x, state) -> (logits, state)``) on ``ids`` as the module says.

    ``val_data``: ids ``(S_v,)`` evaluated after every epoch with the state carried (as
    :func:`rnnkit.train.evaluate_tbptt`, on :func:`eval_streams` parallel streams).
    ``resume``: the path of a checkpoint of this run to continue (see
    :mod:`rnnkit.train.checkpoint`). Returns the :class:`~rnnkit.train.History`.
    """
    k = check_int("k", k, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    walk = StreamWalk(np.asarray(ids), k, batch_size)
    if steps_per_epoch is None:
        steps_per_epoch = len(walk.bounds)
    trainer = Trainer(model, loss, optimizer, metrics=metrics, callbacks=[*callbacks, walk],
                      clip_grad_norm=clip_grad_norm, progress=progress, shuffle_rng=False)

    def epoch_batches(epoch):
        for _ in range(steps_per_epoch):
            if trainer.stop_training:
                return
            yield walk.next_window()

    def validate():
        v = np.asarray(val_data)
        B = eval_streams(v.shape[0] - 1, k, batch_size)
        return evaluate_tbptt(model, v, k=max(k, 256), batch_size=B, loss=trainer.criterion,
                              metrics=[copy.deepcopy(m) for m in trainer.metrics])

    return trainer.run(epochs, epoch_batches, steps_per_epoch, validate if val_data is not None else None,
                       stateful=True, resume=resume)
