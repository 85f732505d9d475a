"""Truncated backpropagation through time on long sequences (char-RNN style training).

A long sequence of ``S`` steps is cut into ``B = batch_size`` contiguous streams, laid side
by side as a batch ``(B, S // B, ...)``. Training walks along the streams in windows of
``k`` steps::

    state = None                                   # zero state at the start of a sequence
    for each window w:  x (B, k, ...), y (B, k, ...)
        out, state = model(x, state)               # forward k steps from the carried state
        loss(out, y); model.backward(dloss)        # BPTT over these k steps only
        optimizer.step()
        state = copy(state)                        # carried forward, gradient cut

so each step's hidden state has seen the whole stream so far, while the gradient flows back
at most ``k`` steps. The model follows the stateful protocol ``model(x, state) -> (out,
state)`` and ``model.backward(d_out)``: :class:`~rnnkit.train.SequenceModel`,
:class:`~rnnkit.train.CharRNN`, or a recurrent layer built with ``batch_first=True``.

The state starts from zero at every epoch and every sequence of a list of sequences, and
every ``reset_every`` windows when asked.

Example::

    model = CharRNN(vocab_size=65, hidden_size=128, rng=0)
    hist = fit_tbptt(model, ids, k=64, batch_size=32, loss="cross_entropy",
                     optimizer=optim.Adam(model.parameters(), 2e-3), epochs=5,
                     metrics=["bpc"], clip_grad_norm=5.0, val_data=val_ids)
"""

from __future__ import annotations

import copy

import numpy as np

from rnnkit._checks import check_int
from rnnkit._grad_mode import inference_mode
from rnnkit.nn._state import detach_state
from rnnkit.train.evaluation import Evaluation
from rnnkit.train.history import History
from rnnkit.train.trainer import Trainer, split_output

__all__ = ["fit_tbptt", "evaluate_tbptt", "stream_windows"]


def _sequences(sequence, targets, name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(x, y), ...]``, one pair per sequence; ``targets=None`` means next-step prediction."""
    seqs = list(sequence) if isinstance(sequence, list) else [sequence]
    if targets is None:
        pairs = []
        for s in seqs:
            a = np.asarray(s)
            if a.ndim == 0 or a.shape[0] < 2:
                raise ValueError(f"{name} needs at least 2 steps for next-step targets, got shape {a.shape}")
            pairs.append((a[:-1], a[1:]))
    else:
        tgts = list(targets) if isinstance(targets, list) else [targets]
        if len(tgts) != len(seqs):
            raise ValueError(f"{name}: got {len(seqs)} sequences but {len(tgts)} target sequences")
        pairs = [(np.asarray(s), np.asarray(t)) for s, t in zip(seqs, tgts)]
    for i, (x, y) in enumerate(pairs):
        if x.ndim == 0 or y.ndim == 0 or x.shape[0] != y.shape[0]:
            raise ValueError(f"{name}: sequence {i} has {np.shape(x)} inputs but {np.shape(y)} targets (same S needed)")
    return pairs


def _streams(a: np.ndarray, B: int, name: str) -> np.ndarray:
    """``(S, ...)`` -> ``(B, S // B, ...)``: stream b is ``a[b*n : (b+1)*n]``; the tail is dropped."""
    n = a.shape[0] // B
    if n < 1:
        raise ValueError(f"{name} has {a.shape[0]} steps, fewer than batch_size={B}")
    return a[: n * B].reshape((B, n) + a.shape[1:])


def stream_windows(x, y, k: int, batch_size: int, reset_every: int | None = None, name: str = "sequence"):
    """Yield ``{"x": (B, k', ...), "y": (B, k', ...), "reset": bool}`` windows of one sequence.

    ``reset`` is True on the first window and every ``reset_every`` windows after it.
    """
    xs, ys = _streams(x, batch_size, name), _streams(y, batch_size, name)   # (B, n, ...)
    n = xs.shape[1]
    for w, start in enumerate(range(0, n, k)):
        reset = w == 0 or (reset_every is not None and w % reset_every == 0)
        yield {"x": xs[:, start:start + k], "y": ys[:, start:start + k], "reset": reset}


def fit_tbptt(model, sequence, targets=None, *, k: int, batch_size: int = 1, loss, optimizer=None,
              epochs: int = 1, val_data=None, metrics=(), callbacks=(), clip_grad_norm: float | None = None,
              on_nonfinite: str = "raise", reset_every: int | None = None, progress: bool = True,
              resume=None) -> History:
    """Train a stateful model on long sequences with truncated BPTT over windows of ``k`` steps.

    Args:
        model: follows ``model(x, state) -> (out, state)`` and ``model.backward(d_out)``.
        sequence: one array ``(S,)`` of ids or ``(S, I)`` of features, or a list of them
            (the state resets between sequences).
        targets: same structure, per step; None for next-step prediction on ``sequence``.
        k: truncation length (steps per window and per backward pass).
        batch_size: parallel contiguous streams ``B``.
        loss, optimizer, epochs, metrics, callbacks, clip_grad_norm, on_nonfinite, progress,
            resume: as in :func:`~rnnkit.train.fit`.
        val_data: a sequence (next-step targets) or a tuple ``(sequence, targets)``, evaluated
            after each epoch with the state carried through it.
        reset_every: also reset the state every this many windows (None: only per sequence).
    """
    k = check_int("k", k, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    epochs = check_int("epochs", epochs, 0)
    if reset_every is not None:
        reset_every = check_int("reset_every", reset_every, 1)
    pairs = _sequences(sequence, targets, "sequence")
    for i, (x, _) in enumerate(pairs):
        _streams(x, batch_size, f"sequence {i}")
    trainer = Trainer(model, loss, optimizer, metrics=metrics, callbacks=callbacks, clip_grad_norm=clip_grad_norm,
                      on_nonfinite=on_nonfinite, progress=progress, shuffle_rng=False)

    def epoch_batches(epoch):
        for i, (x, y) in enumerate(pairs):
            yield from stream_windows(x, y, k, batch_size, reset_every, f"sequence {i}")

    def validate():
        vs, vt = val_data if isinstance(val_data, tuple) else (val_data, None)
        return evaluate_tbptt(model, vs, vt, k=k, batch_size=batch_size, loss=trainer.criterion,
                              metrics=[copy.deepcopy(m) for m in trainer.metrics])

    n_batches = sum(-(-(x.shape[0] // batch_size) // k) for x, _ in pairs)
    return trainer.run(epochs, epoch_batches, n_batches, validate if val_data is not None else None,
                       stateful=True, resume=resume)


def evaluate_tbptt(model, sequence, targets=None, *, k: int = 256, batch_size: int = 1, loss=None,
                   metrics=()) -> dict:
    """Loss and metrics over long sequences, state carried across windows (eval mode, no caches).

    The loss is averaged over every predicted step (windows weighted by their size).
    """
    k = check_int("k", k, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    ev = Evaluation(loss, metrics)
    with inference_mode(model):
        for i, (x, y) in enumerate(_sequences(sequence, targets, "val sequence")):
            state = None
            for w in stream_windows(x, y, k, batch_size, None, f"val sequence {i}"):
                pred, state = split_output(model(w["x"], state))
                state = detach_state(state)
                ev.add(pred, w["y"], n=int(np.prod(w["y"].shape[:2])))
    return ev.result()
