"""``fit``: mini-batch training on arrays of examples or on a stream of batches; ``evaluate``, ``predict``.

Data are tuples of arrays with the examples on axis 0 (batch-first)::

    train_data = (X, Y)             # X (N, T, I) or ids (N, T); Y (N, ...) targets
    train_data = (X, Y, lengths)    # padded sequences: lengths (N,) real steps of each, in [1, T]

or batches made as training goes (fresh data every step), see :mod:`rnnkit.train.sources`::

    train_data = batch_generator()              # yields (x, y) or (x, y, lengths) batches
    train_data = lambda epoch: make_batches(epoch)

The model takes a batch ``x`` (``model(x)`` or ``model(x, lengths=...)``) and returns the
prediction, or ``(prediction, state)`` as the recurrent layers and
:class:`~rnnkit.models.SequenceModel` do. When ``lengths`` are given and the prediction has
a time axis ``(B, T, O)``, the loss and the metrics get the mask ``(B, T)`` of real steps.

Example::

    model = SequenceModel(1, 32, 1, cell="gru", output="last", rng=0)
    opt = optim.Adam(model.parameters(), lr=1e-2)
    hist = fit(model, (X, Y), loss="mse", optimizer=opt, epochs=20, batch_size=16,
               rng=0, val_data=(Xv, Yv), metrics=["rmse"],
               callbacks=[EarlyStopping(patience=3), ModelCheckpoint("run.ckpt.npz")])
    hist.save("history.json")
"""

from __future__ import annotations

import copy

import numpy as np

from rnnkit._checks import check_bool, check_int, to_numpy
from rnnkit._grad_mode import inference_mode
from rnnkit.train.evaluation import Evaluation
from rnnkit.train.history import History
from rnnkit.train.preflight import check_class_ids, dry_run, extreme_examples
from rnnkit.train.sources import ArrayData, BatchStream, as_examples, is_arrays
from rnnkit.train.trainer import Trainer, split_output, step_mask

__all__ = ["fit", "evaluate", "predict"]


def _optional_int(name: str, value, minimum: int) -> int | None:
    return None if value is None else check_int(name, value, minimum)


def _preflight(trainer, X, Y, L, name: str) -> None:
    """The dry run on the extreme examples and the class-id check of every target (see
    :mod:`rnnkit.train.preflight`)."""
    idx = extreme_examples(X, L)
    pred = dry_run(trainer, X[idx], Y[idx], None if L is None else L[idx],
                   where=f"{name} (examples {idx.tolist()})")
    check_class_ids(trainer.criterion, Y, pred, name)


