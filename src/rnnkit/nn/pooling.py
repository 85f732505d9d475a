"""Pooling over time, lengths-aware: :class:`TemporalPooling` (mean and/or max over the real steps).

A many-to-one model needs one feature vector per sequence. Besides the last state
(:class:`LastStep`, :class:`FinalState`), the usual choices are the mean and the maximum of
the recurrent output over the sequence's real steps ``t < L_b``::

    mean:  y[b, f] = (1 / L_b) sum_{t < L_b} x[t, b, f]        dx[t, b, f] = dy[b, f] / L_b   (t < L_b)
    max:   y[b, f] = max_{t < L_b} x[t, b, f]                  dx[t*, b, f] = dy[b, f]       (t* the argmax)

Padded steps ``t >= L_b`` never count and get a zero gradient. Several modes give their
results concatenated on the feature axis in the order given: ``('mean', 'max')`` -> ``(B, 2F)``.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, as_lengths, check_bool, check_shape
from rnnkit.nn.module import Module
from rnnkit.nn.sequence import time_major_input

__all__ = ["TemporalPooling", "POOLING_MODES"]

POOLING_MODES = ("mean", "max")


def _as_modes(mode) -> tuple[str, ...]:
    modes = (mode,) if isinstance(mode, str) else tuple(mode) if isinstance(mode, (tuple, list)) else None
    if not modes or any(m not in POOLING_MODES for m in modes) or len(set(modes)) != len(modes):
        raise ValueError(f"mode must be one of {POOLING_MODES} or a tuple of distinct ones, got {mode!r}")
    return modes


class TemporalPooling(Module):
    """Mean and/or max of a sequence over its real steps (see the module docstring).

    Args:
        mode: ``'mean'``, ``'max'`` or a tuple of them (concatenated in that order).
        batch_first: the input is ``(B, T, F)`` instead of ``(T, B, F)``.

    Shapes: input ``(T, B, F)`` (``(B, T, F)`` with ``batch_first``) or unbatched ``(T, F)``;
    output ``(B, M*F)`` (``(M*F,)`` unbatched) with ``M`` the number of modes. ``lengths``
    (B integers in [1, T]) select the real steps; without them all T steps count. Ties in
    the max send the gradient to the first maximal step.

    Example::

        pool = nn.TemporalPooling(("mean", "max"))
        y = pool(np.random.randn(5, 2, 3), lengths=[5, 2])    # (2, 6)
        dx = pool.backward(np.ones_like(y))                  # (5, 2, 3), zero at padded steps
    """

    accepts_lengths = True

    def __init__(self, mode=("mean",), batch_first: bool = False):
        super().__init__()
        self.mode = _as_modes(mode)
        self.batch_first = check_bool("batch_first", batch_first)

    def forward(self, input, lengths=None):
        x, xt = time_major_input(input, self.batch_first, lengths)       # xt (T, B, F)
        T, B, F = xt.shape
        lens = as_lengths(lengths, B, T)
        real = None if lens is None else np.arange(T)[:, None] < lens[None, :]     # (T, B)
        n = np.full(B, T, x.dtype) if lens is None else lens.astype(x.dtype)     # (B,)
        parts, saved = [], []
        for m in self.mode:
            if m == "mean":
                s = xt.sum(axis=0) if real is None else np.einsum("tbf,tb->bf", xt, real.astype(x.dtype))
                parts.append(s / n[:, None])                                     # (B, F)
                saved.append(None)
            else:
                xm = xt if real is None else np.where(real[:, :, None], xt, -np.inf)   # (T, B, F)
                arg = xm.argmax(axis=0)                                          # (B, F)
                parts.append(np.take_along_axis(xt, arg[None], axis=0)[0])        # (B, F)
                saved.append(arg)
        y = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]         # (B, M*F)
        if self.keeps_cache:
            self._push((x.shape, x.dtype, (T, B, F), real, n, saved))
        return y if x.ndim == 3 else y[0]

    def backward(self, d_output):
        shape, dtype, (T, B, F), real, n, saved = self._peek()    # popped once the arguments pass
        M = len(self.mode)
        d = as_float_array("d_output", d_output, dtype)
        check_shape("d_output", d, (B, M * F) if len(shape) == 3 else (M * F,))
        self._pop()
        d = d.reshape(B, M * F)
        dx = np.zeros((T, B, F), dtype)                                         # (T, B, F)
        b, f = np.ogrid[:B, :F]
        for k, (m, arg) in enumerate(zip(self.mode, saved)):
            dk = d[:, k * F:(k + 1) * F]                                         # (B, F)
            if m == "mean":
                g = dk / n[:, None]                                              # (B, F)
                dx += g[None] if real is None else real[:, :, None] * g[None]
            else:
                dx[arg, b, f] += dk
        if len(shape) == 2:
            return dx[:, 0]
        return np.ascontiguousarray(dx.transpose(1, 0, 2)) if self.batch_first else dx

    def extra_repr(self) -> str:
        s = f"mode={self.mode!r}"
        return s + (", batch_first=True" if self.batch_first else "")
