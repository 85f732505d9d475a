"""Global switch for keeping backward caches: ``with rnnkit.no_grad(): ...``."""

from __future__ import annotations

import contextlib
import threading

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "inference_mode"]

_state = threading.local()


def is_grad_enabled() -> bool:
    """True unless inside :func:`no_grad` (per thread)."""
    return getattr(_state, "enabled", True)


class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager (and decorator) that turns cache keeping on or off."""

    def __init__(self, mode: bool):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(mode) expects a bool, got {type(mode).__name__}")
        self.mode = mode
        self.prev = True

    def __enter__(self):
        self.prev = is_grad_enabled()
        _state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.enabled = self.prev
        return False


class no_grad(set_grad_enabled):
    """Forward passes inside keep nothing for backward (like ``torch.no_grad``)."""

    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    def __init__(self):
        super().__init__(True)


@contextlib.contextmanager
def inference_mode(module):
    """``module.eval()`` under :class:`no_grad` (nothing kept for backward); the previous
    train/eval mode is restored on exit."""
    was_training = module.training
    module.eval()
    try:
        with no_grad():
            yield module
    finally:
        module.train(was_training)
