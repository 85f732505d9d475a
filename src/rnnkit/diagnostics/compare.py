"""RNN (tanh / relu / sigmoid) vs LSTM vs GRU: the data of the vanishing-gradient demo.

Every model gets the same input batch ``x ~ N(0, 1)`` of shape (T, B, I), PyTorch's default
initialisation U(-1/sqrt(H), 1/sqrt(H)) from one seed, the recurrent weights ``weight_hh``
multiplied by ``recurrent_scale`` (above about 2 a relu RNN explodes), and the LSTM forget
bias set to ``forget_bias``. The loss is the sum of the last step's output.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_rng, check_float_range, check_int
from rnnkit.diagnostics.flow import GradientFlow, gradient_flow
from rnnkit.kernels import KINDS
from rnnkit.kernels.rnn_ref import ACTIVATIONS
from rnnkit.nn import init
from rnnkit.nn.rnn import RNN
from rnnkit.nn.rnn_base import RNNBase

__all__ = ["compare_cells", "build_models", "GATED"]

GATED = tuple(name for name, k in KINDS.items() if k.gates > 1)    # the gated kinds: GRU, LSTM


def build_models(I: int, H: int, seed: int, nonlinearities, cells, recurrent_scale: float,
                 forget_bias: float | None) -> dict:
    """``{label: layer}`` in float64, every layer initialised from ``seed``; ``forget_bias`` goes
    to the kinds that have a forget gate (LSTM)."""
    models = {}
    for nl in nonlinearities:
        models[f"RNN {nl}"] = RNN(I, H, nonlinearity=nl, dtype=np.float64, rng=seed)
    for cell in cells:
        m = RNNBase(I, H, dtype=np.float64, rng=seed, mode=cell)
        if forget_bias is not None and "forget" in m.kind.gate_names:
            init.lstm_forget_bias_(m, forget_bias)
        models[cell] = m
    for m in models.values():
        m.weight_hh_l0.data *= recurrent_scale
    return models


def compare_cells(T: int = 100, H: int = 32, seed: int = 0, *, B: int = 8, I: int = 4,
                  nonlinearities=("tanh", "relu", "sigmoid"), cells=("LSTM", "GRU"),
                  recurrent_scale: float = 1.0, forget_bias: float | None = 1.0,
                  clip: float | None = None) -> dict[str, GradientFlow]:
    """``{label: GradientFlow}`` for each model on one shared seeded batch.

    With ``clip`` every model is run a second time with state-gradient clipping (see
    :func:`gradient_flow`), labelled ``'<label>, clip=<clip>'``.

    Example::

        res = compare_cells(T=50, H=16)
        {k: f.first_to_last() for k, f in res.items()}   # RNN tanh ~1e-10, LSTM far larger
    """
    T, H, B, I = check_int("T", T, 1), check_int("H", H, 1), check_int("B", B, 1), check_int("I", I, 1)
    seed = check_int("seed", seed, 0)
    for nl in nonlinearities:
        if nl not in ACTIVATIONS:
            raise ValueError(f"nonlinearities must hold {' or '.join(map(repr, ACTIVATIONS))}, got {nl!r}")
    for c in cells:
        if c not in GATED:
            raise ValueError(f"cells must hold {' or '.join(map(repr, GATED))}, got {c!r}")
    recurrent_scale = check_float_range("recurrent_scale", recurrent_scale, 0.0, 1e6)
    if forget_bias is not None:
        forget_bias = check_float_range("forget_bias", forget_bias, -1e6, 1e6)
    x = as_rng(seed).standard_normal((T, B, I))                         # (T, B, I)
    models = build_models(I, H, seed, nonlinearities, cells, recurrent_scale, forget_bias)
    results = {}
    for label, m in models.items():
        results[label] = gradient_flow(m, x, label=label)
    if clip is not None:
        for label, m in models.items():
            lab = f"{label}, clip={clip:g}"
            results[lab] = gradient_flow(m, x, clip=clip, label=lab)
    return results
