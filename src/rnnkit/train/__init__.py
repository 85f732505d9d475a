"""Training: ``fit`` (mini-batches of arrays, or a stream of batches), ``fit_tbptt`` (truncated BPTT
on long streams, packed documents or pre-cut strips), callbacks, checkpoints with exact resume,
metrics and history; ``TrainingInterrupted`` on Ctrl-C. The ready-made networks live in
:mod:`rnnkit.models` (``rnnkit.train.SequenceModel`` and the other model names still resolve there).

Example::

    from rnnkit import optim
    from rnnkit.models import SequenceModel
    from rnnkit.train import EarlyStopping, ModelCheckpoint, fit

    model = SequenceModel(1, 32, 1, cell="gru", output="last", rng=0)
    hist = fit(model, (X, Y), loss="mse", optimizer=optim.Adam(model.parameters(), 1e-2),
               epochs=20, batch_size=16, rng=0, val_data=(Xv, Yv), metrics=["rmse"],
               callbacks=[EarlyStopping(patience=3), ModelCheckpoint("run.npz")])
    hist = fit(model, (X, Y), ..., resume="run.npz")      # continue the same run exactly
    hist = fit(model, batch_generator(), loss="mse", steps_per_epoch=100, max_steps=5000,
               val_data=(Xv, Yv), val_every=500)           # fresh data every step
"""

from rnnkit.nn._state import detach_state
from rnnkit.train.callbacks import Callback, EarlyStopping, LearningRateScheduler, ModelCheckpoint
from rnnkit.train.checkpoint import load_checkpoint, load_checkpoint_model, save_checkpoint
from rnnkit.train.errors import NonFiniteError
from rnnkit.train.fit import evaluate, fit, predict
from rnnkit.train.history import History
from rnnkit.train.interrupt import TrainingInterrupted
from rnnkit.train.metrics import MAE, RMSE, Accuracy, BitsPerCharacter, Metric, Perplexity, get_metric
from rnnkit.train.tbptt import evaluate_tbptt, fit_tbptt, stream_windows
from rnnkit.train.trainer import Trainer

__all__ = [
    "fit", "evaluate", "predict", "fit_tbptt", "evaluate_tbptt", "stream_windows", "Trainer",
    "Callback", "EarlyStopping", "ModelCheckpoint", "LearningRateScheduler",
    "save_checkpoint", "load_checkpoint", "load_checkpoint_model", "NonFiniteError", "TrainingInterrupted", "History",
    "Metric", "Accuracy", "RMSE", "MAE", "BitsPerCharacter", "Perplexity", "get_metric",
    "detach_state",
]

_MOVED = ("SequenceModel", "CharRNN", "Seq2Seq", "pack_seq2seq", "unpack_seq2seq", "seq2seq_data")


def __getattr__(name):
    """The models moved to :mod:`rnnkit.models`; their old names here keep working."""
    if name in _MOVED:
        import rnnkit.models

        return getattr(rnnkit.models, name)
    raise AttributeError(f"module 'rnnkit.train' has no attribute {name!r}")
