"""Average the predictions of several trained networks: :class:`Ensemble`.

Members take the same input (``member(x, lengths=...)`` returning ``out`` or ``(out, state)``)
and give outputs of one shape; the ensemble combines them::

    'mean':         y = (1/K) sum_k y_k                                 (regression outputs)
    'probability':  y = log((1/K) sum_k softmax(y_k))                   (classification logits)

so that for classifiers ``softmax(y)`` is exactly the average of the members' probabilities
(the class dimension is the last one: ``(B, C)`` or per step ``(B, T, C)``). Backward, with
``g = dL/dy`` and ``K`` members::

    'mean':         dL/dy_k = g / K
    'probability':  dL/dy_k = (1/K) p_k * (r - sum_c r_c p_kc),  r = g / p_bar,  p_bar = (1/K) sum_k p_k
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, check_choice, check_shape
from rnnkit.nn.module import Module
from rnnkit.serialization import register

__all__ = ["Ensemble"]


class Ensemble(Module):
    """``K`` networks whose outputs are averaged (see the module docstring).

    Args:
        *members: the networks (modules), registered as ``"0"``, ``"1"``, ... so that
            parameter names read ``"0.rnn.weight_ih_l0"``.
        combine: ``'mean'`` (default) or ``'probability'``.

    ``forward(x, lengths=None)`` returns ``(y, None)`` like a many-to-one ``SequenceModel``;
    ``backward(d_y)`` returns the summed input gradient (None for token inputs).

    Example::

        nets = [SequenceModel(2, 4, 3, output="mean", rng=s) for s in range(3)]
        ens = Ensemble(*nets, combine="probability")
        logp, _ = ens(np.random.randn(5, 7, 2))           # (5, 3), log of the mean probabilities
    """

    accepts_lengths = True

    def __init__(self, *members, combine: str = "mean"):
        super().__init__()
        if not members:
            raise ValueError("Ensemble needs at least one member network")
        for i, m in enumerate(members):
            if not isinstance(m, Module):
                raise TypeError(f"Ensemble members must be modules, got {type(m).__name__} for member {i}")
            setattr(self, str(i), m)
        self.combine = check_choice("combine", combine, ("mean", "probability"))

    def __len__(self) -> int:
        return len(self._modules)

    def forward(self, x, lengths=None):
        kw = {} if lengths is None else {"lengths": lengths}
        outs = []
        for m in self._modules.values():
            res = m(x, **kw)
            outs.append(res[0] if isinstance(res, tuple) else res)          # (out, state) or out
        shapes = {o.shape for o in outs}
        if len(shapes) != 1:
            raise ValueError(f"Ensemble members gave outputs of different shapes: {sorted(shapes)}")
        K = len(outs)
        if self.combine == "mean":
            y = sum(outs[1:], outs[0]) / outs[0].dtype.type(K)
            cache = None
        else:
            probs = []
            for o in outs:
                e = np.exp(o - o.max(axis=-1, keepdims=True))
                probs.append(e / e.sum(axis=-1, keepdims=True))            # (..., C)
            p_bar = sum(probs[1:], probs[0]) / outs[0].dtype.type(K)
            y = np.log(p_bar)
            cache = (probs, p_bar)
        if self.keeps_cache:
            self._push((y.shape, y.dtype, cache))
        return y, None

    def backward(self, d_output):
        shape, dtype, cache = self._peek()    # popped once the arguments pass
        g = as_float_array("d_output", d_output, dtype)
        check_shape("d_output", g, shape)
        self._pop()
        K = len(self)
        members = list(self._modules.values())
        if cache is None:
            parts = [g / dtype.type(K)] * K
        else:
            probs, p_bar = cache
            r = g / p_bar                                                   # (..., C)
            parts = [p * (r - (r * p).sum(axis=-1, keepdims=True)) / dtype.type(K) for p in probs]
        dx = None
        for m, d in zip(reversed(members), reversed(parts)):               # the last forward first
            dm = m.backward(d)
            dx = dm if dx is None else (None if dm is None else dx + dm)
        return dx

    def extra_repr(self) -> str:
        return f"combine={self.combine!r}"


register(Ensemble)
