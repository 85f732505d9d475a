"""The :class:`Sequential` container: forward chains modules, backward runs them in reverse."""

from __future__ import annotations

from collections import OrderedDict

from rnnkit.nn.module import Module
from rnnkit.nn.rnn_base import RNNBase

__all__ = ["Sequential"]


def _is_recurrent(m: Module) -> bool:
    return isinstance(m, RNNBase)


def _accepts_lengths(m: Module) -> bool:
    """Recurrent layers, and modules that declare ``accepts_lengths = True`` (LastStep, ...)."""
    return _is_recurrent(m) or bool(getattr(type(m), "accepts_lengths", False))


class Sequential(Module):
    """Modules applied one after the other; ``backward`` calls their ``backward`` in reverse.

    Recurrent layers (:class:`RNN`, :class:`LSTM`, :class:`GRU`) return ``(out, state)``; inside
    a Sequential only ``out`` is passed on, with the initial state zero, and backward calls
    ``layer.backward(d_out)`` (no gradient for the final state). To use the final hidden state
    as features, follow the layer with :class:`LastStep` (``bidirectional_split=True`` for a
    bidirectional layer gives exactly the last layer's ``h_n`` of both directions).

    ``forward(x, lengths=...)`` passes ``lengths`` (one per sequence) to every module that
    accepts it: the recurrent layers and modules with ``accepts_lengths = True`` such as
    :class:`LastStep` and nested Sequentials. Other modules are called as ``m(x)``.

    Modules are registered under ``"0"``, ``"1"``, ... (or the keys of an ``OrderedDict``), so
    parameter names match ``torch.nn.Sequential``: ``"0.weight_ih_l0"``, ``"2.weight"``.

    Example::

        model = nn.Sequential(nn.GRU(3, 16), nn.LastStep(), nn.Linear(16, 2))
        logits = model(x, lengths=lengths)          # x (T, B, 3) -> (B, 2)
        dx = model.backward(d_logits)               # (T, B, 3); grads added to every p.grad
    """

    accepts_lengths = True

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            items = list(modules[0].items())
        else:
            items = [(str(i), m) for i, m in enumerate(modules)]
        for name, m in items:
            self._add(name, m)

    def _add(self, name: str, m) -> None:
        if not isinstance(m, Module):
            raise TypeError(f"Sequential expects Module instances, got {type(m).__name__} for entry {name!r}")
        if not isinstance(name, str) or not name or "." in name:
            raise ValueError(f"module names must be non-empty strings without '.', got {name!r}")
        setattr(self, name, m)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position, like PyTorch)."""
        self._add(str(len(self)), module)
        # keep the recorded constructor arguments (used by save_model) in step with the contents
        object.__setattr__(self, "_config", ((OrderedDict(self._modules),), {}))
        return self

    # -- container protocol -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise TypeError(f"Sequential index must be an int or a slice, got {type(idx).__name__}")
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"Sequential index {idx} out of range for {n} modules")
        return list(self._modules.values())[idx % n]

    # -- forward / backward -------------------------------------------------------------
    def forward(self, input, lengths=None):
        """Chain the modules; ``lengths`` goes to those that accept it. See the class docstring."""
        if lengths is not None and not any(_accepts_lengths(m) for m in self._modules.values()):
            raise ValueError("lengths were given but no module of this Sequential takes lengths "
                             "(a recurrent layer, LastStep, ...): they would be ignored")
        x = input
        for m in self._modules.values():
            if lengths is not None and _accepts_lengths(m):
                x = m(x, lengths=lengths)
            else:
                x = m(x)
            if _is_recurrent(m):
                x = x[0]                      # (out, state) -> out
        if self.keeps_cache:
            self._push(True)
        return x

    def backward(self, d_output):
        """Backward through every module in reverse order; returns the input gradient.

        Returns ``None`` when the first module takes no gradient (an :class:`Embedding`).
        """
        self._peek()    # popped once the last module has accepted d_output
        d = d_output
        mods = list(self._modules.items())
        if not mods:
            self._pop()
        for k in range(len(mods) - 1, -1, -1):
            name, m = mods[k]
            if d is None:
                raise RuntimeError(
                    f"Sequential.backward: module {mods[k + 1][0]!r} ({type(mods[k + 1][1]).__name__}) "
                    f"returned no input gradient, so the modules before it cannot backpropagate"
                )
            d = m.backward(d)
            if k == len(mods) - 1:
                self._pop()
            if _is_recurrent(m):
                d = d[0]                      # (dx, d_state0) -> dx
        return d
