"""Losses as modules with an explicit backward: :class:`MSELoss`, :class:`L1Loss`, :class:`HuberLoss`,
:class:`BCEWithLogitsLoss` (here) and :class:`CrossEntropyLoss` (in :mod:`rnnkit.nn.cross_entropy`).

The calling convention, shared by every loss::

    crit = nn.MSELoss()                       # reduction='mean' | 'sum' | 'none'
    loss = crit(pred, target, mask=None)      # a Python float ('mean', 'sum') or the per-element array ('none')
    d_pred = crit.backward()                  # dL/dpred, same shape and dtype as pred

- ``forward`` in training mode (and outside :func:`rnnkit.no_grad`) saves the gradient; ``backward``
  pops the most recent one (LIFO, like the layers). A loss in ``eval()`` mode keeps nothing.
- ``backward(grad=None)``: for 'mean'/'sum' ``grad`` is the upstream scalar dJ/dloss (default 1).
  For 'none' it is an array of the per-element loss shape (dJ/dloss_i); the default, all ones, is
  what PyTorch's ``loss.sum().backward()`` gives (PyTorch itself requires an explicit gradient
  for a non-scalar loss).
- ``mask=``: a bool array selecting the real elements (e.g. :func:`length_mask` ``(T, B)`` for
  padded sequences). Masked-out elements contribute nothing to the loss or gradient; 'mean'
  divides by the number of selected elements only; 'none' returns 0 at masked-out elements.
  A mask with fewer dimensions than the per-element loss is aligned with its LEADING dimensions
  (a ``(T, B)`` mask fits a ``(T, B, F)`` regression loss); size-1 dimensions broadcast.
  If nothing is selected, 'mean' returns nan (0/0, as PyTorch's mean of nothing) and a zero gradient.
- The dtype follows ``pred`` (float32 or float64; other real dtypes become float32).
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, check_choice, check_float_range, check_shape
from rnnkit.nn.activation import float_input
from rnnkit.nn.module import Module

__all__ = ["MSELoss", "L1Loss", "HuberLoss", "BCEWithLogitsLoss", "Loss"]

REDUCTIONS = ("mean", "sum", "none")


def _as_mask(mask, shape: tuple[int, ...]) -> np.ndarray | None:
    """A bool mask broadcast to ``shape``; fewer dimensions align with the leading ones."""
    if mask is None:
        return None
    if hasattr(mask, "detach") and hasattr(mask, "numpy"):  # a torch tensor
        mask = mask.detach().cpu().numpy()
    a = np.asarray(mask)
    if a.dtype != np.bool_:
        raise TypeError(f"mask must be a bool array, got dtype {a.dtype}")
    if a.ndim > len(shape):
        raise ValueError(f"mask of shape {a.shape} has more dimensions than the per-element loss {shape}")
    b = a.reshape(a.shape + (1,) * (len(shape) - a.ndim))
    try:
        return np.broadcast_to(b, shape)
    except ValueError:
        raise ValueError(
            f"mask of shape {a.shape} does not fit the per-element loss of shape {shape} "
            "(a mask with fewer dimensions is aligned with the leading ones)"
        ) from None


def _broadcast_weight(name: str, w, shape: tuple[int, ...], dtype) -> np.ndarray | None:
    """An optional weight array broadcast (NumPy rules, trailing alignment) to ``shape``."""
    if w is None:
        return None
    a = as_float_array(name, w, dtype)
    try:
        return np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(f"{name} of shape {a.shape} does not broadcast to the input shape {shape}") from None


class Loss(Module):
    """Base class: reduction, mask and the saved gradient. Subclasses define ``_elementwise``.

    ``_elementwise(pred, target)`` returns ``(loss, grad, denom_weight)``: the per-element loss
    ``(S)``, its derivative with respect to ``pred`` (``(S)``, or ``(S, C)`` for a class
    dimension) and, for weighted means, the weight of each element in the 'mean' denominator
    (``None`` means every element counts 1).
    """

    _class_dim = False   # True when pred has a trailing class dimension beyond the per-element loss

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_choice("reduction", reduction, REDUCTIONS)

    def _expand(self, a: np.ndarray) -> np.ndarray:
        return a[..., None] if self._class_dim else a

    def forward(self, input, target, mask=None):
        """Loss of ``input`` (the prediction) against ``target``; see the module docstring."""
        pred = float_input("input", input)
        loss, grad, denom_w = self._elementwise(pred, target)
        m = _as_mask(mask, loss.shape)
        if m is not None:
            loss = np.where(m, loss, 0).astype(pred.dtype, copy=False)
            grad *= self._expand(m)          # grad is always a fresh array
            if denom_w is not None:
                denom_w = denom_w * m
        reduction = self.reduction
        if reduction == "none":
            value, scale = loss, None
        elif reduction == "sum":
            value, scale = float(loss.sum()), 1.0
        else:
            if denom_w is not None:
                denom = float(denom_w.sum())
            else:
                denom = float(m.sum()) if m is not None else float(loss.size)
            value = float(loss.sum()) / denom if denom else float("nan")
            scale = 1.0 / denom if denom else 0.0
        if self.keeps_cache:
            self._push((grad, scale, loss.shape, pred.dtype, reduction))
        return value

    def backward(self, grad=None):
        """dL/dpred for the most recent forward; ``grad`` is the optional upstream gradient."""
        g, scale, shape, dtype, reduction = self._peek()    # popped once the arguments pass
        if reduction == "none":
            if grad is None:
                self._pop()
                return g.copy()
            up = as_float_array("grad", grad, dtype)
            check_shape("grad", up, shape)
            self._pop()
            return g * self._expand(up)
        if grad is None:
            s = 1.0
        else:
            up = as_float_array("grad", grad, np.float64)
            if up.size != 1:
                raise ValueError(f"grad for reduction={reduction!r} must be a scalar, got shape {up.shape}")
            s = float(up.reshape(()))
        self._pop()
        g *= dtype.type(s * scale)            # the saved gradient is used once: scale in place
        return g

    def _target_like(self, pred: np.ndarray, target) -> np.ndarray:
        t = as_float_array("target", target, pred.dtype)
        if t.shape != pred.shape:
            raise ValueError(f"target expected the shape of input {pred.shape}, got {t.shape}")
        return t

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class MSELoss(Loss):
    """Squared error: ``l = (x - y)^2``, ``dl/dx = 2 (x - y)``; target of the input's shape.

    Example::

        crit = nn.MSELoss()
        loss = crit(pred, y, mask=nn.length_mask(lengths, T))   # pred, y (T, B, 1)
        d_pred = crit.backward()
    """

    def _elementwise(self, pred, target):
        diff = pred - self._target_like(pred, target)
        return diff * diff, 2 * diff, None


class L1Loss(Loss):
    """Absolute error: ``l = |x - y|``, ``dl/dx = sign(x - y)`` (0 at x = y, as PyTorch)."""

    def _elementwise(self, pred, target):
        diff = pred - self._target_like(pred, target)
        return np.abs(diff), np.sign(diff), None


class HuberLoss(Loss):
    """Huber loss, quadratic within ``delta`` and linear beyond (as ``torch.nn.HuberLoss``)::

        l = 0.5 d^2               if |d| <= delta        dl/dx = d
        l = delta (|d| - delta/2) otherwise              dl/dx = delta sign(d)      (d = x - y)
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = check_float_range("delta", delta, 0.0, float("inf"))
        if self.delta == 0.0:
            raise ValueError("delta must be > 0, got 0.0")

    def _elementwise(self, pred, target):
        d = pred - self._target_like(pred, target)
        a = np.abs(d)
        dl = pred.dtype.type(self.delta)
        small = a <= dl
        loss = np.where(small, 0.5 * d * d, dl * (a - 0.5 * dl))
        grad = np.where(small, d, dl * np.sign(d))
        return loss.astype(pred.dtype, copy=False), grad.astype(pred.dtype, copy=False), None


