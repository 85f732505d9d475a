"""Initialisers (in place, like ``torch.nn.init``): each takes a Parameter or an ndarray.

- :func:`uniform_` U(a, b); :func:`zeros_`, :func:`ones_`, :func:`constant_`
- :func:`xavier_uniform_` U(-s, s), s = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio)
- :func:`xavier_normal_` N(0, gain^2 * 2 / (fan_in + fan_out))
- :func:`orthogonal_`: (semi-)orthogonal matrix from the QR of a Gaussian matrix, applied to
  each gate block of a recurrent weight with :func:`orthogonal_recurrent_`
- :func:`lstm_forget_bias_`: set the forget-gate slice of LSTM biases (Jozefowicz et al. 2015)

The gate blocks of a recurrent layer or cell come from its kind's record (``m.kind``:
``gates``, ``gate_names``), so these work for every registered cell kind.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit._checks import as_rng, check_float_range, check_int
from rnnkit.kernels import CellKind
from rnnkit.nn.module import Module, Parameter

__all__ = [
    "uniform_", "zeros_", "ones_", "constant_", "xavier_uniform_", "xavier_normal_",
    "orthogonal_", "orthogonal_recurrent_", "lstm_forget_bias_",
]


def _array(t) -> np.ndarray:
    if isinstance(t, Parameter):
        return t.data
    if isinstance(t, np.ndarray):
        return t
    raise TypeError(f"tensor must be a Parameter or numpy.ndarray, got {type(t).__name__}")


def _fans(a: np.ndarray) -> tuple[int, int]:
    if a.ndim < 2:
        raise ValueError(f"fan in/out needs an array with at least 2 dimensions, got shape {a.shape}")
    receptive = int(np.prod(a.shape[2:])) if a.ndim > 2 else 1
    return a.shape[1] * receptive, a.shape[0] * receptive


def uniform_(t, a: float = 0.0, b: float = 1.0, rng=None):
    arr = _array(t)
    arr[...] = as_rng(rng).uniform(a, b, size=arr.shape)
    return t


def constant_(t, val: float):
    _array(t)[...] = val
    return t


def zeros_(t):
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def xavier_uniform_(t, gain: float = 1.0, rng=None):
    arr = _array(t)
    fan_in, fan_out = _fans(arr)
    s = gain * math.sqrt(6.0 / (fan_in + fan_out))
    arr[...] = as_rng(rng).uniform(-s, s, size=arr.shape)
    return t


def xavier_normal_(t, gain: float = 1.0, rng=None):
    arr = _array(t)
    fan_in, fan_out = _fans(arr)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    arr[...] = as_rng(rng).normal(0.0, std, size=arr.shape)
    return t


def orthogonal_(t, gain: float = 1.0, rng=None):
    """Fill with a (semi-)orthogonal matrix: rows or columns orthonormal, times ``gain``."""
    arr = _array(t)
    if arr.ndim < 2:
        raise ValueError(f"orthogonal_ needs at least 2 dimensions, got shape {arr.shape}")
    rows, cols = arr.shape[0], int(np.prod(arr.shape[1:]))
    flat = as_rng(rng).normal(size=(max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))                   # uniform over the orthogonal group
    if rows < cols:
        q = q.T
    arr[...] = (gain * q[:rows, :cols]).reshape(arr.shape)
    return t


def orthogonal_recurrent_(module: Module, gain: float = 1.0, rng=None):
    """Make every gate block of every ``weight_hh*`` (semi-)orthogonal.

    ``weight_hh`` is ``(G*H, H_out)`` (G from the kind's record: 1 RNN, 3 GRU, 4 LSTM;
    H_out = proj_size or H): each of the G row blocks ``(H, H_out)`` gets its own orthogonal
    matrix (orthonormal columns when ``H > H_out``, as with an LSTM projection).
    """
    rng = as_rng(rng)
    for m in module.modules():
        kind = getattr(m, "kind", None)
        G = kind.gates if isinstance(kind, CellKind) else None
        for name, p in m._parameters.items():
            if not name.startswith("weight_hh"):
                continue
            if len(p.shape) != 2:
                raise ValueError(f"orthogonal_recurrent_: {name} is not a matrix (shape {p.shape})")
            rows, cols = p.shape
            g = G if G is not None else max(1, rows // cols)
            if rows % g:
                raise ValueError(f"orthogonal_recurrent_: {name} has {rows} rows, not {g} equal gate blocks")
            size = rows // g
            for k in range(g):
                block = np.empty((size, cols), p.dtype)                 # (H, H_out)
                orthogonal_(block, gain, rng)
                p.data[k * size:(k + 1) * size] = block
    return module


def lstm_forget_bias_(module: Module, value: float = 1.0):
    """Set the forget-gate slice of every ``bias_ih*`` to ``value`` and of ``bias_hh*`` to 0.

    Applies to every layer or cell whose kind has a gate named 'forget' (the LSTM: rows
    [H:2H]). The sum b_ih + b_hh is what the gate sees, so the forget gate starts at
    sigmoid(value).
    """
    check_float_range("value", value, -1e6, 1e6)
    found = False
    for m in module.modules():
        kind = getattr(m, "kind", None)
        if not isinstance(kind, CellKind) or "forget" not in kind.gate_names:
            continue
        H = check_int("hidden_size", m.hidden_size, 1)
        k = kind.gate_names.index("forget")
        for name, p in m._parameters.items():
            if name.startswith("bias_ih"):
                p.data[k * H:(k + 1) * H] = value
                found = True
            elif name.startswith("bias_hh"):
                p.data[k * H:(k + 1) * H] = 0.0
    if not found:
        raise ValueError("lstm_forget_bias_: the module holds no LSTM layer or cell with biases")
    return module
