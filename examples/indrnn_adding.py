"""IndRNN on the adding problem at long T (Li et al. 2018 solve it at T = 5000), a fixed budget.

A stack of relu IndRNN layers (recurrent weights u ~ U(0, 1), in the last layer
U(0.5^(1/T), 1) so that its units remember over T steps, kept in |u| <= 2^(1/T) after every
Adam step, the paper's constraint) reads the (value, marker) sequence of
``rnnkit.datasets.adding_problem``; a Linear head on the last step predicts the sum of the two
marked values. Predicting the constant 1 gives MSE 1/6 ~ 0.167; "solved" is MSE < 0.01.
It prints the test MSE every ``--every`` steps and at the end.

Usage::

    python examples/indrnn_adding.py --T 1000 --steps 300
    python examples/indrnn_adding.py --T 5000 --steps 200 --batch 16
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import rnnkit
from rnnkit import nn
from rnnkit.datasets import adding_problem
from rnnkit.optim import Adam


def build(T, H, layers, rng):
    rnn = nn.IndRNN(2, H, num_layers=layers, recurrent_max=2 ** (1 / T), rng=rng)
    last = f"weight_hh_l{layers - 1}"
    for name, p in rnn.named_parameters():
        if name.startswith("weight_hh"):                              # u ~ U(0, 1); the last layer's units
            low = 0.5 ** (1 / T) if name == last else 0.0             # keep at least half over T steps
            p.data[:] = rng.uniform(low, 1, p.shape)
    return rnn, nn.Linear(H, 1, rng=rng)


def test_mse(rnn, head, test) -> float:
    with rnnkit.no_grad():
        out, _ = rnn(test.X)                                          # (T, N, H)
        return float(np.mean((head(out[-1]) - test.y) ** 2))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--T", type=int, default=1000, help="sequence length")
    ap.add_argument("--H", type=int, default=64, help="hidden size of every layer")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=300, help="Adam steps (the fixed budget)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--every", type=int, default=50, help="evaluate every this many steps")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rnn, head = build(args.T, args.H, args.layers, rng)
    test = adding_problem(args.T, 256, seed=args.seed + 1)
    opt = Adam(list(rnn.parameters()) + list(head.parameters()), lr=args.lr)
    loss = nn.MSELoss()
    print(f"IndRNN adding problem T={args.T}, {args.layers} x H={args.H}, batch {args.batch}, {args.steps} steps; "
          f"baseline MSE {test.info['baseline_mse']:.3f}")
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        batch = adding_problem(args.T, args.batch, rng=rng)
        out, _ = rnn(batch.X)                                         # (T, B, H)
        loss(head(out[-1]), batch.y)
        opt.zero_grad()
        d_out = np.zeros_like(out)
        d_out[-1] = head.backward(loss.backward())
        rnn.backward(d_out)
        opt.step()
        rnn.constrain_()
        if step % args.every == 0 or step == args.steps:
            print(f"step {step:5d}  test MSE {test_mse(rnn, head, test):.4f}  ({time.perf_counter() - start:.0f} s)",
                  flush=True)


if __name__ == "__main__":
    main()
