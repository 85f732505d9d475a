"""The training step shared by :func:`~rnnkit.train.fit` and :func:`~rnnkit.train.fit_tbptt`.

One optimizer step::

    model.zero_grad()
    pred = model(x[, state][, lengths=...])      # (B, O) or (B, T, O); stateful: (pred, state)
    loss = criterion(pred, y[, mask=...])        # mask (B, T): real steps of padded sequences
    model.backward(criterion.backward())         # BPTT; grads accumulate into p.grad
    check every p.grad is finite                 # else NonFiniteError, or skip the step
    clip_grad_norm_(params, max_norm)            # optional
    optimizer.step_if_finite()                   # committed only if every new weight is finite

The last line is where a non-finite update is undone at no cost: an rnnkit optimizer computes
the new weights and moments into spare arrays and commits them only when all new weights are
finite (see :meth:`rnnkit.optim.Optimizer.step_if_finite`), so nothing is copied to be able
to roll back. Another optimizer (anything with ``step()`` and ``state_dict()``) is stepped
with copies of the weights and of its state taken before, put back if a weight turns
non-finite. Either way a step never leaves NaN or inf in the weights nor a half-advanced
optimizer state. The epochs around the steps are in :mod:`rnnkit.train.loop`.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections.abc import Iterable

import numpy as np

from rnnkit._checks import as_rng, check_bool, check_choice
from rnnkit.nn.module import Module
from rnnkit.nn.sequence import length_mask
from rnnkit.optim.optimizer import Optimizer, all_finite
from rnnkit.train.callbacks import Callback
from rnnkit.train.errors import NonFiniteError
from rnnkit.train.history import History
from rnnkit.train.metrics import Metric, get_metric

__all__ = ["Trainer", "make_loss", "split_output", "step_mask"]

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


def step_mask(pred, x, lengths) -> np.ndarray | None:
    """The ``(B, T)`` mask of real steps when a per-step prediction ``(B, T, O)`` meets ``lengths``."""
    if lengths is not None and np.ndim(pred) == 3 and np.shape(pred)[:2] == np.shape(x)[:2]:
        return length_mask(lengths, np.shape(pred)[1], batch_first=True)    # (B, T)
    return None


def _check_list(name: str, value, kind: str) -> list:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of {kind}, got {type(value).__name__} {value!r:.60}")
    return list(value)


class Trainer:
    """Holds a run's objects and counters; :meth:`run` trains, :meth:`train_step` does one step.

    ``epoch`` and ``step`` count completed epochs (a partial one included, see
    :mod:`rnnkit.train.loop`) and optimizer steps (skipped ones included); ``rng`` is the
    shuffling Generator (None when nothing is shuffled); ``stop_training`` ends the run after
    the current step. Checkpoints save and restore all of these.
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
        self.metrics: list[Metric] = [get_metric(m) for m in _check_list("metrics", metrics, "metric names")]
        self.callbacks: list[Callback] = _check_list("callbacks", callbacks, "Callback objects")
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be Callback instances, got {type(cb).__name__}")
        if clip_grad_norm is not None:
            if isinstance(clip_grad_norm, bool) or not isinstance(clip_grad_norm, numbers.Real):
                raise TypeError(f"clip_grad_norm must be None or a number > 0, got {type(clip_grad_norm).__name__} "
                                f"{clip_grad_norm!r}")
            if not (math.isfinite(clip_grad_norm) and clip_grad_norm > 0):
                raise ValueError(f"clip_grad_norm must be None or a finite number > 0, got {clip_grad_norm!r}")
            clip_grad_norm = float(clip_grad_norm)
        self.clip_grad_norm = clip_grad_norm
        self.on_nonfinite = check_choice("on_nonfinite", on_nonfinite, ("raise", "skip"))
        self.progress = check_bool("progress", progress)
        self.rng = as_rng(rng) if shuffle_rng else None
        self.epoch = 0
        self.step = 0
        self.stop_training = False
        self.history = History()
        self._where = ""
        self._guard = None            # the SigintGuard of a running loop
        self._current_epoch = 0       # the epoch the loop is in
        self.log_keys: set[str] | None = None     # what the epoch logs will hold (set by the loop)

    # -- one step -----------------------------------------------------------------------
    def train_step(self, x, y, lengths=None, state=None, stateful: bool = False):
        """Forward, loss, backward, checks, clip, update. Returns ``(loss, pred, mask, state)``;
        ``loss`` is None when the step was skipped (``on_nonfinite='skip'``). A step that
        raises (an error, a ``KeyboardInterrupt``) changes no weight and is not counted."""
        self.step += 1
        try:
            return self._step(x, y, lengths, state, stateful)
        except BaseException:
            self.step -= 1
            self.model.clear_cache()
            self.criterion.clear_cache()
            raise

    def _step(self, x, y, lengths, state, stateful):
        model, crit = self.model, self.criterion
        model.train()
        model.zero_grad()
        kw = {} if lengths is None else {"lengths": lengths}
        pred, new_state = split_output(model(x, state, **kw) if stateful else model(x, **kw))
        mask = step_mask(pred, x, lengths)
        loss = crit(pred, y) if mask is None else crit(pred, y, mask=mask)
        if np.ndim(loss) != 0:
            raise TypeError(f"the loss must reduce to a number (reduction 'mean' or 'sum'), got shape {np.shape(loss)}")
        if not np.isfinite(loss):
            self._nonfinite(f"loss ({loss})", "loss")
            return None, pred, mask, new_state
        model.backward(crit.backward())
        params, bad = [], None
        with np.errstate(over="ignore", invalid="ignore"):        # a^2 of large finite values may overflow
            for name, p in model.named_parameters():
                if p.grad is not None:
                    if not all_finite(p.grad):
                        bad = name
                        break
                    params.append(p)
        if bad is not None:
            self._nonfinite(f"gradient of parameter {bad!r}", bad)
            return None, pred, mask, new_state
        if self.clip_grad_norm is not None:
            from rnnkit.optim import clip_grad_norm_

            clip_grad_norm_(params, self.clip_grad_norm)
        bad = self._update(params)
        if bad:
            name = next(n for n, p in model.named_parameters() if any(p is q for q in bad))
            self._nonfinite(f"value of parameter {name!r} after the update (update undone)", name)
            return None, pred, mask, new_state
        return float(loss), pred, mask, new_state

    def _update(self, params) -> list:
        """The optimizer step, committed only if every weight stays finite; returns the
        parameters that would not have (nothing changed then)."""
        guard = self._guard
        if guard is not None:
            guard.critical = True               # a Ctrl-C waits until the commit is done
        try:
            if isinstance(self.optimizer, Optimizer):
                return self.optimizer.step_if_finite()
            before = [(p, p.data.copy()) for p in params]
            opt_before = copy.deepcopy(self.optimizer.state_dict())       # moments, step counts
            self.optimizer.step()
            bad = [p for p, _ in before if not all_finite(p.data)]
            if bad:
                for p, old in before:
                    p.data[...] = old
                self.optimizer.load_state_dict(opt_before)
            return bad
        finally:
            if guard is not None:
                guard.critical = False

    def _nonfinite(self, what: str, name: str) -> None:
        self.model.clear_cache()
        self.criterion.clear_cache()
        self.model.zero_grad()
        msg = f"non-finite {what} at step {self.step} ({self._where})"
        if self.on_nonfinite == "raise":
            raise NonFiniteError(msg, step=self.step, epoch=self.epoch + 1, name=name)
        warnings.warn(msg + "; step skipped", RuntimeWarning, stacklevel=4)

    # -- the loop -----------------------------------------------------------------------
    def run(self, epochs: int | None, epoch_batches, num_batches: int | None, validate=None, stateful: bool = False,
            resume=None, *, max_steps: int | None = None, val_every: int | None = None) -> History:
        """Train until ``epochs`` epochs are complete (counting those of a resumed run), or
        ``max_steps`` steps; see :func:`rnnkit.train.loop.run`."""
        from rnnkit.train.loop import run

        return run(self, epochs, epoch_batches, num_batches, validate, stateful, resume,
                   max_steps=max_steps, val_every=val_every)
