"""Labels read as text: class labels (str) or regression targets (float), by a documented rule."""

from __future__ import annotations

import math
import re

import numpy as np

from rnnkit._checks import check_choice
from rnnkit.datasets.sequence_data import TASKS

__all__ = ["text_labels", "sorted_labels"]

_INT = re.compile(r"^[+-]?\d+$")


def sorted_labels(labels) -> tuple:
    """The distinct labels, sorted: numerically when every label is an integer written as text
    (``'2' < '10'``), else as strings (numbers and bools: by value)."""
    distinct = set(labels)
    if all(isinstance(v, str) for v in distinct) and all(_INT.match(v) for v in distinct):
        return tuple(sorted(distinct, key=int))
    return tuple(sorted(distinct))


def text_labels(labels: list[str], task: str | None, fail) -> tuple[np.ndarray, str, tuple | None]:
    """``(y, task, class_labels)`` from label cells.

    ``task=None`` decides: regression when every label is a number and at least one is not an
    integer (``0.5``, ``1e-3``), else classification (labels kept as str). ``fail(i, message)``
    builds the error for label ``i``.
    """
    if task is not None:
        check_choice("task", task, TASKS)
    for i, s in enumerate(labels):
        if not s:
            raise fail(i, "the label is empty")
    if task is None:
        numbers = []
        for s in labels:
            try:
                numbers.append(float(s))
            except ValueError:
                break
        all_numbers = len(numbers) == len(labels)
        task = "regression" if all_numbers and any(not _INT.match(s) for s in labels) else "classification"
    if task == "classification":
        y = np.array(labels, dtype=str)
        return y, task, sorted_labels(labels)
    y = np.empty(len(labels), dtype=np.float64)
    for i, s in enumerate(labels):
        try:
            y[i] = float(s)
        except ValueError:
            raise fail(i, f"the regression target {s!r} is not a number") from None
        if not math.isfinite(y[i]):
            raise fail(i, f"the regression target {s!r} is not finite")
    return y, task, None
