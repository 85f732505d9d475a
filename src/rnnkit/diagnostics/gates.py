r"""Gate activation statistics and saturation, from one forward pass.

The layer replays its forward (see ``_unroll``), which gives every layer's input ``x_t`` and
the state each step starts from; the gate activations are then those of the kind's
reference step (``kernels/<kind>_ref.py``, run on all steps at once with the layer's own
weights), named and typed by the kind's record (``kind.activations``, ``kind.report``):

- RNN:  ``h = f(W_ih x + b_ih + W_hh h_{t-1} + b_hh)``, reported as ``h`` with kind f
  (tanh, relu or sigmoid).
- LSTM: ``i, f, o = sigmoid(.)``, ``g = tanh(.)``, ``c = f c_{t-1} + i g``: reported as
  ``input``, ``forget``, ``cell`` (g), ``output`` and ``tanh_c`` (tanh(c_t)).
- GRU:  ``r, z = sigmoid(.)``, ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))`` (or
  ``W_hn (r h) + b_hn`` with ``reset_after=False``): ``reset``, ``update``, ``new``.

Saturated means the derivative is nearly zero: a sigmoid below ``sigmoid_low`` or above
``sigmoid_high``, a tanh with ``|v| > tanh_threshold``, a relu at exactly 0 (a dead unit).
Padded steps (``lengths``) are left out of every statistic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit._checks import check_float_range, check_int
from rnnkit.diagnostics._unroll import check_layer, prepare_inputs, replay_forward
from rnnkit.kernels import CellWeights, reference
from rnnkit.nn.directions import suffix

__all__ = ["ActivationStats", "gate_activations", "activation_stats", "gate_stats", "saturation"]


def gate_kinds(layer) -> tuple[tuple[str, str], ...]:
    """``((name, kind), ...)`` of the activations reported for ``layer`` (from its kind's record)."""
    return layer.kind.activations(layer.options)


def _weights(layer, l: int, d: int, dt) -> CellWeights:
    """The weights of (layer ``l``, direction ``d``) in dtype ``dt``."""
    w = layer._direction_params(l, d).weights()
    extra = None if w.extra is None else {n: a.astype(dt) for n, a in w.extra.items()}
    return CellWeights(*(None if a is None else a.astype(dt) for a in w[:5]), extra)


def gate_activations(layer, l: int, d: int, x, h_prev, c_prev=None) -> dict[str, np.ndarray]:
    """Activations of (layer ``l``, direction ``d``) from its input and the state each step starts from.

    x (T, B, I_l), h_prev (T, B, P), c_prev (T, B, H) for a two-part state (LSTM). The kind's
    reference step runs on all T * B rows at once. Returns ``{name: (T, B, H)}``.
    """
    T, B, _ = x.shape
    prev = (h_prev, c_prev)[: len(layer.kind.state_names)]
    w = _weights(layer, l, d, x.dtype)
    xp = reference.project(x.reshape(T * B, -1), w)                 # (T*B, G*H)
    state = tuple(s.reshape(T * B, -1) for s in prev)
    new, saved = layer.kind.step(xp, state, w, layer.options)
    return {name: v.reshape(T, B, -1) for name, v in layer.kind.report(new, saved, layer.options).items()}


@dataclass
class ActivationStats:
    """Statistics of one activation over all real steps, sequences and units."""

    name: str                   # e.g. 'forget'
    kind: str                   # 'sigmoid', 'tanh' or 'relu'
    mean: float
    std: float
    hist: np.ndarray            # (bins,) fraction of values per bin (sums to 1)
    edges: np.ndarray           # (bins + 1,)
    frac_low: float             # sigmoid < low, tanh < -threshold, relu == 0
    frac_high: float            # sigmoid > high, tanh > threshold, relu: 0.0
    mean_per_step: np.ndarray   # (T,) mean over sequences and units (NaN if no real step)

    @property
    def saturated(self) -> float:
        """Fraction of values where the activation's derivative is nearly zero."""
        return self.frac_low + self.frac_high


def activation_stats(name: str, kind: str, v: np.ndarray, valid: np.ndarray, *, bins: int = 20,
                     sigmoid_low: float = 0.05, sigmoid_high: float = 0.95,
                     tanh_threshold: float = 0.95) -> ActivationStats:
    """Statistics of ``v`` (T, B, H) over the entries where ``valid`` (T, B) is True."""
    vals = v[valid]                                                 # (N, H)
    flat = vals.ravel()
    if kind == "sigmoid":
        lo, hi, rng = flat < sigmoid_low, flat > sigmoid_high, (0.0, 1.0)
    elif kind == "tanh":
        lo, hi, rng = flat < -tanh_threshold, flat > tanh_threshold, (-1.0, 1.0)
    else:
        lo, hi = flat == 0.0, np.zeros(flat.shape, bool)
        rng = (0.0, max(float(flat.max()), 1e-12))
    counts, edges = np.histogram(flat, bins=bins, range=rng)
    per_step_sum = np.where(valid[:, :, None], v, 0.0).sum(axis=(1, 2))          # (T,)
    per_step_n = valid.sum(axis=1) * v.shape[2]                                 # (T,)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_step = np.where(per_step_n > 0, per_step_sum / np.maximum(per_step_n, 1), np.nan)
    return ActivationStats(
        name, kind, float(flat.mean()), float(flat.std()), counts / flat.size, edges,
        float(lo.mean()), float(hi.mean()), per_step,
    )


def gate_stats(layer, x, hx=None, lengths=None, *, bins: int = 20, sigmoid_low: float = 0.05,
               sigmoid_high: float = 0.95, tanh_threshold: float = 0.95,
               dtype=np.float64) -> dict[str, ActivationStats]:
    """Statistics of every gate of every layer and direction on the batch ``x``.

    Keys are ``'l{layer}/{gate}'`` and ``'l{layer}_reverse/{gate}'``, e.g. ``'l0/forget'``.

    Example::

        st = gate_stats(nn.LSTM(3, 8), np.random.randn(20, 4, 3))
        st["l0/forget"].mean, st["l0/forget"].saturated
    """
    check_layer(layer)
    bins = check_int("bins", bins, 1)
    sigmoid_low = check_float_range("sigmoid_low", sigmoid_low, 0.0, 1.0)
    sigmoid_high = check_float_range("sigmoid_high", sigmoid_high, 0.0, 1.0)
    if sigmoid_low >= sigmoid_high:
        raise ValueError(f"sigmoid_low must be below sigmoid_high, got {sigmoid_low} and {sigmoid_high}")
    tanh_threshold = check_float_range("tanh_threshold", tanh_threshold, 0.0, 1.0)
    inp = prepare_inputs(layer, x, hx, lengths, dtype)
    traces = replay_forward(layer, inp, dtype)
    valid = inp.valid()
    kinds = dict(gate_kinds(layer))
    result = {}
    for l, row in enumerate(traces):
        for d, tr in enumerate(row):
            acts = gate_activations(layer, l, d, tr.x, *tr.prev)
            for name, v in acts.items():
                key = f"{suffix(l, d)[1:]}/{name}"
                result[key] = activation_stats(name, kinds[name], v, valid, bins=bins, sigmoid_low=sigmoid_low,
                                               sigmoid_high=sigmoid_high, tanh_threshold=tanh_threshold)
    return result


def saturation(layer, x, hx=None, lengths=None, *, sigmoid_low: float = 0.05, sigmoid_high: float = 0.95,
               tanh_threshold: float = 0.95, dtype=np.float64) -> dict[str, float]:
    """``{key: fraction saturated}`` for every gate (keys as in :func:`gate_stats`)."""
    st = gate_stats(layer, x, hx, lengths, sigmoid_low=sigmoid_low, sigmoid_high=sigmoid_high,
                    tanh_threshold=tanh_threshold, dtype=dtype)
    return {k: s.saturated for k, s in st.items()}
