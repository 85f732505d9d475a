"""Timing helpers: warm up, then the minimum wall time of several repetitions."""

from __future__ import annotations

import time

import numpy as np


def best_time(fn, repeat: int, warmup: int = 1) -> float:
    """Minimum wall-clock seconds of ``fn()`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_gflops(n: int = 2048, repeat: int = 3, seed: int = 0) -> float:
    """GFLOP/s of an ``n x n`` float32 matrix product in NumPy (the machine's GEMM rate)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    t = best_time(lambda: a @ b, repeat)
    return 2.0 * n ** 3 / t / 1e9
