"""Train and evaluate a recurrent model on one of the built-in sequence tasks.

A task (``rnnkit.datasets``) says what mapping it exercises; this module picks the model
head, loss and metric that fit it:

==============  =========================  ======================  ==================
mapping         model output               loss                    metric
==============  =========================  ======================  ==================
many-to-one     last real step -> Linear   cross-entropy or MSE    accuracy or RMSE
many-to-many    every step -> Linear       cross-entropy (masked)  accuracy
forecasting     last step -> Linear        MSE                     RMSE
generation      char-level LM (TBPTT)      cross-entropy           bits per character
==============  =========================  ======================  ==================

``arch='window_mlp'`` trains the feed-forward baseline (an MLP over the flattened window)
on the same data, the comparison the tutorials make for time-series prediction.
Seq2seq tasks are trained by :mod:`rnnkit.models.seq2seq` (encoder-decoder), not here.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np

from rnnkit import datasets, optim
from rnnkit._checks import check_choice, check_float_range, check_int
from rnnkit.models import CharRNN, SequenceModel
from rnnkit.nn import WindowMLP
from rnnkit.serialization import load_model, save_model
from rnnkit.train import ModelCheckpoint, evaluate, evaluate_tbptt, fit, fit_tbptt

__all__ = ["TASKS", "TrainConfig", "train_task", "evaluate_task", "load_task_data"]

TASKS = (
    "adding_problem", "copy_task", "counting", "delayed_recall", "parity", "sentiment_like",
    "sequence_labelling", "sine_wave", "stdlib_text",
)
CELLS = ("rnn", "lstm", "gru")
ARCHS = ("recurrent", "window_mlp")


@dataclass
class TrainConfig:
    """Everything ``rnnkit train`` needs; saved next to the model as ``config.json``."""

    task: str = "adding_problem"
    arch: str = "recurrent"
    cell: str = "lstm"
    hidden_size: int = 64
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-2
    clip: float = 1.0
    n: int = 2000
    seed: int = 0
    embedding_dim: int = 16
    tbptt_k: int = 64
    text_chars: int = 100_000
    max_time: float | None = None

    def validate(self) -> TrainConfig:
        check_choice("task", self.task, TASKS)
        check_choice("cell", self.cell, CELLS)
        check_choice("arch", self.arch, ARCHS)
        for name in ("hidden_size", "num_layers", "epochs", "batch_size", "n", "embedding_dim",
                     "tbptt_k", "text_chars"):
            check_int(name, getattr(self, name), 1)
        check_int("seed", self.seed, 0)
        check_float_range("dropout", self.dropout, 0.0, 1.0)
        check_float_range("lr", self.lr, 1e-12, 10.0)
        check_float_range("clip", self.clip, 0.0, 1e12)
        if self.max_time is not None:
            check_float_range("max_time", self.max_time, 0.0, float("inf"))
        return self


def load_task_data(task: str, n: int, seed: int):
    """The task's data, batch-first (``(N, T, ...)``), from the dataset registry: ``n``
    sequences (windows for ``sine_wave``, characters for ``stdlib_text``)."""
    if task == "stdlib_text":
        return datasets.get(task, n_chars=n, seed=seed)
    if task == "sine_wave":
        return datasets.get(task, n_steps=n + 50, window=50, seed=seed, batch_first=True)
    return datasets.get(task, n=n, seed=seed, batch_first=True)


def _is_classification(ds) -> bool:
    return np.issubdtype(ds.y.dtype, np.integer)


def _xyl(ds):
    return (ds.X, ds.y) if ds.lengths is None else (ds.X, ds.y, ds.lengths)


def build_model(cfg: TrainConfig, ds):
    """The model a task asks for (see the module docstring); ``arch='window_mlp'`` gives the
    feed-forward baseline over the whole fixed window instead (fixed-length tasks only)."""
    rng = np.random.default_rng(cfg.seed)
    if cfg.arch == "window_mlp":
        tokens = np.issubdtype(ds.X.dtype, np.integer)
        if tokens or ds.lengths is not None or ds.y_has_time or cfg.task == "stdlib_text":
            raise ValueError(f"arch='window_mlp' needs fixed-length float windows with one target per "
                             f"sequence; task {cfg.task!r} has a {ds.mapping} mapping with other inputs")
        n_out = int(ds.info["n_classes"]) if _is_classification(ds) else int(ds.y.shape[-1])
        return WindowMLP(int(ds.X.shape[1]), int(ds.X.shape[2]), (cfg.hidden_size,) * cfg.num_layers, n_out,
                         rng=rng)
    if cfg.task == "stdlib_text":
        return CharRNN(len(ds.vocab), cfg.hidden_size, cfg.num_layers, cell=cfg.cell,
                       embedding_dim=cfg.embedding_dim, dropout=cfg.dropout, rng=rng)
    if ds.mapping == "seq2seq":
        raise ValueError(f"task {cfg.task!r} is seq2seq: use rnnkit.models.seq2seq, not this trainer")
    tokens = np.issubdtype(ds.X.dtype, np.integer)
    classes = _is_classification(ds)
    if classes:
        n_out = int(ds.info.get("n_classes", int(ds.y.max()) + 1))
    else:
        n_out = int(ds.y.shape[-1]) if ds.y.ndim > (2 if ds.y_has_time else 1) else 1
    return SequenceModel(
        cfg.embedding_dim if tokens else int(ds.X.shape[-1]), cfg.hidden_size, n_out,
        cell=cfg.cell, num_layers=cfg.num_layers, bidirectional=cfg.bidirectional,
        dropout=cfg.dropout, output="sequence" if ds.y_has_time else "last",
        num_embeddings=int(ds.info["vocab_size"]) if tokens else None, rng=rng,
    )


def _loss_and_metrics(cfg: TrainConfig, ds):
    if cfg.task == "stdlib_text":
        return "cross_entropy", ["bpc"]
    if _is_classification(ds):
        return "cross_entropy", ["accuracy"]
    return "mse", ["rmse"]


def train_task(cfg: TrainConfig, out_dir: str, *, resume: bool = False, progress: bool = True) -> dict:
    """Train on ``cfg.task``; write ``model.npz``, ``checkpoint.npz`` (after every epoch) and
    ``history.json`` into ``out_dir`` (which must exist). Returns the final metrics."""
    cfg.validate()
    ckpt = os.path.join(out_dir, "checkpoint.npz")
    if resume and not os.path.exists(ckpt):
        raise ValueError(f"resume: no checkpoint at {ckpt}")
    ds = load_task_data(cfg.task, cfg.text_chars if cfg.task == "stdlib_text" else cfg.n, cfg.seed)
    model = build_model(cfg, ds)
    loss, metrics = _loss_and_metrics(cfg, ds)
    opt = optim.Adam(model.parameters(), lr=cfg.lr)
    callbacks = [ModelCheckpoint(ckpt)]
    if cfg.max_time is not None:
        from rnnkit.estimators import MaxTime

        callbacks.append(MaxTime(cfg.max_time))
    kw = dict(loss=loss, optimizer=opt, epochs=cfg.epochs, metrics=metrics, callbacks=callbacks,
              clip_grad_norm=cfg.clip or None, progress=progress, resume=ckpt if resume else None)
    meta = {"task": cfg.task, "config": asdict(cfg)}
    if cfg.task == "stdlib_text":
        ids = ds.ids
        cut = int(len(ids) * 0.9)
        hist = fit_tbptt(model, ids[:cut], k=cfg.tbptt_k, batch_size=cfg.batch_size,
                         val_data=ids[cut:], **kw)
        meta["vocab"] = ds.vocab.to_json()
    else:
        n_val = max(1, ds.n // 5)
        train, val = ds.subset(slice(n_val, None)), ds.subset(slice(0, n_val))
        hist = fit(model, _xyl(train), batch_size=cfg.batch_size, rng=cfg.seed,
                   val_data=_xyl(val), **kw)
    save_model(model, os.path.join(out_dir, "model.npz"), metadata=meta)
    from rnnkit.apps.run_dir import write_json

    write_json(os.path.join(out_dir, "history.json"), hist.to_dict())
    return {k: v[-1] for k, v in hist.history.items() if v}


def evaluate_task(model_path: str, *, n: int = 1000, seed: int = 12345) -> dict:
    """Evaluate a saved model on freshly generated data of its task (a new seed)."""
    n = check_int("n", n, 1)
    model, meta = load_model(model_path, return_metadata=True)
    if not isinstance(meta, dict) or "task" not in meta:
        raise ValueError(f"{model_path}: not a model saved by `rnnkit train` (no task in its metadata)")
    cfg = TrainConfig(**meta["config"])
    ds = load_task_data(cfg.task, n, seed)
    loss, metrics = _loss_and_metrics(cfg, ds)
    if cfg.task == "stdlib_text":
        from rnnkit.data import CharVocab
        vocab = CharVocab.from_json(meta["vocab"])
        ids = vocab.encode("".join(c for c in ds.text if c in vocab))   # characters it never saw are left out
        return evaluate_tbptt(model, ids, k=cfg.tbptt_k, batch_size=1, loss=loss, metrics=metrics)
    return evaluate(model, _xyl(ds), loss=loss, metrics=metrics)
