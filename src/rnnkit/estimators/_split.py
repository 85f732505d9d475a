"""Hold out a validation part of the training examples: stratified by class, or at random.

``stratified_split(ids, fraction, rng)`` takes ``round(fraction * n_k)`` examples of each class
``k`` (at least one when the class has two or more examples and the fraction is > 0; a class
with one example stays in training), so the validation part has the classes' proportions.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stratified_split", "random_split"]


def random_split(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, val_idx)``, sorted; ``round(fraction * n)`` validation examples, at least 1
    when ``fraction > 0`` and ``n >= 2``, and always at least one training example."""
    if fraction <= 0 or n < 2:
        return np.arange(n), np.arange(0)
    k = min(max(1, int(round(fraction * n))), n - 1)
    order = rng.permutation(n)
    return np.sort(order[k:]), np.sort(order[:k])


def stratified_split(ids: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, val_idx)`` with each class split in proportion (see the module docstring)."""
    if fraction <= 0:
        return np.arange(len(ids)), np.arange(0)
    val = []
    for k in np.unique(ids):
        members = np.flatnonzero(ids == k)
        if len(members) < 2:
            continue
        m = min(max(1, int(round(fraction * len(members)))), len(members) - 1)
        val.append(rng.permutation(members)[:m])
    val_idx = np.sort(np.concatenate(val)) if val else np.arange(0)
    train = np.ones(len(ids), bool)
    train[val_idx] = False
    return np.flatnonzero(train), val_idx
