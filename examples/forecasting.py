"""Time-series prediction: RNN, LSTM and GRU against a feed-forward network over a fixed window.

The tutorials' comparison: a feed-forward network sees exactly the last ``window`` steps,
flattened; a recurrent network reads them one at a time and carries a state. Both are
trained with the same optimiser and budget on the first three quarters of one noisy
multi-frequency sine series (``rnnkit.datasets.sine_wave``) and scored on its last quarter
(windows that share no step with the training targets). References printed alongside, for
the whole series: persistence (predict the last value), the mean, and the noise floor (the
MSE of a perfect model).

Usage::

    python examples/forecasting.py                      # under a minute on 2 cores
    python examples/forecasting.py --window 5

Measured here (seed 0, 15 epochs, H=32): with a 50-step window the MLP reached test MSE
0.0115 and RNN/LSTM/GRU 0.020 (persistence 0.027, noise floor 0.010): a sum of sines is a
linear autoregressive process, which a wide window regresses directly. With a 5-step window
all four reach 0.020. The recurrent models need no fixed window, and their state carries
what a window cuts off; this series simply does not need it.
"""

from __future__ import annotations

import argparse
import time

from rnnkit import datasets, nn, optim
from rnnkit.models import SequenceModel
from rnnkit.train import evaluate, fit


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window", type=int, default=50)
    ap.add_argument("--steps", type=int, default=3000, help="length of the training series")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    series = datasets.sine_wave(n_steps=args.steps, window=args.window, seed=args.seed, batch_first=True)
    print(series.description)
    cut = int(series.n * 0.75)                     # windows are in time order: test on the last quarter
    train, test = series.subset(slice(0, cut)), series.subset(slice(cut + args.window, None))
    models = {
        "MLP (window)": nn.WindowMLP(args.window, 1, (args.hidden, args.hidden), 1, rng=args.seed),
        "RNN": SequenceModel(1, args.hidden, 1, cell="rnn", output="last", rng=args.seed),
        "LSTM": SequenceModel(1, args.hidden, 1, cell="lstm", output="last", rng=args.seed),
        "GRU": SequenceModel(1, args.hidden, 1, cell="gru", output="last", rng=args.seed),
    }
    print(f"\n{'model':13s} {'params':>7s} {'test MSE':>9s} {'seconds':>8s}")
    for name, model in models.items():
        t0 = time.perf_counter()
        fit(model, (train.X, train.y), loss="mse", optimizer=optim.Adam(model.parameters(), lr=3e-3),
            epochs=args.epochs, batch_size=32, rng=args.seed, clip_grad_norm=1.0, progress=False)
        mse = evaluate(model, (test.X, test.y), loss="mse")["loss"]
        n_params = sum(p.data.size for p in model.parameters())
        print(f"{name:13s} {n_params:7d} {mse:9.4f} {time.perf_counter() - t0:8.1f}")
    info = series.info
    print(f"\npersistence {info['persistence_mse']:.4f}, mean {info['mean_mse']:.4f}, "
          f"noise floor {info['noise_floor_mse']:.4f}")


if __name__ == "__main__":
    main()
