"""The compiled backend: Numba twins of the reference kernels, one module per cell kind.

``rnn``, ``gru`` and ``lstm`` each define ``forward``, ``backward`` and ``step`` with the
kernel contract of :mod:`rnnkit.kernels` (the record of each kind names its module). What
makes them fast:

- the whole time loop is one compiled call (no Python per step);
- the per-step recurrent product is a BLAS call made from compiled code (``_blas``: NumPy's
  own OpenBLAS, with an ``out=`` workspace allocated once per call);
- all elementwise work of a step is one fused pass per batch row (``*_rows``/``*_seq``), with
  SIMD ``exp``/``sigmoid``/``tanh`` (``_vmath``) so that LLVM vectorises it, at the widest
  vectors the CPU has (``_simd``: 512-bit with AVX-512F, else 256-bit; ``RNNKIT_SIMD`` overrides);
- float32 batches large enough are split by rows over OpenBLAS's own threads (``_pool``), each
  thread running every step of its rows with a packed-weight product (``_gemm``); the workers
  read their arguments from a declared context array (``_context``);
- the weight gradients are one GEMM over all time steps after the loop.

``np.dot`` inside Numba needs SciPy's BLAS; without SciPy this package does not import and
:mod:`rnnkit.kernels` falls back to the NumPy reference.
"""

from __future__ import annotations

import scipy.linalg.cython_blas  # noqa: F401  (Numba's np.dot calls this BLAS)

from rnnkit.kernels.fast import _simd  # noqa: F401  (the vector width, chosen before anything compiles)
from rnnkit.kernels.fast._cache import refresh as _refresh_cache

_refresh_cache()                  # before anything compiles: cached code of changed sources is dropped
