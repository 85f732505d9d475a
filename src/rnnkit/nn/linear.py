"""Fully connected layer :class:`Linear` (PyTorch's names, shapes and default init)."""

from __future__ import annotations

import math

import numpy as np

from rnnkit._checks import as_float_array, as_rng, check_bool, check_int, check_shape, owned
from rnnkit.nn.module import Module, Parameter, _as_float_dtype
from rnnkit.nn.rnn import _check_device

__all__ = ["Linear"]


class Linear(Module):
    r"""Affine map on the last dimension: :math:`y = x W^T + b`.

    Shapes: ``x (..., I)`` -> ``y (..., O)`` for any leading dimensions, so the same layer is
    a per-step head on a recurrent output ``(T, B, F)`` (many-to-many) or a classifier on
    ``(B, F)`` (many-to-one). ``weight (O, I)``, ``bias (O,)``, both drawn from
    U(-1/sqrt(I), 1/sqrt(I)) as ``torch.nn.Linear`` does.

    Backward, with the leading dimensions flattened to N rows::

        dx = dy @ W                  # (..., I)
        dW += dy.T @ x               # (O, I)
        db += dy.sum(0)              # (O,)

    Example::

        fc = nn.Linear(20, 5)
        y = fc(np.random.randn(7, 3, 20))     # (7, 3, 5)
        dx = fc.backward(np.ones_like(y))     # (7, 3, 20); fc.weight.grad (5, 20)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None,
                 *, rng=None):
        super().__init__()
        _check_device(device)
        self.in_features = check_int("in_features", in_features, 1)
        self.out_features = check_int("out_features", out_features, 1)
        check_bool("bias", bias)
        self.dtype = _as_float_dtype(dtype)
        self.weight = Parameter(np.zeros((self.out_features, self.in_features), self.dtype))
        self.bias = Parameter(np.zeros(self.out_features, self.dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """Re-draw weight and bias from U(-1/sqrt(in_features), 1/sqrt(in_features))."""
        rng = as_rng(rng)
        k = 1.0 / math.sqrt(self.in_features)
        self.weight.data = rng.uniform(-k, k, size=self.weight.shape).astype(self.dtype)
        if self.bias is not None:
            self.bias.data = rng.uniform(-k, k, size=self.bias.shape).astype(self.dtype)

    def forward(self, input):
        x = as_float_array("input", input, self.dtype)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"input expected {self.in_features} features in the last dimension, got shape {x.shape}"
            )
        lead = x.shape[:-1]
        x2 = x.reshape(-1, self.in_features)                 # (N, I)
        y2 = x2 @ self.weight.data.T                         # (N, O)
        if self.bias is not None:
            y2 += self.bias.data
        if self.keeps_cache:
            self._push((owned(x2, input), lead))     # a copy if x2 is the caller's buffer
        return y2.reshape(lead + (self.out_features,))

    def backward(self, d_output):
        """``d_output (..., O)`` -> ``dx (..., I)``; adds into ``weight.grad`` and ``bias.grad``."""
        x2, lead = self._peek()    # popped once the arguments pass
        d = as_float_array("d_output", d_output, self.dtype)
        check_shape("d_output", d, lead + (self.out_features,))
        self._pop()
        d2 = d.reshape(-1, self.out_features)                # (N, O)
        self.weight.accumulate(d2.T @ x2)                    # (O, I)
        if self.bias is not None:
            self.bias.accumulate(d2.sum(axis=0))             # (O,)
        return (d2 @ self.weight.data).reshape(lead + (self.in_features,))

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        if self.dtype != np.float32:
            s += f", dtype={self.dtype}"
        return s
