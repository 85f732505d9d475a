"""Training checkpoints: everything a run needs to continue exactly where it stopped.

One ``.npz`` file (no pickle; see :mod:`rnnkit.serialization`) holds

- the model: configuration and weights (so :func:`load_checkpoint_model` rebuilds it),
- the optimizer's ``state_dict`` (moments, step counts, param groups and learning rates),
- every callback's state (early stopping counters, LR scheduler state, best values),
- the random state: the trainer's shuffling Generator and the ``rng`` Generator of every
  module that has one (dropout masks),
- the epoch and step counters, whether training had stopped, and the history.

Training resumed from a checkpoint written at the end of epoch ``k`` reproduces, step for
step, the losses the uninterrupted run had after epoch ``k``. A checkpoint written at the end
of a partial epoch (training stopped inside it: ``max_steps``, ``stop_training``) holds the
state after its last step, and a run resumed from it goes on with the next epoch (see
:mod:`rnnkit.train.loop`). Files are written atomically, a checkpoint with non-finite
weights is refused, and loading one is all or nothing.
"""

from __future__ import annotations

import copy
import json

import numpy as np

from rnnkit.serialization import (
    FORMAT_VERSION,
    FileFormatError,
    load_weights,
    model_state,
    module_config,
    pack,
    read_npz,
    restore_model,
    unpack,
    write_npz_atomic,
)
from rnnkit.train.errors import NonFiniteError
from rnnkit.train.history import History

