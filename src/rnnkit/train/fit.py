"""``fit``: mini-batch training on arrays of examples; ``evaluate`` and ``predict``.

Data are tuples of arrays with the examples on axis 0 (batch-first)::

    train_data = (X, Y)             # X (N, T, I) or ids (N, T); Y (N, ...) targets
    train_data = (X, Y, lengths)    # padded sequences: lengths (N,) real steps of each

The model takes a batch ``X[idx]`` (``model(x)`` or ``model(x, lengths=...)``) and returns
the prediction, or ``(prediction, state)`` as the recurrent layers and
:class:`~rnnkit.train.SequenceModel` do. When ``lengths`` are given and the prediction has
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

from rnnkit._checks import check_bool, check_int
from rnnkit._grad_mode import inference_mode
from rnnkit.nn.sequence import length_mask
from rnnkit.train.evaluation import Evaluation
from rnnkit.train.history import History
from rnnkit.train.trainer import Trainer, split_output

__all__ = ["fit", "evaluate", "predict"]


def _as_examples(data, name: str):
    """``(X, Y, lengths or None)`` with one length along axis 0."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 3):
        raise TypeError(f"{name} must be a tuple (X, Y) or (X, Y, lengths), got {type(data).__name__}")
    X, Y = np.asarray(data[0]), np.asarray(data[1])
    L = None if len(data) == 2 or data[2] is None else np.asarray(data[2])
    if X.ndim < 2:
        raise ValueError(f"{name}: X must have examples on axis 0 and a time axis, got shape {X.shape}")
    N = X.shape[0]
    if N == 0:
        raise ValueError(f"{name}: X holds no examples")
    if Y.ndim == 0 or Y.shape[0] != N:
        raise ValueError(f"{name}: Y must have {N} examples on axis 0 (as X), got shape {Y.shape}")
    if L is not None and L.shape != (N,):
        raise ValueError(f"{name}: lengths must have shape ({N},), got {L.shape}")
    return X, Y, L


def _batches(X, Y, L, batch_size: int, order: np.ndarray):
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        yield {"x": X[idx], "y": Y[idx], "lengths": None if L is None else L[idx]}


def fit(model, train_data, *, loss, optimizer=None, epochs: int = 1, batch_size: int = 32, shuffle: bool = True,
        rng=None, val_data=None, val_batch_size: int | None = None, metrics=(), callbacks=(),
        clip_grad_norm: float | None = None, on_nonfinite: str = "raise", progress: bool = True,
        resume=None) -> History:
    """Train ``model`` on ``train_data`` for ``epochs`` epochs of mini-batches; returns the history.

    Args:
        model: a module with ``forward`` / ``backward`` (e.g. :class:`SequenceModel`).
        train_data: ``(X, Y)`` or ``(X, Y, lengths)`` arrays, examples on axis 0.
        loss: a loss module (``nn.MSELoss()``, ...) or a name: 'mse', 'l1', 'huber',
            'cross_entropy', 'bce'.
        optimizer: an :mod:`rnnkit.optim` optimizer (default ``Adam(lr=1e-3)``).
        epochs: total epochs (a resumed run continues up to this number).
        batch_size: examples per step; 1 gives plain SGD on single examples.
        shuffle, rng: reshuffle each epoch with ``rng`` (Generator or int seed).
        val_data: ``(X, Y[, lengths])`` evaluated after every epoch (``val_loss``, ``val_<metric>``).
        metrics: names ('accuracy', 'rmse', 'mae', 'bpc', 'perplexity') or Metric objects.
        callbacks: :class:`Callback` objects (EarlyStopping, ModelCheckpoint, LearningRateScheduler, ...).
        clip_grad_norm: clip the global gradient norm to this value before each update.
        on_nonfinite: 'raise' a :class:`NonFiniteError` naming the step and the parameter, or
            'skip' the step (with a warning); non-finite weights are never kept.
        progress: show a tqdm bar with the running loss.
        resume: path of a checkpoint (from :class:`ModelCheckpoint`) to continue from.
    """
    X, Y, L = _as_examples(train_data, "train_data")
    batch_size = check_int("batch_size", batch_size, 1)
    epochs = check_int("epochs", epochs, 0)
    shuffle = check_bool("shuffle", shuffle)
    if val_batch_size is not None:
        val_batch_size = check_int("val_batch_size", val_batch_size, 1)
    if val_data is not None:
        _as_examples(val_data, "val_data")
    trainer = Trainer(model, loss, optimizer, metrics=metrics, callbacks=callbacks, clip_grad_norm=clip_grad_norm,
                      on_nonfinite=on_nonfinite, progress=progress, rng=rng)
    N = X.shape[0]

    def epoch_batches(epoch):
        order = trainer.rng.permutation(N) if shuffle else np.arange(N)
        return _batches(X, Y, L, batch_size, order)

    def validate():
        return evaluate(model, val_data, loss=trainer.criterion, metrics=[copy.deepcopy(m) for m in trainer.metrics],
                        batch_size=val_batch_size or max(batch_size, 256))

    n_batches = -(-N // batch_size)
    return trainer.run(epochs, epoch_batches, n_batches, validate if val_data is not None else None, resume=resume)


def evaluate(model, data, *, loss=None, metrics=(), batch_size: int = 256) -> dict:
    """Loss and metrics of ``model`` on ``data`` (``(X, Y[, lengths])``) in eval mode, no caches.

    The loss is averaged over counted elements (real steps under a length mask, else examples).
    """
    X, Y, L = _as_examples(data, "data")
    batch_size = check_int("batch_size", batch_size, 1)
    ev = Evaluation(loss, metrics)
    with inference_mode(model):
        for batch in _batches(X, Y, L, batch_size, np.arange(X.shape[0])):
            kw = {} if batch["lengths"] is None else {"lengths": batch["lengths"]}
            pred, _ = split_output(model(batch["x"], **kw))
            mask = None
            if batch["lengths"] is not None and pred.ndim == 3 and pred.shape[:2] == batch["x"].shape[:2]:
                mask = length_mask(batch["lengths"], pred.shape[1], batch_first=True)   # (B, T)
            ev.add(pred, batch["y"], mask)
    return ev.result()


def predict(model, X, *, lengths=None, batch_size: int = 256) -> np.ndarray:
    """``model``'s predictions for every example of ``X`` (axis 0), in eval mode, no caches."""
    X = np.asarray(X)
    if X.ndim == 0 or X.shape[0] == 0:
        raise ValueError(f"X must hold at least one example on axis 0, got shape {X.shape}")
    batch_size = check_int("batch_size", batch_size, 1)
    outs = []
    with inference_mode(model):
        for i in range(0, X.shape[0], batch_size):
            kw = {} if lengths is None else {"lengths": np.asarray(lengths)[i:i + batch_size]}
            pred, _ = split_output(model(X[i:i + batch_size], **kw))
            outs.append(pred)
    return np.concatenate(outs, axis=0)
