"""Gradient clipping: by the total norm of all gradients, or element-wise by value.

Both follow ``torch.nn.utils``: parameters whose ``grad`` is None are ignored, gradients
are changed in place, and the norm of several gradients is the norm of their norms (as
if all gradients were concatenated into one vector)::

    total = clip_grad_norm_(model.parameters(), max_norm=1.0)   # float, before clipping
    clip_grad_value_(model.parameters(), clip_value=0.5)
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from rnnkit.nn.module import Module, Parameter

__all__ = ["get_total_norm", "clip_grads_with_norm_", "clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters, name: str = "parameters") -> list[np.ndarray]:
    """The non-None gradients of a Parameter or an iterable of Parameters."""
    if isinstance(parameters, Parameter):
        parameters = [parameters]
    elif isinstance(parameters, (Module, np.ndarray, str, bytes)) or not hasattr(parameters, "__iter__"):
        raise TypeError(f"{name} must be a Parameter or an iterable of Parameters, got {type(parameters).__name__}")
    grads = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Parameter):
            raise TypeError(f"{name}[{i}] must be an rnnkit.nn.Parameter, got {type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def _norm_type(norm_type) -> float:
    try:
        value = float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(f"norm_type must be a number or 'inf', got {norm_type!r}") from None
    if math.isnan(value):
        raise ValueError("norm_type must not be nan")
    return value


def _vector_norm(x: np.ndarray, ord: float) -> float:
    """The ``ord``-norm of ``x`` flattened, in float64: as ``torch.linalg.vector_norm``.

    ``inf``: max |x|, ``-inf``: min |x|, ``0``: number of non-zeros, else (sum |x|^ord)^(1/ord).
    """
    a = np.abs(np.asarray(x, dtype=np.float64).ravel())
    if a.size == 0:
        if ord < 0:
            raise ValueError(f"norm_type {ord} is undefined for an empty gradient")
        return 0.0
    if ord == math.inf:
        return float(a.max())
    if ord == -math.inf:
        return float(a.min())
    if ord == 0:
        return float(np.count_nonzero(a))
    if ord == 1:
        return float(a.sum())
    if ord == 2:
        return float(np.sqrt(np.dot(a, a)))
    return float(np.sum(a**ord) ** (1.0 / ord))


def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """The ``norm_type``-norm of the per-array norms of ``tensors`` (arrays, not Parameters).

    Raises ``RuntimeError`` if the result is nan or inf and ``error_if_nonfinite`` is set.
    An empty list gives 0.0.
    """
    if isinstance(tensors, np.ndarray):
        tensors = [tensors]
    ord = _norm_type(norm_type)
    arrays = [np.asarray(t) for t in tensors]
    if not arrays:
        return 0.0
    total = _vector_norm(np.array([_vector_norm(a, ord) for a in arrays]), ord)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"the total norm of order {ord} of the gradients is non-finite ({total}), so it cannot be clipped; "
            "pass error_if_nonfinite=False to scale the gradients by it anyway"
        )
    return total


def clip_grads_with_norm_(parameters, max_norm: float, total_norm: float) -> None:
    """Scale every gradient by ``min(1, max_norm / (total_norm + 1e-6))`` in place."""
    _scale_(_grads(parameters), _max_norm(max_norm), float(total_norm))


def _scale_(grads: list[np.ndarray], max_norm: float, total_norm: float) -> None:
    """``g *= min(1, max_norm / (total_norm + 1e-6))`` for every gradient; a nan norm gives nan."""
    coef = math.nan if math.isnan(total_norm) else min(max_norm / (total_norm + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # inf * 0 -> nan, as in torch
        for g in grads:
            g *= coef


def _max_norm(max_norm) -> float:
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real):
        raise TypeError(f"max_norm must be a real number, got {type(max_norm).__name__} {max_norm!r}")
    if not max_norm >= 0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm}")
    return float(max_norm)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    r"""Rescale the gradients of ``parameters`` so that their total norm is at most ``max_norm``.

    ``total = || (||g_1||, ..., ||g_n||) ||`` with the ``norm_type``-norm (``float('inf')``
    or ``'inf'`` for the max-norm), then every gradient is multiplied in place by
    ``min(1, max_norm / (total + 1e-6))``. Returns ``total`` (before clipping) as a float.

    Args:
        parameters: a Parameter or an iterable of Parameters; those with ``grad=None`` are skipped.
        max_norm: the largest allowed total norm (>= 0).
        norm_type: the p of the p-norm; ``inf`` for the largest absolute value.
        error_if_nonfinite: raise ``RuntimeError`` instead of clipping when the norm is nan or inf.
    """
    max_norm = _max_norm(max_norm)
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    _scale_(grads, max_norm, total)
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient element into ``[-clip_value, clip_value]`` in place."""
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real):
        raise TypeError(f"clip_value must be a real number, got {type(clip_value).__name__} {clip_value!r}")
    if not clip_value >= 0:
        raise ValueError(f"clip_value must be >= 0, got {clip_value}")
    c = float(clip_value)
    for g in _grads(parameters):
        np.clip(g, -c, c, out=g)
