"""One direction of one recurrent layer: the glue between a layer's :class:`Parameter` objects
and the kernels, the same for every cell kind.

The kernels take the input and the weights as plain arrays (the contract of
:mod:`rnnkit.kernels`: they do the input projection, the recurrence and every gradient)::

    fwd   = impl.forward(x, weights, state0, lengths, reverse, keep, options)
    grads = impl.backward(d_out, d_state_n, weights, cache)    # dx, d_state0, dW_ih, dW_hh, db_ih, db_hh, dW_hr

and this module adds the weight gradients into the parameters' ``grad``. States are tuples,
one (B, .) array per part of the kind's state: ``(h,)`` for RNN and GRU, ``(h, c)`` for LSTM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnkit.kernels import CellWeights, Implementation
from rnnkit.nn.module import Parameter


@dataclass
class DirectionParams:
    """The parameters of one (layer, direction): PyTorch's shapes."""

    w_ih: Parameter            # (G*H, I_l)
    w_hh: Parameter | None     # (G*H, H_out); None for a kind without a recurrent weight
    b_ih: Parameter | None     # (G*H,)
    b_hh: Parameter | None     # (G*H,)
    w_hr: Parameter | None     # (P, H), LSTM with proj_size only
    extra: dict = field(default_factory=dict)   # {name: Parameter}: the kind's other parameters

    def weights(self) -> CellWeights:
        """The arrays, as the kernels take them."""
        w_hh, b_ih, b_hh, w_hr = self.w_hh, self.b_ih, self.b_hh, self.w_hr
        return CellWeights(self.w_ih.data, None if w_hh is None else w_hh.data, None if b_ih is None else b_ih.data,
                           None if b_hh is None else b_hh.data, None if w_hr is None else w_hr.data,
                           {name: p.data for name, p in self.extra.items()} if self.extra else None)


def forward_direction(impl: Implementation, options, x, p: DirectionParams, state0, lengths, reverse, keep):
    """x (T, B, I_l); state0 tuple of (B, .) arrays. Returns ``out, state_n, cache``."""
    out, state_n, kc = impl.forward(x, p.weights(), state0, lengths, reverse, keep, options)
    cache = (kc, impl) if keep else None     # backward uses the kernels that made kc
    return out, state_n, cache


def backward_direction(d_out, d_state_n, p: DirectionParams, cache):
    """BPTT for one direction; adds into the parameters' grads. Returns ``dx, d_state0``."""
    kc, impl = cache                         # the forward's kernels, even if the backend changed since
    g = impl.backward(d_out, d_state_n, p.weights(), kc)
    for param, grad in ((p.w_ih, g.dW_ih), (p.w_hh, g.dW_hh), (p.b_ih, g.db_ih), (p.b_hh, g.db_hh),
                        (p.w_hr, g.dW_hr)):
        if param is not None:
            param.accumulate(grad)
    for name, grad in (g.d_extra or {}).items():
        p.extra[name].accumulate(grad)
    return g.dx, g.d_state0
