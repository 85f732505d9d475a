"""One-hot encoding of integer ids: ``ids (...,)`` -> ``(..., C)``."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_int

__all__ = ["one_hot"]


def one_hot(ids, num_classes: int, dtype=np.float32) -> np.ndarray:
    """``out[..., c] = 1`` where ``ids[...] == c``, else 0.

    Args:
        ids: integer array of any shape, values in ``[0, num_classes)``.
        num_classes: ``C >= 1``.
        dtype: result dtype (default float32).

    Returns:
        ``ids.shape + (C,)``. Equals ``torch.nn.functional.one_hot`` (as floats).

    Example::

        one_hot(np.array([[0, 2]]), 3)  # (1, 2, 3): [[[1, 0, 0], [0, 0, 1]]]
    """
    num_classes = check_int("num_classes", num_classes, 1)
    a = np.asarray(ids)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"ids must be integers, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise ValueError(f"ids must be in [0, {num_classes}) (num_classes), got min {a.min()} max {a.max()}")
    out = np.zeros(a.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, a[..., None], 1, axis=-1)
    return out
