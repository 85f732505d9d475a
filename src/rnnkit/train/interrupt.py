"""Ctrl-C during training: stop at a safe point and say how to go on.

While :func:`~rnnkit.train.fit` or :func:`~rnnkit.train.fit_tbptt` runs (in the main thread,
with Python's default SIGINT handler in place), the first Ctrl-C does not raise where it
lands: it asks the loop to stop, and the loop stops after the step that is running (its
callbacks included). A second Ctrl-C raises ``KeyboardInterrupt`` at once, except inside the
commit of an optimizer step, which never sees one. A ``KeyboardInterrupt`` raised by code the
loop calls (a callback, a batch generator, the model) is caught the same way.

Either way the loop then raises :class:`TrainingInterrupted` (a ``KeyboardInterrupt``): the
model and the optimizer are as after the last complete step (never half-updated), nothing
more is written, and the checkpoint the :class:`~rnnkit.train.ModelCheckpoint` callback last
wrote stays as it was::

    try:
        fit(model, data, ..., callbacks=[ModelCheckpoint("run.npz")])
    except TrainingInterrupted as stop:
        print(stop)                 # interrupted at epoch 3, step 250; resume with resume='run.npz'
        stop.history, stop.checkpoint, stop.epoch, stop.step
"""

from __future__ import annotations

import signal
import threading

__all__ = ["TrainingInterrupted", "SigintGuard"]


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped by Ctrl-C (or a ``KeyboardInterrupt`` from a callback or a batch source).

    Attributes:
        history: the run's :class:`~rnnkit.train.History`, the interrupted epoch's partial log
            last (``complete=False``; it has no validation values).
        epoch: the epoch in progress (1-based) when training stopped, or the one that had
            just ended when the stop came at its end.
        step: optimizer steps done (the model holds the weights after step ``step``).
        checkpoint: the path the last :class:`~rnnkit.train.ModelCheckpoint` wrote (in this run
            or the resumed one), or None; resuming from it continues after its epoch.
    """

    def __init__(self, message: str, *, history, epoch: int, step: int, checkpoint: str | None):
        super().__init__(message)
        self.history = history
        self.epoch = epoch
        self.step = step
        self.checkpoint = checkpoint


class SigintGuard:
    """``with SigintGuard() as guard:`` a first SIGINT sets ``guard.requested``; a second raises
    ``KeyboardInterrupt`` unless ``guard.critical`` is set. Installed only from the main thread
    over Python's default handler (another handler stays in charge, and then a Ctrl-C raises
    ``KeyboardInterrupt`` where it lands, as usual)."""

    def __init__(self) -> None:
        self.requested = False
        self.critical = False
        self._previous = None

    def __enter__(self) -> SigintGuard:
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested and not self.critical:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> bool:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False
