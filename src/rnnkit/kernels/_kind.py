"""The kernel contract's types: the record of a cell kind, its weights, and what its kernels return.

Plain data and functions of arrays (nothing here knows about modules); the contract itself
is written out in :mod:`rnnkit.kernels` and ``docs/kernels.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rnnkit._checks import check_bool, check_choice

__all__ = ["CellWeights", "Forward", "Grads", "Implementation", "CellKind", "STANDARD_PARAMETERS"]

# the parameters with a field of their own in CellWeights; any other a kind declares goes in ``extra``
STANDARD_PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


class CellWeights(NamedTuple):
    """One (layer, direction)'s weights, PyTorch's shapes (G gates, H hidden, P = proj_size or H)
    for the kinds registered today; a kind may declare other shapes (``CellKind.shapes``)."""

    W_ih: np.ndarray                  # (G*H, I)
    W_hh: np.ndarray | None           # (G*H, P); None for a kind without a recurrent weight
    b_ih: np.ndarray | None           # (G*H,), None without bias
    b_hh: np.ndarray | None           # (G*H,), None without bias
    W_hr: np.ndarray | None = None    # (P, H), a projection (LSTM proj_size), else None
    extra: Mapping[str, np.ndarray] | None = None   # any other parameter the kind declares, by name


class Forward(NamedTuple):
    """What a kernel's ``forward`` returns."""

    out: np.ndarray                   # (T, B, P) h_t at every step, zero past a sequence's length
    state: tuple                      # the final state, one (B, .) array per ``CellKind.state_names``
    cache: Any                        # the kind's cache (``CellKind.cache``), None unless ``keep``


class Grads(NamedTuple):
    """What a kernel's ``backward`` returns (weight gradients are sums over time and batch)."""

    dx: np.ndarray                    # (T, B, I)
    d_state0: tuple                   # the gradient of the initial state, one (B, .) array per part
    dW_ih: np.ndarray                 # (G*H, I)
    dW_hh: np.ndarray | None          # (G*H, P), None when the kind has no W_hh
    db_ih: np.ndarray | None          # (G*H,), None without bias
    db_hh: np.ndarray | None          # (G*H,), None without bias
    dW_hr: np.ndarray | None = None   # (P, H) with a projection, else None
    d_extra: Mapping[str, np.ndarray] | None = None  # the gradients of ``CellWeights.extra``, by name


class Implementation(NamedTuple):
    """A cell kind's kernels on one backend: the three entry points of the contract."""

    forward: Callable                 # (x, weights, state0, lengths, reverse, keep, options) -> Forward
    backward: Callable                # (d_out, d_state, weights, cache) -> Grads
    step: Callable                    # (x_t, state, weights, options) -> state'  (one step, no cache)


@dataclass(frozen=True, eq=False)            # a record is itself: compared and hashed by identity
class CellKind:
    """Everything rnnkit knows about one cell kind, in one place.

    The layers, cells, diagnostics, initialisers and the benchmark read these fields; nothing
    else in rnnkit names a cell kind. ``step``/``step_backward`` are the readable NumPy
    reference (the equations, written once); ``compiled`` names the module of the compiled
    twin, which defines ``forward``, ``backward`` and ``step`` with the reference's contract.
    """

    name: str                                   # the layer's ``mode``: 'RNN', 'GRU', 'LSTM'
    gates: int                                  # G: weight_ih is (G*H, I), weight_hh (G*H, P)
    gate_names: tuple[str, ...]                 # the G row blocks of the weights, in order
    state_names: tuple[str, ...]                # ('h',) or ('h', 'c'): h first (size P), the others size H
    options: Mapping[str, tuple]                # option -> its allowed values, the first is the default
    projection: bool                            # accepts W_hr (proj_size)
    cache: type                                 # the NamedTuple both backends' forward keep for backward
    step: Callable                              # (x_proj_t, state, weights, options) -> (state', saved)
    step_backward: Callable                     # (g_state, cache, t, weights) -> (d_x_proj_t, d_state_prev, dW)
    activations: Callable                       # (options) -> ((name, 'sigmoid' | 'tanh' | 'relu'), ...)
    report: Callable                            # (state', saved, options) -> {name: (B, H)} for diagnostics
    compiled: str | None = None                 # module of the compiled twin (imported on first use)
    shapes: Callable | None = None              # (I, H, P) -> {parameter: shape}; None: PyTorch's (below)
    doc: str = ""                               # one line for listings

    def parameter_shapes(self, I: int, H: int, P: int) -> dict[str, tuple[int, ...]]:
        """The parameters of one (layer, direction) and their shapes, in creation order.

        By default PyTorch's: ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, P), ``bias_ih`` and
        ``bias_hh`` (G*H,), and ``weight_hr`` (P, H) when ``P != H`` (a projection). The layers
        leave out the biases with ``bias=False``. Names other than these five reach the kernels
        in ``CellWeights.extra`` (their gradients come back in ``Grads.d_extra``).
        """
        if self.shapes is not None:
            return dict(self.shapes(I, H, P))
        GH = self.gates * H
        out = {"weight_ih": (GH, I), "weight_hh": (GH, P), "bias_ih": (GH,), "bias_hh": (GH,)}
        if P != H:
            out["weight_hr"] = (P, H)
        return out

    @property
    def defaults(self) -> dict[str, Any]:
        """``{option: default}``."""
        return {name: allowed[0] for name, allowed in self.options.items()}

    def check_options(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Every option of this kind, checked (defaults for missing ones); unknown names are a TypeError."""
        unknown = sorted(set(values) - set(self.options))
        if unknown:
            known = ", ".join(self.options) or "none"
            raise TypeError(f"{self.name} got unexpected option(s) {', '.join(unknown)} (its options: {known})")
        out = {}
        for name, allowed in self.options.items():
            v = values.get(name, allowed[0])
            if all(isinstance(a, bool) for a in allowed):
                out[name] = check_bool(name, v)
            else:
                out[name] = check_choice(name, v, allowed)
        return out
