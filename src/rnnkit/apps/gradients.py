"""The report's "vanishing gradient" picture: ``||dL/dh_t||`` per time step on a training batch.

The fitted network is run once on a training batch (the task's ``probe``: a prediction on the
first examples, or windows) while its first recurrent layer records its input; then
:func:`rnnkit.diagnostics.gradient_flow` replays that layer on the recorded batch in float64 and
backpropagates ``L = sum of the outputs where each direction ends`` (the last real step; step 0
for a reverse direction) through time, giving the total derivative ``dL/dh_t`` for every step,
layer and direction::

    norms[l, d, t] = mean over the batch of ||dL/dh_t||_2       (the batch's real steps only)

How fast it falls towards early steps is how far back the cell can learn from.
"""

from __future__ import annotations

import numpy as np

__all__ = ["recurrent_layer", "record_input", "gradient_norms"]


def recurrent_layer(model):
    """The first RNN/LSTM/GRU layer inside ``model`` (an ensemble's first member's), or None."""
    from rnnkit.nn.rnn_base import RNNBase

    for m in model.modules():
        if isinstance(m, RNNBase):
            return m
    return None


class record_input:
    """``with record_input(layer) as rec:`` keeps the arguments of the layer's first call."""

    def __init__(self, layer):
        self.layer = layer
        self.call = None

    def __enter__(self):
        forward = self.layer.forward

        def recording(input, hx=None, lengths=None):
            if self.call is None:
                self.call = (np.array(input, copy=True), hx, None if lengths is None else np.array(lengths))
            return forward(input, hx, lengths)

        self.layer.forward = recording
        return self

    def __exit__(self, *exc) -> bool:
        del self.layer.forward                     # back to the class's method
        return False


def _end_loss(layer, x, lengths):
    """``dL/d out`` for ``L = sum of the outputs where each direction finishes reading``: the last
    real step for the forward direction, step 0 for the reverse one; None (gradient_flow's own
    last-step loss) for one direction or a merge other than concatenation."""
    if layer.num_directions == 1 or layer.merge_mode != "concat" or x.ndim != 3:
        return None
    batch_first = layer.batch_first
    T, B = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
    P = layer.output_size
    last = np.full(B, T - 1) if lengths is None else np.asarray(lengths, np.int64) - 1      # (B,)
    d = np.zeros((T, B, 2 * P))                                                              # (T, B, 2P)
    d[last, np.arange(B), :P] = 1.0
    d[0, :, P:] = 1.0
    return d.transpose(1, 0, 2) if batch_first else d


def _label(layer, l: int, d: int) -> str:
    name = f"layer {l}"
    if layer.num_directions == 2:
        name += " (reverse)" if d else " (forward)"
    return name


def gradient_norms(model, run_probe) -> tuple[dict | None, str]:
    """``({label: [||dL/dh_t|| for each t]}, note)`` of the network ``model``, ``run_probe()``
    running it on a training batch; ``(None, why)`` when it cannot be measured."""
    from rnnkit.diagnostics import gradient_flow

    layer = recurrent_layer(model)
    if layer is None:
        return None, "the network has no recurrent layer"
    with record_input(layer) as rec:
        run_probe()
    if rec.call is None:
        return None, "the probe did not run the recurrent layer"
    x, hx, lengths = rec.call
    flow = gradient_flow(layer, x, hx, lengths, d_out=_end_loss(layer, x, lengths))
    norms = flow.norms                                                    # (L, D, T)
    out = {}
    for l in range(norms.shape[0]):
        for d in range(norms.shape[1]):
            out[_label(layer, l, d)] = [None if not np.isfinite(v) else float(v) for v in norms[l, d]]
    B = x.shape[1] if (x.ndim == 3 and not layer.batch_first) else x.shape[0] if x.ndim == 3 else 1
    note = (f"{layer.mode} layer, a batch of {B} training sequence(s) of {norms.shape[2]} steps; "
            "loss: the sum of the outputs where each direction ends (the last real step; step 0 backwards)")
    return out, note
