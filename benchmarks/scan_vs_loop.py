"""minGRU / minLSTM: the parallel log-space scan against the sequential compiled loop and
against rnnkit's GRU, on the CPU (issue 11); and SRU against the GRU at the same H.

For T = 100, 1000, 10000 (B, I, H fixed), the best of ``--repeat`` runs of a training step
(forward with cache + backward, float32) and of inference (forward, no cache), per layer.
The scan's two passes are a cumulative sum and a cumulative log-add-exp over time (float64
inside): on a GPU these are O(log T)-depth scans; on the CPU each is a vectorised pass over the
B*H lanes per step, with an exp and a log per element, so expect it to be slower than the
loop, whose step is one multiply-add per element. SRU (Lei et al. 2018, "train RNNs as fast
as CNNs") does all its matrix work in one GEMM over the sequence and runs an elementwise loop;
the GRU has an (H, 3H) product at every step. The figures are the machine's, timed while
other jobs run (the minimum of the repeats is the least disturbed).

Usage::

    python benchmarks/scan_vs_loop.py                     # T = 100, 1000, 10000; B=16, I=32, H=64
    python benchmarks/scan_vs_loop.py --T 100 1000 --repeat 3
    python benchmarks/scan_vs_loop.py --layers SRU GRU      # only these rows
"""

from __future__ import annotations

import argparse

import numpy as np

import rnnkit
from rnnkit import nn
from rnnkit.bench.timing import best_time


def _layers(I, H):
    return {
        "minGRU loop": nn.MinGRU(I, H, algorithm="loop", rng=0),
        "minGRU scan": nn.MinGRU(I, H, algorithm="scan", rng=0),
        "minLSTM loop": nn.MinLSTM(I, H, algorithm="loop", rng=0),
        "minLSTM scan": nn.MinLSTM(I, H, algorithm="scan", rng=0),
        "SRU": nn.SRU(I, H, rng=0),
        "GRU": nn.GRU(I, H, rng=0),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--B", type=int, default=16)
    ap.add_argument("--I", type=int, default=32)
    ap.add_argument("--H", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--layers", nargs="+", default=None, help="rows to time (default: all; GRU is always timed)")
    args = ap.parse_args(argv)
    rnnkit.set_backend("numba")
    layers = _layers(args.I, args.H)
    if args.layers is not None:
        unknown = sorted(set(args.layers) - set(layers))
        if unknown:
            ap.error(f"--layers: unknown {unknown}, choose from {sorted(layers)}")
        layers = {k: v for k, v in layers.items() if k in args.layers or k == "GRU"}
    print(f"backend numba, float32, B={args.B} I={args.I} H={args.H}, best of {args.repeat}; ms per layer call")
    print("| T | layer | train ms | infer ms | train vs GRU | infer vs GRU |")
    print("|---|---|---|---|---|---|")
    for T in args.T:
        x = np.random.default_rng(T).standard_normal((T, args.B, args.I)).astype(np.float32)
        rows = {}
        for name, layer in layers.items():
            def train(layer=layer, x=x):
                out, _ = layer(x)
                layer.backward(np.ones_like(out))

            def infer(layer=layer, x=x):
                with rnnkit.no_grad():
                    layer(x)

            rows[name] = (best_time(train, args.repeat), best_time(infer, args.repeat))
        gru = rows["GRU"]
        for name, (tr, inf) in rows.items():
            print(f"| {T} | {name} | {tr * 1e3:.2f} | {inf * 1e3:.2f} | {gru[0] / tr:.2f}x | {gru[1] / inf:.2f}x |",
                  flush=True)


if __name__ == "__main__":
    main()
