"""The recurrent state carried from one truncated-BPTT window to the next.

A window (a batch dict of a stateful run) may say what happens to the state before it::

    "reset": True                 every stream starts from the zero state (state None)
    "reset": (B,) bool array      only the streams marked True start from zero
    x with B' < B rows            the first B' streams go on, the others have ended

so documents of different lengths can share a batch (see :mod:`rnnkit.train.documents`).
The state is what the recurrent layers return: an array ``(L*D, B, H)`` or a tuple of them
(LSTM ``(h, c)``), the batch on the second-to-last axis. A zero state equals no state (the
layers start from zeros).
"""

from __future__ import annotations

import numpy as np

from rnnkit.nn._state import detach_state

__all__ = ["carry_state", "next_state", "finite_state"]


def finite_state(state) -> bool:
    parts = state if isinstance(state, tuple) else (state,)
    return all(np.all(np.isfinite(s)) for s in parts if s is not None)


def carry_state(state, window: dict):
    """The state to start ``window`` from, given the (detached) state the previous window ended with."""
    reset = window.get("reset", False)
    if state is None or reset is True or (isinstance(reset, np.ndarray) and reset.all()):
        return None
    B = np.shape(window["x"])[0]
    parts = state if isinstance(state, tuple) else (state,)
    out = []
    for s in parts:
        if s is None:
            out.append(None)
            continue
        if s.ndim < 2 or s.shape[-2] < B:
            raise ValueError(f"the carried state has shape {s.shape}, which does not hold the {B} streams of the "
                             "window on its second-to-last axis (the recurrent layers' (L*D, B, H) layout)")
        some = isinstance(reset, np.ndarray) and reset.any()
        if s.shape[-2] != B or some:
            s = np.array(s[..., :B, :], copy=True)                # the first B streams go on
            if some:
                s[..., reset, :] = 0                              # these streams start a new document
        out.append(s)
    return tuple(out) if isinstance(state, tuple) else out[0]


def next_state(new_state, skipped: bool):
    """The state a window hands on: detached; None after a skipped window whose state is not finite."""
    state = detach_state(new_state)
    if skipped and state is not None and not finite_state(state):
        return None                     # a skipped window must not pass NaN on to the next one
    return state
