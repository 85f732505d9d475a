"""The one Numba decorator every compiled kernel uses.

- ``cache=True``: compiled once per machine, stored next to the source.
- ``nogil=True``: the two directions of a bidirectional layer can run in two threads.
- ``error_model="numpy"``: float division never raises (a raising division has a branch
  that stops LLVM from vectorising the gate loops).
- ``fastmath={"contract", "nsz"}``: fused multiply-add and signed-zero freedom only; no
  ``nnan``/``ninf``/``reassoc``, so NaN still propagates (training detects non-finite
  losses) and the Cody-Waite range reduction in ``_vmath`` stays exact.
"""

from __future__ import annotations

from numba import njit

FASTMATH = {"contract", "nsz"}

kernel = njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
