"""minGRU, compiled: the kernel contract for the equations of ``kernels/mingru_ref.py``, the
sequential compiled loop or the parallel log-space scan (option ``algorithm``; see ``_min``)."""

from __future__ import annotations

from rnnkit.kernels.fast._min import build
from rnnkit.kernels.mingru_ref import coefficients, coefficients_backward

__all__ = ["forward", "backward", "step"]

forward, backward, step = build(coefficients, coefficients_backward)
