"""The training loop shared by :func:`~rnnkit.train.fit` and :func:`~rnnkit.train.fit_tbptt`.

One optimizer step::

    model.zero_grad()
    pred = model(x[, state][, lengths=...])      # (B, O) or (B, T, O); stateful: (pred, state)
    loss = criterion(pred, y[, mask=...])        # mask (B, T): real steps of padded sequences
    model.backward(criterion.backward())         # BPTT; grads accumulate into p.grad
    check every p.grad is finite                 # else NonFiniteError, or skip the step
    clip_grad_norm_(params, max_norm)            # optional
    optimizer.step()                             # weights that turn non-finite are rolled back

An epoch runs the steps of its batches, then validation, then the callbacks (checkpoint
writers last), and appends one log dict to ``history``.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Iterable

import numpy as np

from rnnkit._checks import as_rng, check_bool, check_choice
from rnnkit.nn._state import detach_state
from rnnkit.nn.module import Module
from rnnkit.nn.sequence import length_mask
from rnnkit.train.callbacks import Callback
from rnnkit.train.errors import NonFiniteError
from rnnkit.train.history import History
from rnnkit.train.metrics import Metric, get_metric

__all__ = ["Trainer", "make_loss", "split_output"]

_LOSSES = {
    "mse": "MSELoss", "l1": "L1Loss", "mae": "L1Loss", "huber": "HuberLoss",
    "cross_entropy": "CrossEntropyLoss", "ce": "CrossEntropyLoss", "bce": "BCEWithLogitsLoss",
}


def make_loss(loss):
    """A loss module from a name in ``{'mse', 'l1', 'huber', 'cross_entropy', 'bce'}`` or the module itself."""
    if isinstance(loss, str):
        from rnnkit import nn

        if loss.lower() not in _LOSSES:
            raise ValueError(f"loss must be a loss module or one of {sorted(_LOSSES)}, got {loss!r}")
        return getattr(nn, _LOSSES[loss.lower()])()
    if not (callable(loss) and hasattr(loss, "backward")):
        raise TypeError(f"loss must be a loss module (loss = crit(pred, target); crit.backward()), got {loss!r}")
    return loss


def split_output(res):
    """``model(...)`` may return ``pred`` or ``(pred, state)`` (recurrent layers, SequenceModel)."""
    if isinstance(res, tuple):
        return res[0], (res[1] if len(res) > 1 else None)
    return res, None


def _count(y, mask, stateful: bool) -> int:
    """How many targets a batch's mean loss averages over: real steps under a mask, else
    examples (``B``), or examples times steps (``B * k``) for a truncated-BPTT window."""
    if mask is not None:
        return int(mask.sum())
    return int(np.prod(np.shape(y)[: 2 if stateful else 1]))


def _finite_state(state) -> bool:
    parts = state if isinstance(state, tuple) else (state,)
    return all(np.all(np.isfinite(s)) for s in parts if s is not None)


class Trainer:
    """Holds a run's objects and counters; :meth:`run` trains, :meth:`train_step` does one step.

    ``epoch`` and ``step`` count completed epochs and attempted optimizer steps; ``rng`` is
    the shuffling Generator (None when nothing is shuffled); ``stop_training`` ends the run
    after the current epoch. Checkpoints save and restore all of these.
    """

    def __init__(self, model: Module, loss, optimizer=None, *, metrics: Iterable = (),
                 callbacks: Iterable[Callback] = (), clip_grad_norm: float | None = None,
                 on_nonfinite: str = "raise", progress: bool = True, rng=None, shuffle_rng: bool = True):
        if not isinstance(model, Module):
            raise TypeError(f"model must be an rnnkit.nn.Module, got {type(model).__name__}")
        self.model = model
        self.criterion = make_loss(loss)
        if optimizer is None:
            from rnnkit.optim import Adam

            optimizer = Adam(model.parameters(), lr=1e-3)
        if not (hasattr(optimizer, "step") and hasattr(optimizer, "state_dict")):
            raise TypeError(f"optimizer must have step() and state_dict(), got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.metrics: list[Metric] = [get_metric(m) for m in metrics]
        self.callbacks: list[Callback] = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}")
        if clip_grad_norm is not None and (isinstance(clip_grad_norm, bool) or not clip_grad_norm > 0):
            raise ValueError(f"clip_grad_norm must be None or a number > 0, got {clip_grad_norm!r}")
        self.clip_grad_norm = clip_grad_norm
        self.on_nonfinite = check_choice("on_nonfinite", on_nonfinite, ("raise", "skip"))
        self.progress = check_bool("progress", progress)
        self.rng = as_rng(rng) if shuffle_rng else None
        self.epoch = 0
        self.step = 0
        self.stop_training = False
        self.history = History()
        self._where = ""

    # -- one step -----------------------------------------------------------------------
    def train_step(self, x, y, lengths=None, state=None, stateful: bool = False):
        """Forward, loss, backward, checks, clip, update. Returns ``(loss, pred, mask, state)``;
        ``loss`` is None when the step was skipped (``on_nonfinite='skip'``)."""
        model, crit = self.model, self.criterion
        self.step += 1
        model.train()
        model.zero_grad()
        kw = {} if lengths is None else {"lengths": lengths}
        pred, new_state = split_output(model(x, state, **kw) if stateful else model(x, **kw))
        mask = None
        if lengths is not None and pred.ndim == 3 and pred.shape[:2] == np.shape(x)[:2]:
            mask = length_mask(lengths, pred.shape[1], batch_first=True)    # (B, T)
        loss = crit(pred, y) if mask is None else crit(pred, y, mask=mask)
        if np.ndim(loss) != 0:
            crit.clear_cache()
            model.clear_cache()
            raise TypeError(f"the loss must reduce to a number (reduction 'mean' or 'sum'), got shape {np.shape(loss)}")
        if not np.isfinite(loss):
            self._nonfinite(f"loss ({loss})", "loss")
            return None, pred, mask, new_state
        model.backward(crit.backward())
        for name, p in model.named_parameters():
            if p.grad is not None and not np.all(np.isfinite(p.grad)):
                self._nonfinite(f"gradient of parameter {name!r}", name)
                return None, pred, mask, new_state
        params = [p for p in model.parameters() if p.grad is not None]
        if self.clip_grad_norm is not None:
            from rnnkit.optim import clip_grad_norm_

            clip_grad_norm_(params, self.clip_grad_norm)
        before = [(p, p.data.copy()) for p in params]
        opt_before = copy.deepcopy(self.optimizer.state_dict())       # moments, step counts
        self.optimizer.step()
        for name, p in model.named_parameters():
            if not np.all(np.isfinite(p.data)):
                for q, old in before:       # never keep non-finite weights
                    q.data[...] = old
                self.optimizer.load_state_dict(opt_before)            # nor the optimizer's advanced state
                self._nonfinite(f"value of parameter {name!r} after the update (update undone)", name)
                return None, pred, mask, new_state
        return float(loss), pred, mask, new_state

    def _nonfinite(self, what: str, name: str) -> None:
        self.model.clear_cache()
        self.criterion.clear_cache()
        self.model.zero_grad()
        msg = f"non-finite {what} at step {self.step} ({self._where})"
        if self.on_nonfinite == "raise":
            raise NonFiniteError(msg, step=self.step, epoch=self.epoch + 1, name=name)
        warnings.warn(msg + "; step skipped", RuntimeWarning, stacklevel=3)

    # -- the loop -----------------------------------------------------------------------
    def run(self, epochs: int, epoch_batches: Callable[[int], Iterable[dict]], num_batches: int,
            validate: Callable[[], dict] | None = None, stateful: bool = False, resume=None) -> History:
        """Train until ``epochs`` epochs are complete (counting those of a resumed run).

        ``epoch_batches(epoch)`` yields dicts with ``x``, ``y`` and optionally ``lengths`` and
        (stateful) ``reset`` (start from a zero state). ``validate()`` returns metrics that go
        into the epoch logs prefixed with ``val_``.
        """
        from tqdm.auto import tqdm

        if resume is not None:
            from rnnkit.train.checkpoint import load_checkpoint

            load_checkpoint(resume, self)
        ordered = [cb for cb in self.callbacks if not cb.runs_last] + [cb for cb in self.callbacks if cb.runs_last]
        for cb in self.callbacks:
            cb.on_train_begin(self)
        while self.epoch < epochs and not self.stop_training:
            e = self.epoch + 1
            for cb in self.callbacks:
                cb.on_epoch_begin(self, e)
            for m in self.metrics:
                m.reset()
            lr = float(self.optimizer.param_groups[0]["lr"]) if hasattr(self.optimizer, "param_groups") else None
            total, count, skipped, state = 0.0, 0, 0, None
            t0 = time.perf_counter()
            bar = tqdm(total=num_batches, desc=f"epoch {e}/{epochs}", disable=not self.progress, leave=True,
                       dynamic_ncols=True)
            try:
                for b, batch in enumerate(epoch_batches(e), start=1):
                    self._where = f"epoch {e}, batch {b}"
                    if stateful and batch.get("reset", False):
                        state = None
                    loss, pred, mask, new_state = self.train_step(
                        batch["x"], batch["y"], batch.get("lengths"), state, stateful)
                    state = detach_state(new_state) if stateful else None
                    if loss is None and state is not None and not _finite_state(state):
                        state = None            # a skipped window must not pass NaN on to the next one
                    self.history.steps.append(loss)
                    if loss is None:
                        skipped += 1
                    else:
                        n = _count(batch["y"], mask, stateful)
                        total, count = total + loss * n, count + n
                        for m in self.metrics:
                            m.update(pred, batch["y"], mask)
                        bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
                    bar.update(1)
                    for cb in self.callbacks:
                        cb.on_batch_end(self, self.step, {"loss": loss})
                logs = {"epoch": e, "loss": total / count if count else float("nan")}
                logs.update({m.name: m.compute() for m in self.metrics})
                if validate is not None:
                    logs.update({"val_" + k: v for k, v in validate().items()})
                logs.update({"lr": lr, "skipped_steps": skipped, "seconds": time.perf_counter() - t0})
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if k in ("loss", "val_loss")}, refresh=True)
            finally:
                bar.close()
            self.epoch = e
            self.history.epochs.append(logs)
            for cb in ordered:
                cb.on_epoch_end(self, e, logs)
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self.history
