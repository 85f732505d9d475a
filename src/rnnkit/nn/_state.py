"""Parsing recurrent state arguments: one array (RNN, GRU) or a pair ``(h, c)`` (LSTM)."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, check_shape

__all__ = ["state_arrays", "detach_state"]


def state_arrays(value, arg: str, names: tuple[str, ...], shapes, dtype, batched: bool, owner: str):
    """Check a state (or state-gradient) argument and return one array or None per part.

    ``names`` are the parts (``('h0',)`` or ``('h0', 'c0')``), ``shapes`` their batched
    shapes; an unbatched part has no batch axis (the one before last) and gets it back here.
    ``value`` None, or a None part, gives None. A pair where one array is expected, or the
    other way round, is a ``TypeError``; a wrong shape a ``ValueError``.
    """
    if value is None:
        return (None,) * len(names)
    if len(names) == 2:
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise TypeError(f"{owner} {arg} must be a tuple ({names[0]}, {names[1]}) or None, "
                            f"got {type(value).__name__}")
        parts = tuple(value)
    else:
        if isinstance(value, (tuple, list)):
            raise TypeError(f"{owner} {arg} must be an array {names[0]} or None, got a {type(value).__name__}")
        parts = (value,)
    out = []
    for name, shape, a in zip(names, shapes, parts):
        if a is None:
            out.append(None)
            continue
        a = as_float_array(name, a, dtype)
        check_shape(name, a, tuple(shape) if batched else tuple(shape[:-2]) + (shape[-1],))
        out.append(a if batched else np.expand_dims(a, -2))
    return tuple(out)


def detach_state(state):
    """Copy a recurrent state (an array, a tuple of arrays, or None) so that it no longer
    aliases the arrays of the step that made it. Backward never sends a gradient into a
    state passed to ``forward``, so the copy is all truncation needs."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(detach_state(s) for s in state)
    return np.array(state, copy=True)
