"""The estimator settings ``rnnkit train`` takes: common flags, ``--param NAME=VALUE``, limits.

Every common flag is one record of :data:`FLAGS` (flag, estimator parameter, type, help, the
field of the built-in generated tasks' ``TrainConfig`` it sets, the largest sane value). A
flag applies to a task when the task's estimator has the parameter; its default is the
estimator's own, read from the ``__init__`` signature (so the help never drifts from the code).
``--param NAME=VALUE`` sets any other constructor argument, checked against ``get_params()``.

Sizes are checked before anything is built: each size has a limit (:data:`LIMITS`), and the
recurrent weights a setting asks for are counted, so ``--hidden-size 1000000000`` is refused
in one line instead of failing with ``MemoryError`` deep inside NumPy.
"""

from __future__ import annotations

import ast
import inspect
import numbers
from dataclasses import dataclass

from rnnkit.estimators._sizes import LIMITS, MAX_WEIGHTS, check_sizes

__all__ = ["Flag", "FLAGS", "LIMITS", "MAX_WEIGHTS", "estimator_defaults", "parse_param", "check_sizes",
           "coerce"]


@dataclass(frozen=True)
class Flag:
    """One common command-line flag and the estimator parameter it sets."""

    flag: str                   # "--hidden-size"
    param: str                  # the estimator's constructor argument
    type: type                  # int, float, str or bool (bool flags have a --no- twin)
    help: str
    generated: str | None = None   # the TrainConfig field of the built-in generated tasks
    aliases: tuple = ()


FLAGS: tuple[Flag, ...] = (
    Flag("--cell", "cell", str, "recurrent cell: lstm, gru or rnn", "cell"),
    Flag("--hidden-size", "hidden_size", int, "hidden units (per direction)", "hidden_size"),
    Flag("--num-layers", "num_layers", int, "stacked recurrent layers", "num_layers"),
    Flag("--bidirectional", "bidirectional", bool, "read sequences both ways (--no-bidirectional: one way)",
         "bidirectional"),
    Flag("--dropout", "dropout", float, "dropout rate", "dropout"),
    Flag("--max-epochs", "max_epochs", int, "most epochs to train (early stopping may end sooner)", "epochs",
         ("--epochs",)),
    Flag("--batch-size", "batch_size", int, "examples (text: parallel streams) per step", "batch_size"),
    Flag("--lr", "lr", float, "Adam's learning rate", "lr"),
    Flag("--weight-decay", "weight_decay", float, "Adam's L2 penalty"),
    Flag("--clip-grad-norm", "clip_grad_norm", float, "clip the gradient's norm to this", "clip", ("--clip",)),
    Flag("--patience", "patience", int, "early stopping: epochs without gain before stopping"),
    Flag("--validation-fraction", "validation_fraction", float,
         "share of the training data held out for early stopping and the best epoch (0: none)"),
    Flag("--max-time", "max_time", float, "seconds of training at most; stops at the best epoch so far",
         "max_time"),
    Flag("--seed", "random_state", int, "random seed of the run (the split, the weights, the batches)", "seed"),
    Flag("--embedding-dim", "embedding_dim", int, "size of the token/character embedding", "embedding_dim"),
    Flag("--pooling", "pooling", str, "sequence features for the head: last, mean, max or a '+' mix"),
    Flag("--lags", "lags", int, "past steps the forecaster reads"),
    Flag("--horizon", "horizon", int, "steps to forecast"),
    Flag("--season-length", "season_length", int, "season length m (default: detected from the data)"),
    Flag("--strategy", "strategy", str, "multi-step forecasts: recursive or direct"),
    Flag("--bptt", "bptt", int, "truncated BPTT length in characters", "tbptt_k", ("--tbptt-k",)),
    Flag("--beam-size", "beam_size", int, "beam width of seq2seq decoding (1: greedy)"),
)

CLI_DEFAULTS = {"random_state": 0}
"""Where the command line departs from an estimator's default: it always seeds the run, so
``--resume`` rebuilds the same split and a run can be repeated."""



def estimator_defaults(cls) -> dict:
    """``{parameter: default}`` of an estimator class's ``__init__`` (the CLI's defaults applied)."""
    sig = inspect.signature(cls.__init__)
    out = {n: p.default for n, p in sig.parameters.items() if n != "self" and p.default is not p.empty}
    out.update({k: v for k, v in CLI_DEFAULTS.items() if k in out})
    return out


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


_BOOLS = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False, "off": False}


def coerce(name: str, value, default):
    """``value`` (a string from the command line, or already typed) as the type of ``default``:
    bool/int/float/str defaults convert; others take a Python literal (``None``, ``(64, 32)``)."""
    if isinstance(value, str) and not isinstance(default, str):
        text = value.strip()
        if isinstance(default, bool) or (default is None and text.lower() in ("true", "false")):
            if text.lower() not in _BOOLS:
                raise ValueError(f"{name} must be true or false, got {value!r}")
            return _BOOLS[text.lower()]
        if text.lower() == "none":
            return None
        if isinstance(default, numbers.Integral):
            try:
                return int(text)
            except ValueError:
                raise ValueError(f"{name} must be an integer, got {value!r}") from None
        if isinstance(default, float):
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"{name} must be a number, got {value!r}") from None
        value = _literal(text)
        if isinstance(default, (tuple, list)) and isinstance(value, (int, list)):
            value = tuple(value) if isinstance(value, list) else (value,)
    return value


def parse_param(text: str, defaults: dict, owner: str) -> tuple[str, object]:
    """``NAME=VALUE`` of ``--param``: ``NAME`` must be a parameter of the estimator ``owner``."""
    name, sep, raw = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name:
        raise ValueError(f"--param expects NAME=VALUE, got {text!r}")
    if name not in defaults:
        raise ValueError(f"--param {name}: {owner} has no parameter {name!r}; its parameters: {sorted(defaults)}")
    return name, coerce(f"--param {name}", raw, defaults[name])


