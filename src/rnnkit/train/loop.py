"""The epochs of a training run: steps, validation every N steps, callbacks, stops, Ctrl-C.

::

    every callback's setup(); load the checkpoint to resume from; on_train_begin
    while epochs remain, stop_training is unset and step < max_steps:
        on_epoch_begin
        for each batch of the epoch:          (steps_per_epoch of them, or until the data ends)
            train_step; history.steps; metrics; on_batch_end
            every val_every steps: validate -> history.validations; on_validation_end
            Ctrl-C asked, stop_training set or max_steps reached: the epoch ends here
        the validation, the epoch's log -> history.epochs; on_epoch_end (checkpoint writers last)
    on_train_end

An epoch that ended before its data did is *partial*: its log has ``complete=False`` and the
loss and metrics of the batches it ran; it counts as an epoch (``trainer.epoch``), and its
``on_epoch_end`` runs, so a :class:`~rnnkit.train.ModelCheckpoint` writes it. A run resumed
from that checkpoint starts the next epoch: the state it restores (weights, optimizer, random
generators, callbacks) is exact, but the rest of the partial epoch's batches is not visited.
Resuming from a checkpoint written at the end of a complete epoch reproduces the
uninterrupted run step for step.

On Ctrl-C (see :mod:`rnnkit.train.interrupt`) the loop stops at the next safe point, after
the running step, appends the partial epoch's log (no validation, no ``on_epoch_end``, no new
checkpoint) and raises :class:`~rnnkit.train.TrainingInterrupted`.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from rnnkit.train.carry import carry_state, next_state
from rnnkit.train.interrupt import SigintGuard, TrainingInterrupted

__all__ = ["run"]

_END = object()


class _Interrupted(KeyboardInterrupt):
    """Raised by the loop itself at a safe point after a deferred Ctrl-C."""


def run(trainer, epochs, epoch_batches, num_batches, validate=None, stateful=False, resume=None, *,
        max_steps=None, val_every=None):
    """Train ``trainer`` (see the module docstring); returns its history.

    ``epoch_batches(epoch)`` yields dicts with ``x``, ``y`` and optionally ``lengths`` and
    (stateful) ``reset`` (see :mod:`rnnkit.train.carry`); ``num_batches`` is how many an epoch
    has when it runs to its end (None: unknown). ``validate()`` returns metrics that go into
    the logs prefixed with ``val_``. ``epochs`` None means no limit but ``max_steps``.
    """
    trainer.log_keys = {"epoch", "loss", "lr", "skipped_steps", "batches", "complete", "seconds",
                        *(m.name for m in trainer.metrics)}
    if validate is not None:
        trainer.log_keys |= {"val_loss", *("val_" + m.name for m in trainer.metrics)}
    for cb in trainer.callbacks:
        cb.setup(trainer)
    if resume is not None:
        from rnnkit.train.checkpoint import load_checkpoint

        load_checkpoint(resume, trainer)
    with SigintGuard() as guard:
        trainer._guard = guard
        try:
            _train(trainer, epochs, epoch_batches, num_batches, validate, stateful, max_steps, val_every)
        except KeyboardInterrupt as err:
            if isinstance(err, TrainingInterrupted):
                raise
            raise _interruption(trainer) from (None if isinstance(err, _Interrupted) else err)
        finally:
            trainer._guard = None
    return trainer.history


def _interruption(trainer) -> TrainingInterrupted:
    from rnnkit.train.callbacks import ModelCheckpoint

    writers = [cb for cb in trainer.callbacks if isinstance(cb, ModelCheckpoint) and cb.last_path]
    path = writers[-1].last_path if writers else None
    e, s = trainer._current_epoch, trainer.step
    msg = f"training interrupted at epoch {e}, step {s}: the model holds the weights after step {s}"
    if path is not None:
        msg += f"; the last checkpoint is {path} (epoch {writers[-1].last_epoch}); resume with resume={path!r}"
    else:
        msg += "; no checkpoint was written"
    return TrainingInterrupted(msg, history=trainer.history, epoch=e, step=s, checkpoint=path)


def _train(trainer, epochs, epoch_batches, num_batches, validate, stateful, max_steps, val_every):
    ordered = [cb for cb in trainer.callbacks if not cb.runs_last] + [cb for cb in trainer.callbacks if cb.runs_last]
    trainer._current_epoch = trainer.epoch + 1
    for cb in trainer.callbacks:
        cb.on_train_begin(trainer)
    first = trainer.epoch + 1
    while (epochs is None or trainer.epoch < epochs) and not trainer.stop_training and \
            not (max_steps is not None and trainer.step >= max_steps):
        if not _epoch(trainer, trainer.epoch + 1, epochs, epoch_batches, num_batches, validate, stateful,
                      max_steps, val_every, ordered):
            if trainer.epoch + 1 == first:
                raise ValueError("the training data gave no batches")
            warnings.warn(f"the training data gave no batches for epoch {trainer.epoch + 1}: training ends after "
                          f"epoch {trainer.epoch} (a one-shot iterator is used up by one pass: pass steps_per_epoch "
                          "to cut it into epochs, or a callable epoch -> batches)", RuntimeWarning, stacklevel=4)
            break
    for cb in trainer.callbacks:
        cb.on_train_end(trainer)


def _epoch(trainer, e, epochs, epoch_batches, num_batches, validate, stateful, max_steps, val_every, ordered) -> bool:
    """One epoch; False when its data gave no batch at all (nothing happened then)."""

    guard, history = trainer._guard, trainer.history
    trainer._current_epoch = e
    for cb in trainer.callbacks:
        cb.on_epoch_begin(trainer, e)
    for m in trainer.metrics:
        m.reset()
    opt = trainer.optimizer
    lr = float(opt.param_groups[0]["lr"]) if hasattr(opt, "param_groups") else None
    total, count, skipped, n, state, stopped, last_val = 0.0, 0, 0, 0, None, False, None
    t0 = time.perf_counter()
    if trainer.progress:
        from tqdm.auto import tqdm

        total_bar = num_batches if max_steps is None or num_batches is None else \
            min(num_batches, max(max_steps - trainer.step, 0))
        bar = tqdm(total=total_bar, desc=f"epoch {e}" + (f"/{epochs}" if epochs is not None else ""), leave=True,
                   dynamic_ncols=True)
    else:
        bar = _NoBar()
    logs = None
    try:
        batches = iter(epoch_batches(e))
        while True:
            if trainer.stop_training or (max_steps is not None and trainer.step >= max_steps):
                stopped = True
                break
            trainer._where = f"epoch {e}, batch {n + 1}"
            batch = next(batches, _END)
            if batch is _END:
                break
            n += 1
            if stateful:
                state = carry_state(state, batch)
            loss, pred, mask, new_state = trainer.train_step(batch["x"], batch["y"], batch.get("lengths"), state,
                                                             stateful)
            if stateful:
                state = next_state(new_state, loss is None)
            history.steps.append(loss)
            if loss is None:
                skipped += 1
            else:
                k = _count(batch["y"], mask, stateful)
                total, count = total + loss * k, count + k
                for m in trainer.metrics:
                    m.update(pred, batch["y"], mask)
                bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
            bar.update(1)
            for cb in trainer.callbacks:
                cb.on_batch_end(trainer, trainer.step, {"loss": loss})
            if val_every is not None and validate is not None and trainer.step % val_every == 0:
                last_val = (trainer.step, {"val_" + k: v for k, v in validate().items()})
                history.validations.append({"step": trainer.step, "epoch": e, "batch": n, **last_val[1]})
                for cb in trainer.callbacks:
                    cb.on_validation_end(trainer, trainer.step, last_val[1])
            if guard is not None and guard.requested:
                raise _Interrupted
        if n == 0:
            return False
        logs = _logs(trainer, e, total, count)
        if validate is not None:
            logs.update(last_val[1] if last_val is not None and last_val[0] == trainer.step else
                        {"val_" + k: v for k, v in validate().items()})
        complete = not stopped or (num_batches is not None and n >= num_batches)
        logs.update({"lr": lr, "skipped_steps": skipped, "batches": n, "complete": complete,
                     "seconds": time.perf_counter() - t0})
        bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k in ("loss", "val_loss")}, refresh=True)
    except KeyboardInterrupt:
        if n > 0:                       # the interrupted epoch, as far as it went
            logs = _logs(trainer, e, total, count)
            logs.update({"lr": lr, "skipped_steps": skipped, "batches": n,
                         "complete": num_batches is not None and n >= num_batches, "interrupted": True,
                         "seconds": time.perf_counter() - t0})
            trainer.epoch = e
            history.epochs.append(logs)
        raise
    finally:
        bar.close()
    trainer.epoch = e
    history.epochs.append(logs)
    for cb in ordered:
        cb.on_epoch_end(trainer, e, logs)
    if guard is not None and guard.requested:
        raise _Interrupted
    return True


class _NoBar:
    """What the loop calls on a progress bar, doing nothing (``progress=False``)."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass


def _logs(trainer, e, total, count) -> dict:
    logs = {"epoch": e, "loss": total / count if count else float("nan")}
    logs.update({m.name: m.compute() for m in trainer.metrics})
    return logs


def _count(y, mask, stateful: bool) -> int:
    """How many targets a batch's mean loss averages over: real steps under a mask, else
    examples (``B``), or examples times steps (``B * k``) for a truncated-BPTT window."""
    if mask is not None:
        return int(mask.sum())
    return int(np.prod(np.shape(y)[: 2 if stateful else 1]))
