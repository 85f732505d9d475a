"""Softmax cross-entropy on logits with the class dimension LAST: :class:`CrossEntropyLoss`."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, check_float_range, check_int
from rnnkit.nn.loss import Loss

__all__ = ["CrossEntropyLoss", "log_softmax"]


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``x - logsumexp(x)`` along ``axis``, shifted by the max so that nothing overflows."""
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


class CrossEntropyLoss(Loss):
    r"""Cross-entropy of logits ``(..., C)`` against class ids ``(...)`` or class probabilities ``(..., C)``.

    The class dimension is the LAST one, as a recurrent model produces it: ``(N, C)`` with
    ``(N,)`` targets, per-step ``(T, B, C)`` with ``(T, B)``, or ``(B, T, C)`` with ``(B, T)``.
    (PyTorch wants the class dimension second, ``(N, C, d1)``; permute when comparing.)

    With ``logp = log_softmax(x)``, per-class weights ``w`` (default 1) and label smoothing
    ``eps`` the per-element loss and its gradient are

    .. math::
        a_c = (1-\epsilon)\, w_c\, q_c + \tfrac{\epsilon}{C} w_c,\qquad
        l = -\sum_c a_c \log p_c,\qquad
        \partial l / \partial x = \Big(\sum_c a_c\Big)\, p - a

    where ``q`` is the one-hot target (class ids) or the given probabilities. Class-id targets
    equal to ``ignore_index`` (default -100) add nothing. 'mean' divides by the summed weight
    ``w[y]`` of the counted targets (their number when ``weight`` is None) for class ids, and by
    the number of elements for probability targets, exactly as PyTorch.
    Any other id outside ``[0, C)`` raises ``ValueError``; float class ids raise ``TypeError``.
    ``mask=`` (shape of the target ids, e.g. ``(T, B)``) drops padded steps like ``ignore_index``.

    Example::

        crit = nn.CrossEntropyLoss()
        loss = crit(logits, y)             # logits (T, B, C), y (T, B) int
        d_logits = crit.backward()         # (T, B, C)
    """

    _class_dim = True

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        self.weight = None if weight is None else as_float_array("weight", weight, np.float64)
        if self.weight is not None and self.weight.ndim != 1:
            raise ValueError(f"weight must be 1-D (one per class), got shape {self.weight.shape}")
        self.ignore_index = check_int("ignore_index", ignore_index)
        self.label_smoothing = check_float_range("label_smoothing", label_smoothing, 0.0, 1.0)

    def _elementwise(self, pred, target):
        if pred.ndim == 0 or pred.shape[-1] == 0:
            raise ValueError(f"input must have a class dimension last (..., C) with C >= 1, got shape {pred.shape}")
        C = pred.shape[-1]
        dt = pred.dtype
        w = np.ones(C, dt) if self.weight is None else self.weight.astype(dt)
        if w.shape != (C,):
            raise ValueError(f"weight expected shape ({C},) (one per class), got {w.shape}")
        if hasattr(target, "detach") and hasattr(target, "numpy"):  # a torch tensor
            target = target.detach().cpu().numpy()
        t = np.asarray(target)
        eps = dt.type(self.label_smoothing)
        if t.shape == pred.shape and np.issubdtype(t.dtype, np.floating):
            q = t.astype(dt)                                        # class probabilities (..., C)
            a = w * ((1 - eps) * q + eps / C)                      # (..., C)
            denom_w = None
        else:
            y, valid = self._class_ids(t, pred.shape)               # (...), (...)
            wy = w[y] * valid                                       # (...)
            a = np.zeros(pred.shape, dt)                            # (..., C)
            np.put_along_axis(a, y[..., None], ((1 - eps) * wy)[..., None], axis=-1)
            if eps:
                a += (eps / C) * w * valid[..., None]
            denom_w = wy
        logp = log_softmax(pred)                                    # (..., C)
        loss = -(a * logp).sum(axis=-1)                             # (...)
        grad = a.sum(axis=-1, keepdims=True) * np.exp(logp) - a     # (..., C)
        return loss, grad, denom_w

    def _class_ids(self, t: np.ndarray, shape: tuple[int, ...]):
        """Validated class ids: ``(y, valid)`` with ignored entries mapped to class 0."""
        C = shape[-1]
        if t.shape != shape[:-1]:
            raise ValueError(
                f"target expected class ids of shape {shape[:-1]} (input shape without the class dimension) "
                f"or class probabilities of shape {shape}, got {t.shape}"
            )
        if t.dtype == np.bool_ or not np.issubdtype(t.dtype, np.integer):
            raise TypeError(f"target class ids must be integers, got dtype {t.dtype}")
        t = t.astype(np.int64)
        valid = t != self.ignore_index
        bad = valid & ((t < 0) | (t >= C))
        if bad.any():
            raise ValueError(
                f"target class ids must be in [0, {C - 1}] or ignore_index={self.ignore_index}, "
                f"got {t[bad].reshape(-1)[0]}"
            )
        return np.where(valid, t, 0), valid

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] if self.reduction != "mean" else []
        if self.ignore_index != -100:
            parts.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            parts.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(parts)
