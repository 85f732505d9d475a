"""What variational dropout and shared-direction bidirectional layers cost in a training step.

For RNN, GRU and LSTM (T=100, I=32, H=128; float32 at B=64, float64 at B=8), the best of
``--repeat`` training steps (forward with cache + backward) of: the plain layer;
``recurrent_dropout=0.25`` (the compiled twins run their serial loop with a mask: no row split
over threads); ``input_dropout=0.25`` (one elementwise product before the kernel and one after);
a bidirectional layer; the same with ``share_directions=True`` (the same work on half the
weights). Wall-clock and CPU seconds (``time.process_time``, all threads) are both the best
of the repeats; the machine's load average is printed, as other jobs share it.

Usage::

    python benchmarks/recurrent_dropout_cost.py
    python benchmarks/recurrent_dropout_cost.py --repeat 5 --cells LSTM
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import rnnkit
from rnnkit import nn

VARIANTS = {
    "plain": {},
    "recurrent_dropout=0.25": {"recurrent_dropout": 0.25},
    "input_dropout=0.25": {"input_dropout": 0.25},
    "bidirectional": {"bidirectional": True},
    "bidirectional, shared": {"bidirectional": True, "share_directions": True},
}


def _best(fn, repeat: int) -> tuple[float, float]:
    """Best wall-clock and best CPU seconds of ``fn()`` over ``repeat`` runs, after one warm-up."""
    fn()
    wall = cpu = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--cells", nargs="+", default=["RNN", "GRU", "LSTM"], choices=["RNN", "GRU", "LSTM"])
    args = ap.parse_args(argv)
    rnnkit.set_backend("numba")
    T, I, H = 100, 32, 128
    print(f"backend numba, T={T} I={I} H={H}, best of {args.repeat} training steps; "
          f"load average before: {os.getloadavg()[0]:.1f}")
    print("| cell | dtype, B | variant | wall ms | CPU ms | wall vs plain |")
    print("|---|---|---|---|---|---|")
    for cell in args.cells:
        for dtype, B in ((np.float32, 64), (np.float64, 8)):
            x = np.random.default_rng(0).standard_normal((T, B, I)).astype(dtype)
            plain = None
            for name, kw in VARIANTS.items():
                layer = getattr(nn, cell)(I, H, dtype=dtype, rng=0, **kw)

                def step(layer=layer, x=x):
                    out, _ = layer(x)
                    layer.backward(np.ones_like(out))

                wall, cpu = _best(step, args.repeat)
                plain = wall if plain is None else plain
                print(f"| {cell} | {np.dtype(dtype).name}, {B} | {name} | {wall * 1e3:.1f} | {cpu * 1e3:.1f} | "
                      f"{wall / plain:.2f} |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
