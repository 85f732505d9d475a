"""Truncated backpropagation through time on long sequences (char-RNN style training).

A long sequence of ``S`` steps is cut into ``B = batch_size`` contiguous streams, laid side
by side as a batch ``(B, S // B, ...)`` (:func:`rnnkit.data.split_streams`). Training walks
along the streams in windows of ``k`` steps::

    state = None                                   # zero state at the start of a sequence
    for each window w:  x (B, k, ...), y (B, k, ...)
        out, state = model(x, state)               # forward k steps from the carried state
        loss(out, y); model.backward(dloss)        # BPTT over these k steps only
        optimizer.step()
        state = copy(state)                        # carried forward, gradient cut

so each step's hidden state has seen the whole stream so far, while the gradient flows back
at most ``k`` steps. The model follows the stateful protocol ``model(x, state) -> (out,
state)`` and ``model.backward(d_out)``: :class:`~rnnkit.models.SequenceModel`,
:class:`~rnnkit.models.CharRNN`, or a recurrent layer built with ``batch_first=True``.

How the data become streams is the ``layout``:

- ``'split'`` (default): one sequence ``(S, ...)`` or a list of them, each cut into ``B``
  streams; the state starts from zero at every epoch and every sequence (each needs ``S >= B``
  steps), and every ``reset_every`` windows when asked.
- ``'documents'``: a list of documents of any lengths packed into ``B`` streams, each document
  starting at a window boundary with a zero state for its stream (see
  :mod:`rnnkit.train.documents`); for many short documents.
- ``'strips'``: streams already cut, an array ``(B, S, ...)`` (or a list of them) used as it
  is: row ``b`` is stream ``b``; ``batch_size`` is ignored.

Targets: the same structure as the inputs, or None for next-step prediction (``y[t] = x[t+1]``
within each sequence, document or strip).

Example::

    model = CharRNN(vocab_size=65, hidden_size=128, rng=0)
    hist = fit_tbptt(model, ids, k=64, batch_size=32, loss="cross_entropy",
                     optimizer=optim.Adam(model.parameters(), 2e-3), epochs=5,
                     metrics=["bpc"], clip_grad_norm=5.0, val_data=val_ids)
    hist = fit_tbptt(model, [ids_of_file_1, ids_of_file_2, ...], layout="documents", k=64,
                     batch_size=32, loss="cross_entropy")
"""

from __future__ import annotations

import copy

import numpy as np

from rnnkit._checks import check_choice, check_int, to_numpy
from rnnkit._grad_mode import inference_mode
from rnnkit.data.streams import split_streams, window_bounds
from rnnkit.train.carry import carry_state, next_state
from rnnkit.train.documents import count_windows, document_windows
from rnnkit.train.evaluation import Evaluation
from rnnkit.train.history import History
from rnnkit.train.preflight import check_class_ids, dry_run
from rnnkit.train.trainer import Trainer, split_output, step_mask

__all__ = ["fit_tbptt", "evaluate_tbptt", "stream_windows"]

LAYOUTS = ("split", "documents", "strips")