__all__ = ["save_checkpoint", "load_checkpoint", "load_checkpoint_model", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "rnnkit.checkpoint"


def _module_rngs(model) -> dict[str, np.random.Generator]:
    """``{module name: its rng Generator}`` for every module that keeps one (dropout masks)."""
    return {n: m.rng for n, m in model.named_modules() if isinstance(getattr(m, "rng", None), np.random.Generator)}


def save_checkpoint(path, trainer) -> None:
    """Write ``trainer``'s full state to ``path`` (atomic; refuses non-finite weights)."""
    for name, p in trainer.model.named_parameters():
        if not np.all(np.isfinite(p.data)):
            raise NonFiniteError(f"refusing to write checkpoint {path}: parameter {name!r} holds non-finite values",
                                 step=trainer.step, epoch=trainer.epoch, name=name)
    arrays: dict[str, np.ndarray] = {}
    optimizer = trainer.optimizer
    meta = {
        "format": CHECKPOINT_FORMAT,
        "version": FORMAT_VERSION,
        "epoch": trainer.epoch,
        "step": trainer.step,
        "stopped": bool(trainer.stop_training),
        "model": model_state(trainer.model, arrays, "model/"),
        "optimizer_class": type(optimizer).__name__,
        "optimizer": pack(optimizer.state_dict(), arrays, "optimizer state"),
        "callbacks": [
            {"class": type(cb).__name__, "state": pack(cb.state_dict(), arrays, f"{type(cb).__name__} state")}
            for cb in trainer.callbacks
        ],
        "rng": None if trainer.rng is None else pack(trainer.rng.bit_generator.state, arrays, "rng"),
        "module_rngs": {n: pack(g.bit_generator.state, arrays, n) for n, g in _module_rngs(trainer.model).items()},
        "history": trainer.history.to_dict(),
    }
    write_npz_atomic(path, meta, arrays)


def _snapshot(trainer):
    """What :func:`load_checkpoint` changes, to put back if it fails half-way."""
    return (trainer.model.state_dict(), copy.deepcopy(trainer.optimizer.state_dict()),
            [copy.deepcopy(cb.state_dict()) for cb in trainer.callbacks],
            None if trainer.rng is None else trainer.rng.bit_generator.state,
            {n: g.bit_generator.state for n, g in _module_rngs(trainer.model).items()},
            (trainer.epoch, trainer.step, trainer.stop_training, trainer.history))


def _restore(trainer, snap) -> None:
    weights, opt_state, cb_states, rng, module_rngs, counters = snap
    trainer.model.load_state_dict(weights)
    trainer.optimizer.load_state_dict(opt_state)
    for cb, state in zip(trainer.callbacks, cb_states):
        cb.load_state_dict(state)
    if rng is not None:
        trainer.rng.bit_generator.state = rng
    for name, g in _module_rngs(trainer.model).items():
        g.bit_generator.state = module_rngs[name]
    trainer.epoch, trainer.step, trainer.stop_training, trainer.history = counters


def load_checkpoint(path, trainer) -> dict:
    """Restore ``trainer`` (fresh objects of the same kinds) from ``path``; returns the metadata.

    The model, optimizer and callbacks must be built as in the run that wrote the file:
    the parameter names, the optimizer class and the list of callback classes are checked.
    All or nothing: if any part of the file is refused, the trainer is left as it was.
    """
    meta, arrays = read_npz(path, CHECKPOINT_FORMAT)
    try:
        opt_name = meta["optimizer_class"]
        if opt_name != type(trainer.optimizer).__name__:
            raise ValueError(f"{path}: checkpoint optimizer is {opt_name}, got {type(trainer.optimizer).__name__}")
        saved_cbs = [c["class"] for c in meta["callbacks"]]
        own_cbs = [type(cb).__name__ for cb in trainer.callbacks]
        if saved_cbs != own_cbs:
            raise ValueError(f"{path}: checkpoint callbacks are {saved_cbs}, got {own_cbs}")
        own_config = json.loads(json.dumps(module_config(trainer.model, {})))
        if own_config != meta["model"]["config"]:
            raise ValueError(
                f"{path}: checkpoint model {meta['model']['config']} differs from the model given {own_config}"
            )
        own_names = [n for n, _ in trainer.model.named_parameters()]
        if own_names != meta["model"]["parameters"]:
            raise ValueError(
                f"{path}: checkpoint parameters {meta['model']['parameters']} differ from the model's {own_names}"
            )
        if meta["rng"] is not None and trainer.rng is None:
            raise ValueError(f"{path}: checkpoint has a shuffling rng state but the trainer has no rng")
        rngs = _module_rngs(trainer.model)
        for name in meta["module_rngs"]:
            if name not in rngs:
                raise ValueError(f"{path}: module {name!r} has a saved rng state but no rng Generator in the model")
        history = History.from_dict(meta["history"])
        snap = _snapshot(trainer)
        try:
            load_weights(trainer.model, meta["model"], arrays, "model/")
            trainer.optimizer.load_state_dict(unpack(meta["optimizer"], arrays, "optimizer state"))
            for cb, c in zip(trainer.callbacks, meta["callbacks"]):
                cb.load_state_dict(unpack(c["state"], arrays, f"{c['class']} state"))
            if meta["rng"] is not None:
                trainer.rng.bit_generator.state = unpack(meta["rng"], arrays, "rng")
            for name, state in meta["module_rngs"].items():
                rngs[name].bit_generator.state = unpack(state, arrays, name)
            trainer.epoch, trainer.step = int(meta["epoch"]), int(meta["step"])
            trainer.stop_training = bool(meta["stopped"])
            trainer.history = history
        except BaseException as err:
            _restore(trainer, snap)
            if isinstance(err, (KeyError, TypeError, ValueError, AttributeError)) and \
                    not isinstance(err, FileFormatError):
                raise FileFormatError(f"{path}: checkpoint state is malformed: {type(err).__name__}: {err}") from err
            raise
    except KeyError as err:
        raise FileFormatError(f"{path}: checkpoint lacks entry {err}") from err
    trainer.model.clear_cache()
    return meta


def load_checkpoint_model(path):
    """Just the model of a checkpoint, rebuilt from its configuration (allow-listed classes)."""
    meta, arrays = read_npz(path, CHECKPOINT_FORMAT)
    if "model" not in meta:
        raise FileFormatError(f"{path}: checkpoint lacks its model")
    return restore_model(meta["model"], arrays, "model/")
