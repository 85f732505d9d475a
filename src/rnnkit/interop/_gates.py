"""Gate orders of the frameworks rnnkit talks to, and the one function that reorders them.

rnnkit keeps PyTorch's layout: the gate blocks of ``weight_ih`` ``(G*H, I)``, ``weight_hh`` and
the biases are stacked in the order below. ONNX and Keras stack the same blocks differently
(Keras also transposes kernels: ``(I, G*H)``)::

    cell   rnnkit / PyTorch   ONNX          Keras 3
    RNN    h                  h             h
    GRU    r, z, n            z, r, h(=n)   z, r, h(=n)
    LSTM   i, f, g, o         i, o, f, c    i, f, c(=g), o

Example::

    w_onnx = reorder(w_ih, "GRU", "onnx")           # (3H, I), blocks z, r, n
    w_back = reorder(w_onnx, "GRU", "onnx", inverse=True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["GATE_ORDER", "reorder"]

GATE_ORDER = {
    "rnnkit": {"RNN": ("h",), "GRU": ("r", "z", "n"), "LSTM": ("i", "f", "g", "o")},
    "onnx": {"RNN": ("h",), "GRU": ("z", "r", "n"), "LSTM": ("i", "o", "f", "g")},
    "keras": {"RNN": ("h",), "GRU": ("z", "r", "n"), "LSTM": ("i", "f", "g", "o")},
}


def reorder(a: np.ndarray, mode: str, framework: str, *, inverse: bool = False, axis: int = 0) -> np.ndarray:
    """Gate blocks of ``a`` along ``axis`` from rnnkit's order to ``framework``'s (or back).

    ``a`` holds ``G`` equal blocks along ``axis`` (``G`` = 1, 3, 4 for RNN, GRU, LSTM).
    """
    src, dst = GATE_ORDER["rnnkit"][mode], GATE_ORDER[framework][mode]
    if inverse:
        src, dst = dst, src
    blocks = dict(zip(src, np.split(np.asarray(a), len(src), axis=axis)))
    return np.concatenate([blocks[k] for k in dst], axis=axis)


def nonlinearity(layer) -> str:
    """The Elman activation of an rnnkit layer or cell ('tanh' for kinds without the option)."""
    return layer.options.get("nonlinearity", "tanh")


def reset_after(layer) -> bool:
    """Whether an rnnkit GRU layer or cell has PyTorch's reset form (True for other kinds)."""
    return layer.options.get("reset_after", True)
