"""Tasks by name: ``get('adding_problem', T=100, n=500, seed=0)``, ``available()``."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from rnnkit.datasets.classification import counting, parity
from rnnkit.datasets.labelling import sequence_labelling
from rnnkit.datasets.memory import adding_problem, copy_task, delayed_recall
from rnnkit.datasets.sentiment import sentiment_like
from rnnkit.datasets.seq2seq import reverse_sequence, sort_digits
from rnnkit.datasets.series import sine_wave
from rnnkit.datasets.text import stdlib_text

__all__ = ["get", "available", "REGISTRY"]

REGISTRY: dict[str, Callable] = {
    "sine_wave": sine_wave,
    "adding_problem": adding_problem,
    "copy_task": copy_task,
    "delayed_recall": delayed_recall,
    "parity": parity,
    "counting": counting,
    "sequence_labelling": sequence_labelling,
    "reverse_sequence": reverse_sequence,
    "sort_digits": sort_digits,
    "stdlib_text": stdlib_text,
    "sentiment_like": sentiment_like,
}


def available() -> list[str]:
    """The task names, sorted."""
    return sorted(REGISTRY)


def get(name: str, **kwargs):
    """Build the task ``name`` with keyword arguments (sizes, ``seed=``/``rng=``, ...).

    Unknown names raise ``ValueError`` listing the available ones; unknown keyword
    arguments raise ``TypeError`` naming the task.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}")
    if name not in REGISTRY:
        raise ValueError(f"name must be one of {available()}, got {name!r}")
    fn = REGISTRY[name]
    try:
        inspect.signature(fn).bind(**kwargs)
    except TypeError as err:
        raise TypeError(f"bad arguments for dataset {name!r}: {err}") from None
    return fn(**kwargs)
