"""Dropout masks of the recurrent layers: inverted-dropout draws, and the variational masks
(Gal & Ghahramani 2016, "A theoretically grounded application of dropout in recurrent neural
networks"), drawn once per forward and per (layer, direction) and used at every step.

- ``input_dropout`` p: ``x_t <- m_x * x_t`` with one m_x (B, I_l) for all t, before the
  input projection (the layer applies it; ``dx <- m_x * dx``);
- ``recurrent_dropout`` p: ``h_{t-1} <- m_h * h_{t-1}`` before the recurrent product at every
  step, one m_h (B, P) for all t and all gates (the kernels apply it,
  :mod:`rnnkit.kernels._recurrent_mask`).

Entries are 0 with probability p, else 1/(1-p) (so the expected input is unchanged and
``eval()`` uses no mask); p = 1 gives zeros.

Example::

    >>> import numpy as np
    >>> m = draw_mask(np.random.default_rng(0), 0.5, (2, 4), np.float32)
    >>> sorted(set(m.ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
    True
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._recurrent_mask import MASK

__all__ = ["draw_mask", "with_mask"]


def draw_mask(rng: np.random.Generator, p: float, shape, dtype) -> np.ndarray | None:
    """An inverted-dropout mask of ``shape``: 0 with probability ``p``, else ``1/(1-p)``;
    None when ``p == 0``."""
    if p == 0.0:
        return None
    keep = 1.0 - p
    if keep == 0.0:
        return np.zeros(shape, dtype)
    dtype = np.dtype(dtype)
    return (rng.random(shape) < keep).astype(dtype) / dtype.type(keep)


def with_mask(options: dict, recurrent_mask: np.ndarray | None) -> dict:
    """The kernel options of one (layer, direction): the kind's options, plus the recurrent
    mask when there is one (the same dict otherwise)."""
    if recurrent_mask is None:
        return options
    return {**options, MASK: recurrent_mask}
