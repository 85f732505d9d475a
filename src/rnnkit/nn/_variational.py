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

from rnnkit.kernels import KINDS
from rnnkit.kernels._recurrent_mask import MASK, check_mask, supports

__all__ = ["draw_mask", "with_mask", "StepMask", "check_supported"]


def check_supported(kind, what: str, asked: bool, owner: str) -> None:
    """A ValueError when ``asked`` (a dropout rate above 0, or a mask) and ``kind`` takes no recurrent mask."""
    if asked and not supports(kind):
        kinds = ", ".join(k.name for k in KINDS.values() if supports(k))
        raise ValueError(f"{what} is only supported by the kinds {kinds}, got it on {owner} (kind {kind.name})")


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


class StepMask:
    """A cell's variational recurrent mask, as Keras's ``DropoutRNNCell``: drawn on the first
    training step of a sequence, reused by every later step, forgotten by :meth:`reset` (call
    it before each new sequence).

    ``mask(p, rng, B, H, dtype, training, given)``: the (B, H) mask of this step: ``given`` when
    the caller passes one (always applied, checked against (B, H)); else, in training with
    ``p > 0``, the kept mask (drawn now if there is none); else None.

    Example::

        >>> import numpy as np
        >>> m = StepMask()
        >>> a = m.mask(0.5, np.random.default_rng(0), 2, 3, np.float32, True)
        >>> b = m.mask(0.5, np.random.default_rng(1), 2, 3, np.float32, True)
        >>> a is b, m.mask(0.5, None, 2, 3, np.float32, False)
        (True, None)
    """

    def __init__(self):
        self._kept = None

    def reset(self) -> None:
        self._kept = None

    def mask(self, p, rng, B, H, dtype, training, given=None):
        if given is not None:
            return check_mask(given, B, H, dtype)
        if not training or p == 0.0:
            return None
        if self._kept is None:
            self._kept = draw_mask(rng, p, (B, H), dtype)
        elif self._kept.shape != (B, H):
            raise ValueError(f"the kept recurrent dropout mask is for a batch of {self._kept.shape[0]}, got a "
                             f"step of {B}: call reset_dropout_mask() before each new sequence")
        return self._kept
