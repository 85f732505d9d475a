"""Sizes an estimator may ask for, checked before anything is allocated.

Every estimator's ``fit`` (through ``FitSettings.from_estimator``) and the command line refuse
a size beyond :data:`LIMITS` or recurrent weights beyond :data:`MAX_WEIGHTS` with a
``ValueError`` naming the argument, instead of failing later with a ``MemoryError``.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["LIMITS", "MAX_WEIGHTS", "check_sizes"]

LIMITS = {
    "hidden_size": 2**14, "num_layers": 64, "embedding_dim": 2**14, "batch_size": 2**20, "lags": 2**20,
    "horizon": 2**20, "season_length": 2**20, "bptt": 2**20, "beam_size": 1024, "max_len": 2**20,
    "ensemble_size": 1024, "max_epochs": 10**8, "steps_per_epoch": 10**9, "patience": 10**8,
    "input_layers": 2**14, "head_layers": 2**14, "n": 10**8, "text_chars": 2**28, "epochs": 10**8,
    "tbptt_k": 2**20,
}
"""The largest value accepted for each size (an int parameter, or each entry of a tuple of sizes)."""

MAX_WEIGHTS = 10**8
"""The most recurrent weights a run may ask for (400 MB as float32, three times that with Adam)."""


def _sizes(value) -> list:
    if isinstance(value, (tuple, list)):
        return list(value)
    return [value]


def check_sizes(params: dict, n_inputs: int = 1) -> None:
    """Refuse sizes outside ``[1, LIMITS[name]]`` (``patience`` from 0) and settings whose
    recurrent weights exceed :data:`MAX_WEIGHTS`, before anything is allocated. ``params`` uses
    estimator names (``hidden_size``, ``num_layers``, ``bidirectional``, ``embedding_dim``, ...)."""
    for name, limit in LIMITS.items():
        if name not in params or params[name] is None:
            continue
        low = 0 if name == "patience" else 1
        for v in _sizes(params[name]):
            if not isinstance(v, numbers.Integral) or isinstance(v, bool):
                raise TypeError(f"{name} must be an integer (or a tuple of them), got {params[name]!r}")
            if v < low:
                raise ValueError(f"{name} must be >= {low}, got {v}")
            if v > limit:
                raise ValueError(f"{name}={v} is beyond the limit of {limit} (refused before allocating anything)")
    H = params.get("hidden_size")
    if not isinstance(H, numbers.Integral) or isinstance(H, bool) or H < 1:
        return
    L = params.get("num_layers", 1)
    L = L if isinstance(L, numbers.Integral) and L >= 1 else 1
    D = 2 if params.get("bidirectional") is True else 1
    E = params.get("embedding_dim")
    inputs = max(n_inputs, E if isinstance(E, numbers.Integral) and not isinstance(E, bool) else 1)
    gates = 4                                           # the LSTM's, the most of the three cells
    weights = D * gates * H * (inputs + H) + (L - 1) * D * gates * H * (D * H + H)
    if weights > MAX_WEIGHTS:
        raise ValueError(
            f"hidden_size={H} with num_layers={L}{' (bidirectional)' if D == 2 else ''} asks for about "
            f"{weights:.2g} recurrent weights, more than the limit of {MAX_WEIGHTS:.0e}: choose a smaller "
            f"hidden_size (about {int(math.sqrt(MAX_WEIGHTS / (gates * D * max(1, 2 * L - 1))))} at most)"
        )
