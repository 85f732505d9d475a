"""Errors raised by the training loop."""

from __future__ import annotations

__all__ = ["NonFiniteError"]


class NonFiniteError(FloatingPointError):
    """A loss, a gradient or a weight became NaN or infinite.

    Attributes: ``step`` (1-based optimizer step), ``epoch`` (1-based), ``name`` ('loss',
    or the parameter's name as in ``model.named_parameters()``).
    """

    def __init__(self, message: str, step: int | None = None, epoch: int | None = None, name: str | None = None):
        super().__init__(message)
        self.step = step
        self.epoch = epoch
        self.name = name
