"""The directions of a recurrent layer, and how a bidirectional layer merges them (and back).

Direction ``d = 0`` reads a sequence forward (t = 0 .. T-1); ``d = 1`` (``bidirectional=True``)
reads it in reverse (t = T-1 .. 0, :func:`time_order`). PyTorch names the parameters of
layer ``l``, direction ``d`` ``<name>_l{l}`` and ``<name>_l{l}_reverse`` (:func:`suffix`).

After every layer the two directions' outputs ``a`` (forward) and ``b`` (reverse), each
``(..., F)``, are merged by ``merge_mode``, as a stack of Keras ``Bidirectional`` layers does;
'concat' (the default) is PyTorch's layout::

    mode      forward                 backward (dy: the gradient of the merge)
    concat    y = [a | b]  (..., 2F)  da = dy[..., :F] ;  db = dy[..., F:]
    sum       y = a + b               da = db = dy
    mul       y = a * b               da = dy * b ;  db = dy * a          (keeps a and b)
    ave       y = (a + b) / 2         da = db = dy / 2

The same functions merge outputs (T, B, F) and final states (B, F) (a many-to-one model reads
the merged last states). Example::

    >>> import numpy as np
    >>> a, b = np.ones((2, 3)), np.full((2, 3), 3.0)
    >>> merge("ave", [a, b])[0]
    array([2., 2., 2.])
    >>> da, db = merge_backward("mul", np.ones((2, 3)), 3, merge_saved("mul", [a, b]))
    >>> float(da[0, 0]), float(db[0, 0])
    (3.0, 1.0)
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._common import time_order

__all__ = ["MERGE_MODES", "suffix", "time_order", "merged_size", "merge", "merge_saved", "merge_backward"]

MERGE_MODES = ("concat", "sum", "mul", "ave")


def suffix(layer: int, direction: int) -> str:
    """PyTorch's parameter suffix of (``layer``, ``direction``): ``_l0``, ``_l0_reverse``."""
    return f"_l{layer}" + ("_reverse" if direction else "")


def merged_size(merge_mode: str, size: int, directions: int) -> int:
    """Features of the merged output of ``directions`` parts of ``size`` features each."""
    return size * directions if merge_mode == "concat" else size


def merge(merge_mode: str, parts):
    """One array from the directions' ``parts`` (one part passes through)."""
    if len(parts) == 1:
        return parts[0]
    a, b = parts
    if merge_mode == "concat":
        return np.concatenate(parts, axis=-1)
    if merge_mode == "sum":
        return a + b
    if merge_mode == "mul":
        return a * b
    return (a + b) * a.dtype.type(0.5)


def merge_saved(merge_mode: str, parts):
    """What :func:`merge_backward` needs of the forward: the parts for 'mul', else None."""
    return parts if merge_mode == "mul" and len(parts) == 2 else None


def merge_backward(merge_mode: str, d, size: int, saved, directions: int = 2) -> list:
    """The gradient of each direction's part from ``d``, the gradient of the merge.

    ``size``: features per part (F); ``saved``: :func:`merge_saved` of the forward.
    """
    if directions == 1:
        return [d]
    if merge_mode == "concat":
        return [d[..., :size], d[..., size:]]
    if merge_mode == "sum":
        return [d, d]
    if merge_mode == "mul":
        return [d * saved[1], d * saved[0]]
    half = d * d.dtype.type(0.5)
    return [half, half]