def fit(model, train_data, *, loss, optimizer=None, epochs: int | None = None, batch_size: int = 32,
        shuffle: bool = True, rng=None, val_data=None, val_batch_size: int | None = None, metrics=(), callbacks=(),
        clip_grad_norm: float | None = None, on_nonfinite: str = "raise", progress: bool = True, resume=None,
        steps_per_epoch: int | None = None, max_steps: int | None = None, val_every: int | None = None) -> History:
    """Train ``model`` on ``train_data``; returns the history.

    Args:
        model: a module with ``forward`` / ``backward`` (e.g. :class:`SequenceModel`).
        train_data: ``(X, Y)`` or ``(X, Y, lengths)`` arrays, examples on axis 0; or a stream
            of batches: a callable ``epoch -> iterable of batches``, an iterator (a generator:
            one stream for all epochs) or another iterable (a list: iterated anew each
            epoch), each batch ``(x, y)``, ``(x, y, lengths)`` or a dict with those keys.
        loss: a loss module (``nn.MSELoss()``, ...) or a name: 'mse', 'l1', 'huber',
            'cross_entropy', 'bce'.
        optimizer: an :mod:`rnnkit.optim` optimizer (default ``Adam(lr=1e-3)``).
        epochs: total epochs (a resumed run continues up to this number). Default: 1, or no
            limit when ``max_steps`` is given.
        batch_size: examples per step for arrays; 1 gives plain SGD on single examples.
        shuffle, rng: reshuffle the arrays each epoch with ``rng`` (Generator or int seed).
        val_data: ``(X, Y[, lengths])`` evaluated after every epoch (``val_loss``, ``val_<metric>``)
            and every ``val_every`` steps; a set smaller than a batch is fine.
        val_batch_size: examples per validation batch (default ``max(batch_size, 256)``).
        metrics: names ('accuracy', 'rmse', 'mae', 'bpc', 'perplexity') or Metric objects.
        callbacks: :class:`Callback` objects (EarlyStopping, ModelCheckpoint, LearningRateScheduler, ...).
        clip_grad_norm: clip the global gradient norm to this value before each update.
        on_nonfinite: 'raise' a :class:`NonFiniteError` naming the step and the parameter, or
            'skip' the step (with a warning); non-finite weights are never kept.
        progress: show a tqdm bar with the running loss.
        resume: path of a checkpoint (from :class:`ModelCheckpoint`) to continue from.
        steps_per_epoch: for a stream of batches, how many batches make an epoch (as Keras'
            ``steps_per_epoch``); an epoch also ends when its batches run out, and training
            ends (with a warning) at an epoch that gets none. None: an epoch is one pass over
            the iterable (an endless generator then needs ``max_steps``). Arrays: not allowed
            (an epoch is one pass; use ``max_steps`` or ``val_every``).
        max_steps: stop once this many optimizer steps are done, counting a resumed run's
            and skipped ones (as PyTorch Lightning's ``max_steps``), also inside an epoch.
        val_every: validate every this many optimizer steps (as Lightning's integer
            ``val_check_interval``), into ``history.validations`` with the step number; the
            epochs still end with a validation (shared with a step validation at the same step).

    Training stops inside an epoch when ``max_steps`` is reached or a callback sets
    ``trainer.stop_training`` (looked at after every batch): that epoch is logged with the
    batches it ran and ``complete=False``, validated, and checkpointed like any other; see
    :mod:`rnnkit.train.loop` for what resuming from it does. Ctrl-C stops after the running
    step with :class:`~rnnkit.train.TrainingInterrupted`.

    Before the first step the whole dataset is checked (lengths, class ids against the
    model's output, a dry run of the model, loss and metrics on its extreme examples; see
    :mod:`rnnkit.train.preflight`), as are the validation set, the callbacks' paths and the
    monitored values: a bad input is refused before any weight changes. A stream's first
    batch gets the dry run before its step, and every batch is checked before its own step.
    """
    batch_size = check_int("batch_size", batch_size, 1)
    shuffle = check_bool("shuffle", shuffle)
    val_batch_size = _optional_int("val_batch_size", val_batch_size, 1)
    steps_per_epoch = _optional_int("steps_per_epoch", steps_per_epoch, 1)
    max_steps = _optional_int("max_steps", max_steps, 1)
    val_every = _optional_int("val_every", val_every, 1)
    if epochs is not None:
        epochs = check_int("epochs", epochs, 0)
    elif max_steps is None:
        epochs = 1
    if val_every is not None and val_data is None:
        raise ValueError(f"val_every={val_every} needs val_data, got val_data=None")
    arrays = is_arrays(train_data)
    if arrays:
        if steps_per_epoch is not None:
            raise ValueError(f"steps_per_epoch={steps_per_epoch} applies to a stream of batches; with arrays an "
                             "epoch is one pass over them (use max_steps or val_every)")
        X, Y, L = as_examples(train_data, "train_data")
    val = None if val_data is None else as_examples(val_data, "val_data")
    trainer = Trainer(model, loss, optimizer, metrics=metrics, callbacks=callbacks, clip_grad_norm=clip_grad_norm,
                      on_nonfinite=on_nonfinite, progress=progress, rng=rng if arrays else None,
                      shuffle_rng=arrays)
    if arrays:
        _preflight(trainer, X, Y, L, "train_data")
        source = ArrayData(X, Y, L, batch_size, shuffle)

        def epoch_batches(epoch):
            return source.batches(trainer.rng)
    else:
        def check_first(batch):
            dry_run(trainer, batch["x"], batch["y"], batch["lengths"], where="train_data, the first batch")

        source = BatchStream(train_data, steps_per_epoch, "train_data", check_first)
        epoch_batches = source.batches
    if val is not None:
        _preflight(trainer, *val, "val_data")

    def validate():
        return evaluate(model, val, loss=trainer.criterion, metrics=[copy.deepcopy(m) for m in trainer.metrics],
                        batch_size=val_batch_size or max(batch_size, 256))

    return trainer.run(epochs, epoch_batches, source.num_batches, validate if val is not None else None,
                       resume=resume, max_steps=max_steps, val_every=val_every)


def evaluate(model, data, *, loss=None, metrics=(), batch_size: int = 256) -> dict:
    """Loss and metrics of ``model`` on ``data`` (``(X, Y[, lengths])``) in eval mode, no caches.

    The loss is averaged over counted elements (real steps under a length mask, else examples).
    """
    X, Y, L = as_examples(data, "data")
    batch_size = check_int("batch_size", batch_size, 1)
    ev = Evaluation(loss, metrics)
    with inference_mode(model):
        for batch in ArrayData(X, Y, L, batch_size, shuffle=False).batches():
            kw = {} if batch["lengths"] is None else {"lengths": batch["lengths"]}
            pred, _ = split_output(model(batch["x"], **kw))
            ev.add(pred, batch["y"], step_mask(pred, batch["x"], batch["lengths"]))
    return ev.result()


def predict(model, X, *, lengths=None, batch_size: int = 256) -> np.ndarray:
    """``model``'s predictions for every example of ``X`` (axis 0), in eval mode, no caches."""
    X = np.asarray(to_numpy(X))
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(f"X must hold at least one example on axis 0, got shape {X.shape}")
    batch_size = check_int("batch_size", batch_size, 1)
    lengths = None if lengths is None else np.asarray(to_numpy(lengths))
    outs = []
    with inference_mode(model):
        for i in range(0, X.shape[0], batch_size):
            kw = {} if lengths is None else {"lengths": lengths[i:i + batch_size]}
            pred, _ = split_output(model(X[i:i + batch_size], **kw))
            outs.append(pred)
    return np.concatenate(outs, axis=0)