def _pairs(sequence, targets, name: str, layout: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(x, y), ...]``, one pair per sequence, document or strip array; ``targets=None``
    means next-step prediction along the time axis (0, or 1 for strips)."""
    many = isinstance(sequence, list)
    if layout == "documents" and not many:
        raise TypeError(f"{name}: layout='documents' needs a list of documents, got {type(sequence).__name__}")
    seqs = list(sequence) if many else [sequence]
    if not seqs:
        raise ValueError(f"{name} holds no sequences (an empty list)")
    t_axis = 1 if layout == "strips" else 0
    pairs = []
    if targets is None:
        for i, s in enumerate(seqs):
            a = np.asarray(to_numpy(s))
            if a.ndim <= t_axis or a.shape[t_axis] < 2:
                raise ValueError(f"{name}[{i}] needs at least 2 steps for next-step targets"
                                 f"{' on axis 1 (B, S, ...)' if t_axis else ''}, got shape {a.shape}")
            pairs.append((a[:-1], a[1:]) if t_axis == 0 else (a[:, :-1], a[:, 1:]))
    else:
        tgts = list(targets) if isinstance(targets, list) else [targets]
        if len(tgts) != len(seqs) or many != isinstance(targets, list):
            raise ValueError(f"{name}: got {len(seqs)} sequences but {len(tgts)} target sequences")
        pairs = [(np.asarray(to_numpy(s)), np.asarray(to_numpy(t))) for s, t in zip(seqs, tgts)]
    for i, (x, y) in enumerate(pairs):
        if x.ndim <= t_axis or y.ndim <= t_axis or x.shape[: t_axis + 1] != y.shape[: t_axis + 1]:
            lead = "(B, S)" if t_axis else "S"
            raise ValueError(f"{name}[{i}] has {np.shape(x)} inputs but {np.shape(y)} targets (same {lead} needed)")
        if x.shape[t_axis] == 0:
            raise ValueError(f"{name}[{i}] has no steps, shape {x.shape}")
        if (x.shape[t_axis + 1:], y.shape[t_axis + 1:]) != (pairs[0][0].shape[t_axis + 1:],
                                                           pairs[0][1].shape[t_axis + 1:]):
            raise ValueError(f"{name}[{i}] has inputs {x.shape} and targets {y.shape}, but {name}[0] has "
                             f"{pairs[0][0].shape} and {pairs[0][1].shape} (the same features needed)")
    return pairs


def _strip_windows(xs: np.ndarray, ys: np.ndarray, k: int, reset_every: int | None):
    for w, (start, stop) in enumerate(window_bounds(xs.shape[1], k)):
        reset = w == 0 or (reset_every is not None and w % reset_every == 0)
        yield {"x": xs[:, start:stop], "y": ys[:, start:stop], "reset": reset}


def stream_windows(x, y, k: int, batch_size: int, reset_every: int | None = None, name: str = "sequence"):
    """Yield ``{"x": (B, k', ...), "y": (B, k', ...), "reset": bool}`` windows of one sequence.

    ``reset`` is True on the first window and every ``reset_every`` windows after it.
    """
    xs = split_streams(x, batch_size, name=name)                                   # (B, n, ...)
    ys = split_streams(y, batch_size, name=name)
    return _strip_windows(xs, ys, k, reset_every)


def _plan(pairs, layout: str, k: int, B: int, reset_every: int | None, name: str):
    """``(windows() -> iterator of window dicts, number of windows)`` for one pass."""
    if layout == "documents":
        return (lambda: document_windows(pairs, B, k)), count_windows([x.shape[0] for x, _ in pairs], B, k)
    if layout == "strips":
        def windows():
            for x, y in pairs:
                yield from _strip_windows(x, y, k, reset_every)
        return windows, sum(-(-x.shape[1] // k) for x, _ in pairs)
    for i, (x, _) in enumerate(pairs):
        split_streams(x, B, name=f"{name}[{i}]")                    # S >= B, said before anything runs

    def windows():
        for i, (x, y) in enumerate(pairs):
            yield from stream_windows(x, y, k, B, reset_every, f"{name}[{i}]")
    return windows, sum(-(-(x.shape[0] // B) // k) for x, _ in pairs)


def _preflight(trainer, pairs, layout: str, name: str) -> None:
    """The dry run (see :mod:`rnnkit.train.preflight`) on one-stream windows at the start and at
    the extreme integer inputs, and the class-id check of every target."""
    strips = layout == "strips"
    spots = [(0, (0, 0) if strips else (0,))]
    if np.issubdtype(pairs[0][0].dtype, np.integer):
        for pick in (np.argmin, np.argmax):
            values = [pick(x) for x, _ in pairs]
            i = int(pick([x.flat[v] for (x, _), v in zip(pairs, values)]))
            spots.append((i, np.unravel_index(values[i], pairs[i][0].shape)[: 2 if strips else 1]))
    for i, pos in spots:
        x, y = pairs[i]
        sl = (slice(pos[0], pos[0] + 1), slice(pos[1], pos[1] + 2)) if strips else (slice(pos[0], pos[0] + 2),)
        xw, yw = x[sl], y[sl]
        if not strips:
            xw, yw = xw[None], yw[None]
        pred = dry_run(trainer, xw, yw, stateful=True, where=f"{name}[{i}] at step {pos[-1]}")
    for i, (_, y) in enumerate(pairs):
        check_class_ids(trainer.criterion, y if strips else y[None], pred, f"{name}[{i}]")


def fit_tbptt(model, sequence, targets=None, *, k: int, batch_size: int = 1, loss, optimizer=None,
              epochs: int | None = None, val_data=None, metrics=(), callbacks=(), clip_grad_norm: float | None = None,
              on_nonfinite: str = "raise", reset_every: int | None = None, progress: bool = True,
              resume=None, layout: str = "split", max_steps: int | None = None,
              val_every: int | None = None) -> History:
    """Train a stateful model on long sequences with truncated BPTT over windows of ``k`` steps.

    Args:
        model: follows ``model(x, state) -> (out, state)`` and ``model.backward(d_out)``.
        sequence: by ``layout`` (see the module docstring): ``'split'`` one array ``(S,)`` of
            ids or ``(S, I)`` of features, or a list of them (the state resets between them);
            ``'documents'`` a list of such arrays of any lengths; ``'strips'`` ``(B, S, ...)``.
        targets: same structure, per step; None for next-step prediction on ``sequence``.
        k: truncation length (steps per window and per backward pass).
        batch_size: parallel streams ``B`` ('split', 'documents').
        loss, optimizer, metrics, callbacks, clip_grad_norm, on_nonfinite, progress, resume,
            max_steps, val_every: as in :func:`~rnnkit.train.fit`.
        epochs: passes over the data (default 1, no limit when ``max_steps`` is given).
        val_data: like ``sequence`` (next-step targets) or a tuple ``(sequence, targets)``, in the
            same layout, evaluated after each epoch with the state carried through it; with
            fewer steps (or documents) than ``batch_size`` it is cut into fewer streams.
        reset_every: also reset the state every this many windows ('split', 'strips').
        layout: ``'split'``, ``'documents'`` or ``'strips'``.

    Everything is checked before the first step (see :func:`~rnnkit.train.fit`): empty
    data, sequences shorter than ``batch_size`` ('split'), class ids, a dry run of the model.
    """
    k = check_int("k", k, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    layout = check_choice("layout", layout, LAYOUTS)
    if reset_every is not None:
        reset_every = check_int("reset_every", reset_every, 1)
        if layout == "documents":
            raise ValueError("reset_every does not apply to layout='documents' (each document starts fresh)")
    if max_steps is not None:
        max_steps = check_int("max_steps", max_steps, 1)
    if epochs is not None:
        epochs = check_int("epochs", epochs, 0)
    elif max_steps is None:
        epochs = 1
    if val_every is not None:
        val_every = check_int("val_every", val_every, 1)
        if val_data is None:
            raise ValueError(f"val_every={val_every} needs val_data, got val_data=None")
    pairs = _pairs(sequence, targets, "sequence", layout)
    windows, n_windows = _plan(pairs, layout, k, batch_size, reset_every, "sequence")
    val = None
    if val_data is not None:
        vs, vt = val_data if isinstance(val_data, tuple) else (val_data, None)
        val = _pairs(vs, vt, "val_data", layout)
    trainer = Trainer(model, loss, optimizer, metrics=metrics, callbacks=callbacks, clip_grad_norm=clip_grad_norm,
                      on_nonfinite=on_nonfinite, progress=progress, shuffle_rng=False)
    _preflight(trainer, pairs, layout, "sequence")
    if val is not None:
        _preflight(trainer, val, layout, "val_data")
        val_B = batch_size if layout == "strips" else \
            min(batch_size, len(val) if layout == "documents" else min(x.shape[0] for x, _ in val))

    def validate():
        return _evaluate(model, val, layout, k, val_B, trainer.criterion, [copy.deepcopy(m) for m in trainer.metrics])

    return trainer.run(epochs, lambda epoch: windows(), n_windows, validate if val is not None else None,
                       stateful=True, resume=resume, max_steps=max_steps, val_every=val_every)


def _evaluate(model, pairs, layout: str, k: int, B: int, loss, metrics) -> dict:
    ev = Evaluation(loss, metrics)
    windows, _ = _plan(pairs, layout, k, B, None, "val sequence")
    with inference_mode(model):
        state = None
        for w in windows():
            state = carry_state(state, w)
            pred, state = split_output(model(w["x"], state, **({} if w.get("lengths") is None else
                                                               {"lengths": w["lengths"]})))
            state = next_state(state, False)
            mask = step_mask(pred, w["x"], w.get("lengths"))
            ev.add(pred, w["y"], mask, n=int(mask.sum()) if mask is not None else int(np.prod(w["y"].shape[:2])))
    return ev.result()


def evaluate_tbptt(model, sequence, targets=None, *, k: int = 256, batch_size: int = 1, loss=None,
                   metrics=(), layout: str = "split") -> dict:
    """Loss and metrics over long sequences, state carried across windows (eval mode, no caches).

    The data are laid out as in :func:`fit_tbptt`; the loss is averaged over every predicted
    (real) step, windows weighted by their size.
    """
    k = check_int("k", k, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    layout = check_choice("layout", layout, LAYOUTS)
    return _evaluate(model, _pairs(sequence, targets, "sequence", layout), layout, k, batch_size, loss, metrics)
