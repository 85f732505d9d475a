r"""Gradient-flow diagnostics: see vanishing and exploding gradients, and what gates do.

What is measured, for a layer (RNN, LSTM or GRU; stacked, bidirectional, projected,
variable lengths) and one batch ``x``:

- :func:`gradient_flow` -> :class:`GradientFlow`: ``dL/dh_t`` for every time step t, layer l
  and direction d, the total derivative of a loss at the end (by default
  ``L = sum(out[T-1])``) through every later step and every layer above. ``norms`` is the
  (L, D, T) array of ``||dL/dh_t||_2`` averaged over the batch. Backprop through time gives

  .. math:: \frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial \mathrm{out}_t}
            + J_{t+1}^\top \frac{\partial L}{\partial h_{t+1}},\qquad
            J_{t+1} = \frac{\partial h_{t+1}}{\partial h_t}

  so ``||dL/dh_t||`` shrinks or grows like the product of the per-step Jacobians. For the
  vanilla RNN ``J_t = diag(f'(a_t)) W_hh``: with tanh, ``|f'| <= 1`` and a small ``W_hh``
  every factor is a contraction and the gradient vanishes geometrically; a relu RNN with a
  large ``W_hh`` explodes. An LSTM carries the cell state additively,
  ``dc_t/dc_{t-1} = diag(f_t)``, so with the forget gate near 1 (forget bias 1+) the
  gradient survives; a GRU has the leaky path ``dh_t/dh_{t-1} \ni diag(z_t)``.
- :func:`jacobian_norms`: ``||ds_final/ds_t||`` (spectral norm by default, per sequence,
  averaged over the batch) of the product ``J_T \cdots J_{t+1}`` with the input fixed;
  ``s = h`` for RNN/GRU, the joint ``s = (h, c)`` for LSTM (or its ``dh/dh`` block).
- :func:`gate_stats` / :func:`saturation`: mean, std, histogram and saturated fraction of
  every gate activation (LSTM i, f, g, o and tanh(c); GRU r, z, n; RNN h).
- :func:`plot_gradient_flow`, :func:`plot_gate_stats`: PNG files (matplotlib, optional).
- :func:`compare_cells`: RNN tanh / relu / sigmoid vs LSTM vs GRU on one seeded batch.

How: the layer's kernels run a sequence in one call and do not expose per-step gradients,
so each (layer, direction) is copied, weights and options included, into a one-layer
layer that is driven one step at a time through the public forward/backward API (the
caches are LIFO, so backward runs the steps in reverse). Between two step backwards the
gradient held is exactly ``dL/ds_t``; nothing here re-derives the backward equations.
The Jacobian products come from the same machinery: each sequence is repeated S times
(S = state size) and copy k is seeded with the unit vector e_k on the final state, so the
adjoints at step t are the rows of ``ds_T/ds_t``. Work is done in float64 by default so that
a vanishing gradient is measured rather than underflowing; dropout is not applied.

Example::

    from rnnkit import nn, diagnostics
    flow = diagnostics.gradient_flow(nn.RNN(4, 32), x)          # x (T, B, 4)
    flow.norms[0, 0]                                             # (T,) ||dL/dh_t||
    diagnostics.plot_gradient_flow({"RNN": flow}, "flow.png")
"""

from rnnkit.diagnostics.compare import compare_cells
from rnnkit.diagnostics.flow import GradientFlow, gradient_flow, jacobian_norms
from rnnkit.diagnostics.gates import ActivationStats, gate_activations, gate_stats, saturation
from rnnkit.diagnostics.plots import plot_gate_stats, plot_gradient_flow

__all__ = [
    "GradientFlow", "gradient_flow", "jacobian_norms",
    "ActivationStats", "gate_activations", "gate_stats", "saturation",
    "plot_gradient_flow", "plot_gate_stats", "compare_cells",
]
