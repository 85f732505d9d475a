"""The compiled fast path: Numba kernels with the reference kernels' signatures.

``KERNELS`` has ``rnn_forward``, ``rnn_backward``, ``lstm_forward``, ``lstm_backward``,
``gru_forward``, ``gru_backward``, each a drop-in for the function of the same name in
``kernels/*_ref.py`` (same arguments, same returns, same cache tuples). What makes them fast:

- the whole time loop is one compiled call (no Python per step);
- the per-step recurrent product is a BLAS call made from compiled code (``np.dot`` with an
  ``out=`` workspace, allocated once per call);
- all gate arithmetic of a step is one fused pass per batch row, with SIMD ``exp``/``tanh``
  (``_vmath``) so that LLVM vectorises it;
- the weight gradients are one GEMM over all time steps after the loop.

``np.dot`` inside Numba needs SciPy's BLAS; without SciPy this module does not import and
:mod:`rnnkit.kernels` falls back to the NumPy reference.
"""

from __future__ import annotations

from types import SimpleNamespace

import scipy.linalg.cython_blas  # noqa: F401  (Numba's np.dot calls this BLAS)

from rnnkit.kernels.fast.gru import gru_backward, gru_forward
from rnnkit.kernels.fast.lstm import lstm_backward, lstm_forward
from rnnkit.kernels.fast.rnn import rnn_backward, rnn_forward

__all__ = ["KERNELS"]

KERNELS = SimpleNamespace(
    rnn_forward=rnn_forward,
    rnn_backward=rnn_backward,
    lstm_forward=lstm_forward,
    lstm_backward=lstm_backward,
    gru_forward=gru_forward,
    gru_backward=gru_backward,
)
