"""Recurrence kernels: one record per cell kind, one contract for every kind and both backends.

Kernels are plain functions of arrays; they import nothing from :mod:`rnnkit.nn`.

**The record.** :data:`KINDS` maps each kind's name ('RNN', 'GRU', 'LSTM') to its
:class:`CellKind` (defined in ``kernels/<kind>_ref.py``, registered in ``kernels/registry.py``):
gate count and gate names, state names, options and their allowed values, the activations
diagnostics report, the reference step and its backward (the equations, written once), the
named cache, and the module of the compiled twin. Everything above the kernels (layers, cells,
diagnostics, ``nn.init``, the benchmark) reads the record instead of naming a kind.

**The contract.** ``impl = implementation(kind)`` gives the kernels of the backend in use::

    fwd = impl.forward(x, weights, state0, lengths, reverse, keep, options)
    #   x        (T, B, I) time-major input of this layer
    #   weights  CellWeights(W_ih (G*H, I), W_hh (G*H, P), b_ih (G*H,) | None, b_hh (G*H,) | None,
    #            W_hr (P, H) | None, extra)        PyTorch's layouts and gate order (kind.parameter_shapes);
    #            extra: {name: array} of any other parameter the kind declares
    #   state0   one (B, .) array per kind.state_names: h (B, P), c (B, H)
    #   lengths  (B,) int64 or None;  reverse: run t = T-1 .. 0;  keep: keep a cache for backward
    #   options  {name: value} for kind.options (RNN nonlinearity, GRU reset_after)
    #   -> Forward(out (T, B, P), state (tuple of (B, .)), cache (kind.cache | None))
    grads = impl.backward(d_out, d_state, weights, cache)
    #   d_out (T, B, P); d_state one (B, .) array or None (zero) per state part;
    #   cache: made by the same implementation's forward (backends do not share caches)
    #   -> Grads(dx (T, B, I), d_state0, dW_ih, dW_hh, db_ih, db_hh, dW_hr, d_extra)
    #      (None: no bias / no W_hr / no extra parameters)
    state1 = impl.step(x_t, state, weights, options)      # x_t (B, I): one step, keeps nothing

- The kernel receives ``x`` and ``W_ih``, so the input projection ``x @ W_ih.T`` is its own
  business: the reference forms it first, the compiled GRU in one GEMM, the compiled RNN and
  LSTM inside their per-step products when they split the batch over threads (no (T, B, G*H)
  array is written). Likewise the weight gradients: one GEMM over all steps after the loop,
  ``[dW_ih | dW_hh]`` in one product where the forward kept ``[x_t | h_{t-1}]``.
- Padded steps (``t >= lengths[b]``) output zeros, carry the state unchanged, give zero
  gradients and pass the state gradient through untouched; ``state`` is each sequence's state
  after its last real step.
- Inputs are not modified; ``out`` and ``state`` belong to the caller (the cache holds none of
  them); results have the dtype of ``x`` (float32 or float64).
- The cache is the kind's NamedTuple, the same fields for both backends (``hx`` is filled by
  the compiled row split only).

:func:`set_backend` picks the backend: 'numba' (the compiled twins in ``kernels/fast``, the
default when Numba and SciPy import) or 'numpy' (:mod:`rnnkit.kernels.reference` around each
kind's step); the environment variable ``RNNKIT_BACKEND`` sets the default. ``docs/kernels.md``
has the same contract and a worked outline of adding a kind.
"""

from __future__ import annotations

import importlib
import os

from rnnkit.kernels import reference
from rnnkit.kernels._kind import STANDARD_PARAMETERS, CellKind, CellWeights, Forward, Grads, Implementation
from rnnkit.kernels.registry import KINDS, get_kind

__all__ = [
    "set_backend", "get_backend", "available_backends", "implementation", "get_kind", "KINDS",
    "CellKind", "CellWeights", "Forward", "Grads", "Implementation", "STANDARD_PARAMETERS",
]

_BACKENDS = ("numpy", "numba")
_numba = {}                                   # "ok": bool, once the compiled package was tried
_impls: dict[tuple, Implementation] = {}     # (record, backend) -> its kernels


def _numba_available() -> bool:
    if "ok" not in _numba:
        try:
            importlib.import_module("rnnkit.kernels.fast")
            _numba["ok"] = True
        except ImportError:
            _numba["ok"] = False
    return _numba["ok"]


def available_backends() -> list[str]:
    return ["numpy", "numba"] if _numba_available() else ["numpy"]


def _check(name: str, what: str = "backend") -> str:
    if name not in _BACKENDS:
        raise ValueError(f"{what} must be 'numpy' or 'numba', got {name!r}")
    return name


_current = None                               # until first use: RNNKIT_BACKEND, checked there (not at import)


def set_backend(name: str) -> None:
    """Select the kernels: 'numba' (compiled, the default when numba imports) or 'numpy'."""
    global _current
    if _check(name) == "numba" and not _numba_available():
        raise ValueError("backend 'numba' is not available: install numba")
    _current = name


def get_backend() -> str:
    """The name of the kernels in use ('numba' falls back to 'numpy' when it cannot import)."""
    global _current
    if _current is None:
        _current = _check(os.environ.get("RNNKIT_BACKEND", "numba"), "RNNKIT_BACKEND")
    if _current == "numba" and not _numba_available():
        _current = "numpy"
    return _current


def implementation(kind, backend: str | None = None) -> Implementation:
    """The kernels of ``kind`` (a name or a :class:`CellKind`) on ``backend`` (default: the one in use)."""
    if not isinstance(kind, CellKind):
        kind = get_kind(kind)
    asked = (kind, backend or _current)
    impl = _impls.get(asked)                       # the per-step fast path (a cell's eval step)
    if impl is not None:
        return impl
    backend = get_backend() if backend is None else _check(backend)
    if backend == "numba" and not _numba_available():
        raise ValueError("backend 'numba' is not available: install numba")
    impl = _impls.get((kind, backend))
    if impl is None:
        if backend == "numba" and kind.compiled is not None:   # a kind without a compiled twin runs its reference
            mod = importlib.import_module(kind.compiled)
            impl = Implementation(mod.forward, mod.backward, mod.step)
        else:
            impl = reference.implementation(kind)
        _impls[(kind, backend)] = impl
    _impls[asked] = impl
    return impl
