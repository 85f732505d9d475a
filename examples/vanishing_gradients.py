"""Vanishing and exploding gradients: RNN (tanh / relu / sigmoid) vs LSTM vs GRU.

Writes three PNG files to ``--out`` (a fixed, small budget: T=100, H=32, B=8, a few seconds):

- ``gradient_flow.png``: ``||dL/dh_t||`` for a loss at the last step. Left, PyTorch's
  default initialisation: every plain RNN's gradient vanishes geometrically, the LSTM
  (forget bias 1) and the GRU keep far more. Right, recurrent weights x3: the relu and tanh
  RNNs explode; dashed, the same runs with the state gradient clipped to norm 10.
- ``jacobian_norms.png``: ``||ds_T/ds_t||_2``, the product of per-step Jacobians.
- ``gate_stats.png``: histograms of the gate activations and how many are saturated.

Usage::

    python examples/vanishing_gradients.py --out /tmp/vanishing
"""

from __future__ import annotations

import argparse
import os

import numpy as np

from rnnkit import diagnostics as dg
from rnnkit.diagnostics.compare import build_models


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="directory for the PNG files")
    ap.add_argument("--T", type=int, default=100, help="sequence length")
    ap.add_argument("--H", type=int, default=32, help="hidden size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=3.0, help="recurrent weight scale of the right panel")
    ap.add_argument("--clip", type=float, default=10.0, help="state-gradient clipping norm")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    default = dg.compare_cells(T=args.T, H=args.H, seed=args.seed)
    scaled = dg.compare_cells(T=args.T, H=args.H, seed=args.seed, recurrent_scale=args.scale,
                              clip=args.clip)
    path = dg.plot_gradient_flow(
        {"default init U(-1/sqrt(H), 1/sqrt(H))": default,
         f"recurrent weights x{args.scale:g} (dashed: clip={args.clip:g})": scaled},
        os.path.join(args.out, "gradient_flow.png"),
        title=f"Gradient reaching step t from a loss at step {args.T - 1} (T={args.T}, H={args.H})",
    )
    print(f"wrote {path}")
    print(f"{'model':<26} {'||dL/dh_0|| / ||dL/dh_T-1||':>28} {'x' + format(args.scale, 'g'):>12}")
    for label, flow in default.items():
        print(f"{label:<26} {flow.first_to_last():>28.3e} {scaled[label].first_to_last():>12.3e}")

    x = np.random.default_rng(args.seed).standard_normal((args.T, 8, 4))     # (T, B, I)
    models = build_models(4, args.H, args.seed, ("tanh", "relu", "sigmoid"), ("LSTM", "GRU"), 1.0, 1.0)
    jac = {label: dg.jacobian_norms(m, x) for label, m in models.items()}
    path = dg.plot_gradient_flow(jac, os.path.join(args.out, "jacobian_norms.png"),
                                 title="Spectral norm of ds_T/ds_t (LSTM: joint state (h, c))")
    print(f"wrote {path}")
    gates = {label: dg.gate_stats(models[label], x) for label in ("RNN tanh", "LSTM", "GRU")}
    path = dg.plot_gate_stats(gates, os.path.join(args.out, "gate_stats.png"),
                              title="Gate activations (saturated: sigmoid <0.05 or >0.95, |tanh| >0.95)")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
