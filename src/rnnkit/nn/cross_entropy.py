"""Softmax cross-entropy on logits with the class dimension LAST: :class:`CrossEntropyLoss`."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, check_float_range, check_int
from rnnkit.nn.loss import Loss

__all__ = ["CrossEntropyLoss"]


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
        probs = t.shape == pred.shape and np.issubdtype(t.dtype, np.floating)
        if not probs:
            y, valid = self._class_ids(t, pred.shape)               # (...), (...)
        z = pred - pred.max(axis=-1, keepdims=True)                 # (..., C), max 0: exp cannot overflow
        if probs:
            logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))   # log_softmax (..., C)
            a = w * ((1 - eps) * t.astype(dt) + eps / C)           # (..., C)
            loss = -(a * logp).sum(axis=-1)                         # (...)
            grad = np.exp(logp, out=logp)                           # softmax, in place (..., C)
            grad *= a.sum(axis=-1, keepdims=True)
            grad -= a
            return loss, grad, None
        # class ids: a = (1 - eps) w_y onehot(y) + eps/C w, kept sparse (C can be a vocabulary);
        # logp_c = z_c - log s with s = sum_c exp(z_c), so only z at y (and z @ w) are needed
        wy = w[y] * valid                                           # (...)
        hit = (1 - eps) * wy                                        # (...)
        z_y = np.take_along_axis(z, y[..., None], axis=-1)[..., 0]  # (...)
        zw = (z.reshape(-1, C) @ w).reshape(y.shape) if eps else None   # (...), one GEMV
        p = np.exp(z, out=z)                                        # (..., C), in place
        s = p.sum(axis=-1)                                          # (...)
        log_s = np.log(s)
        p /= s[..., None]                                           # softmax
        loss = -hit * (z_y - log_s)                                 # (...)
        total = hit                                                 # sum_c a_c, (...)
        if eps:
            smooth = (eps / C) * valid                              # (...)
            loss = loss - smooth * (zw - log_s * w.sum())
            total = total + smooth * w.sum()
        grad = p
        grad *= total[..., None]                                    # (..., C)
        np.put_along_axis(grad, y[..., None], np.take_along_axis(grad, y[..., None], axis=-1) - hit[..., None],
                          axis=-1)
        if eps:   # grad -= smooth w, in row blocks so that no second (..., C) array is allocated
            g2, s2 = grad.reshape(-1, C), smooth.reshape(-1)
            for i in range(0, g2.shape[0], 256):
                g2[i:i + 256] -= s2[i:i + 256, None] * w
        return loss.astype(dt, copy=False), grad, wy

    def _class_ids(self, t: np.ndarray, shape: tuple[int, ...]):
        """Validated class ids: ``(y, valid)`` with ignored entries mapped to class 0."""
        C = shape[-1]
        if t.shape == shape:
            raise TypeError(f"target of the input's shape {shape} holds class probabilities and must be float, "
                            f"got dtype {t.dtype}")
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
