r"""Gate activation statistics and saturation, from one forward pass.

The layer replays its forward (see ``_unroll``), which gives every layer's input ``x_t`` and
the state each step starts from; the gate activations are then recomputed from the
equations with the layer's own weights (PyTorch's gate order):

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
from rnnkit.diagnostics._unroll import check_layer, prepare_inputs, replay_forward, suffix

__all__ = ["ActivationStats", "gate_activations", "activation_stats", "gate_stats", "saturation"]

GATES = {
    "LSTM": (("input", "sigmoid"), ("forget", "sigmoid"), ("cell", "tanh"), ("output", "sigmoid"),
             ("tanh_c", "tanh")),
    "GRU": (("reset", "sigmoid"), ("update", "sigmoid"), ("new", "tanh")),
}


def gate_kinds(layer) -> tuple[tuple[str, str], ...]:
    """``((name, kind), ...)`` of the activations reported for ``layer``."""
    if layer.mode == "RNN":
        return (("h", layer.nonlinearity),)
    return GATES[layer.mode]


def _sigmoid(a: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-a))


def gate_activations(layer, l: int, d: int, x, h_prev, c_prev=None) -> dict[str, np.ndarray]:
    """Activations of (layer ``l``, direction ``d``) from its input and previous state.

    x (T, B, I_l), h_prev (T, B, P), c_prev (T, B, H) for LSTM. Returns ``{name: (T, B, H)}``.
    """
    dt = x.dtype
    par = layer._parameters
    sfx = suffix(l, d)
    w_ih = par["weight_ih" + sfx].data.astype(dt)                  # (G*H, I_l)
    w_hh = par["weight_hh" + sfx].data.astype(dt)                  # (G*H, P)
    GH = w_ih.shape[0]
    b_ih = par["bias_ih" + sfx].data.astype(dt) if layer.bias else np.zeros(GH, dt)
    b_hh = par["bias_hh" + sfx].data.astype(dt) if layer.bias else np.zeros(GH, dt)
    H = layer.hidden_size
    ax = x @ w_ih.T + b_ih                                          # (T, B, G*H)
    if layer.mode == "RNN":
        a = ax + h_prev @ w_hh.T + b_hh                             # (T, B, H)
        f = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0), "sigmoid": _sigmoid}
        return {"h": f[layer.nonlinearity](a)}
    if layer.mode == "LSTM":
        a = ax + h_prev @ w_hh.T + b_hh                             # (T, B, 4H)
        i, f = _sigmoid(a[..., :H]), _sigmoid(a[..., H:2 * H])
        g, o = np.tanh(a[..., 2 * H:3 * H]), _sigmoid(a[..., 3 * H:])
        c = f * c_prev + i * g                                      # (T, B, H)
        return {"input": i, "forget": f, "cell": g, "output": o, "tanh_c": np.tanh(c)}
    ah = h_prev @ w_hh[:2 * H].T + b_hh[:2 * H]                     # (T, B, 2H)
    r = _sigmoid(ax[..., :H] + ah[..., :H])
    z = _sigmoid(ax[..., H:2 * H] + ah[..., H:])
    if layer.reset_after:
        s_n = h_prev @ w_hh[2 * H:].T + b_hh[2 * H:]                 # (T, B, H)
        n = np.tanh(ax[..., 2 * H:] + r * s_n)
    else:
        n = np.tanh(ax[..., 2 * H:] + (r * h_prev) @ w_hh[2 * H:].T + b_hh[2 * H:])
    return {"reset": r, "update": z, "new": n}


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
            c_prev = tr.prev[1] if layer.mode == "LSTM" else None
            acts = gate_activations(layer, l, d, tr.x, tr.prev[0], c_prev)
            for name, v in acts.items():
                key = f"l{l}{'_reverse' if d else ''}/{name}"
                result[key] = activation_stats(name, kinds[name], v, valid, bins=bins, sigmoid_low=sigmoid_low,
                                               sigmoid_high=sigmoid_high, tanh_threshold=tanh_threshold)
    return result


def saturation(layer, x, hx=None, lengths=None, *, sigmoid_low: float = 0.05, sigmoid_high: float = 0.95,
               tanh_threshold: float = 0.95, dtype=np.float64) -> dict[str, float]:
    """``{key: fraction saturated}`` for every gate (keys as in :func:`gate_stats`)."""
    st = gate_stats(layer, x, hx, lengths, sigmoid_low=sigmoid_low, sigmoid_high=sigmoid_high,
                    tanh_threshold=tanh_threshold, dtype=dtype)
    return {k: s.saturated for k, s in st.items()}