class BCEWithLogitsLoss(Loss):
    r"""Binary cross-entropy on logits, computed without overflow (as ``torch.nn.BCEWithLogitsLoss``).

    .. math::
        l = -w\,[\,p\,y \log\sigma(x) + (1-y)\log(1-\sigma(x))\,]
          = w\,[\,p\,y\,\mathrm{softplus}(-x) + (1-y)\,\mathrm{softplus}(x)\,] \\
        \partial l/\partial x = w\,[\,(1-y)\,\sigma(x) - p\,y\,(1-\sigma(x))\,]

    ``target`` has the input's shape with values in [0, 1]. ``pos_weight`` ``p`` (e.g. ``(C,)``, one
    per output) and ``weight`` ``w`` broadcast to the input with NumPy's (trailing) rules. 'mean'
    averages over elements (not a weighted mean), as PyTorch.
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.weight = None if weight is None else as_float_array("weight", weight, np.float64)
        self.pos_weight = None if pos_weight is None else as_float_array("pos_weight", pos_weight, np.float64)

    def _elementwise(self, pred, target):
        t = self._target_like(pred, target)
        if t.size and (np.nanmin(t) < 0 or np.nanmax(t) > 1 or np.isnan(t).any()):
            raise ValueError(f"target values must be in [0, 1], got min {np.min(t)} max {np.max(t)}")
        sp_pos = np.logaddexp(0, pred)          # softplus(x) = -log(1 - sigmoid(x))
        sp_neg = np.logaddexp(0, -pred)         # softplus(-x) = -log(sigmoid(x))
        sig = np.exp(-sp_neg)                   # sigmoid(x)
        pw = _broadcast_weight("pos_weight", self.pos_weight, pred.shape, pred.dtype)
        pos = t if pw is None else pw * t
        loss = (1 - t) * sp_pos + pos * sp_neg
        grad = (1 - t) * sig - pos * (1 - sig)
        w = _broadcast_weight("weight", self.weight, pred.shape, pred.dtype)
        if w is not None:
            loss, grad = w * loss, w * grad
        return loss, grad, None
