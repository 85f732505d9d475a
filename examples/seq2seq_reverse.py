"""Encoder-decoder on ``reverse_sequence``: read a sequence of symbols, write it reversed, then EOS.

Trains a :class:`rnnkit.train.Seq2Seq` with ``fit`` (teacher forcing: the decoder reads
``SOS, y_1 .. y_{L}``) for at most ``--epochs`` epochs or ``--budget`` seconds (the epoch in
progress finishes), then reports on a fresh test set drawn with another seed:

- teacher-forced token accuracy (targets of real steps, EOS included; chance 1/n_symbols),
- greedy exact-sequence accuracy: the decoder feeds back its own argmax from SOS until EOS,
  and the whole output (with EOS at the right place) must equal the reversed input.

Usage::

    python examples/seq2seq_reverse.py                     # GRU, lengths 3..10, 10 symbols
    python examples/seq2seq_reverse.py --cell lstm --bidirectional --budget 60
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rnnkit import nn, optim
from rnnkit.datasets import reverse_sequence
from rnnkit.models import Seq2Seq, seq2seq_data
from rnnkit.train import Callback, evaluate, fit


class TimeBudget(Callback):
    """Stop after the first epoch that ends more than ``seconds`` after training began."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_train_begin(self, trainer) -> None:
        self.t0 = time.perf_counter()

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        elapsed = time.perf_counter() - self.t0
        print(f"epoch {epoch:3d}  loss {logs['loss']:.4f}  token acc {logs['accuracy']:.4f}  "
              f"val token acc {logs['val_accuracy']:.4f}  ({elapsed:.0f} s)")
        if elapsed > self.seconds:
            trainer.stop_training = True


def exact_sequence_accuracy(ids: np.ndarray, y: np.ndarray, y_lengths: np.ndarray) -> float:
    """Fraction of rows whose first ``y_lengths`` greedy tokens (ending in EOS) equal ``y``."""
    return float(np.mean([np.array_equal(ids[i, :n], y[i, :n]) for i, n in enumerate(y_lengths)]))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", default="gru", choices=["gru", "lstm", "rnn"])
    ap.add_argument("--bidirectional", action="store_true", help="two-direction encoder (Linear+tanh bridge)")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--embedding", type=int, default=32)
    ap.add_argument("--min-len", type=int, default=3)
    ap.add_argument("--max-len", type=int, default=10)
    ap.add_argument("--symbols", type=int, default=10)
    ap.add_argument("--n-train", type=int, default=6000)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--budget", type=float, default=80.0, help="seconds of training (checked after each epoch)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    sizes = dict(min_len=args.min_len, max_len=args.max_len, n_symbols=args.symbols, batch_first=True)
    train = reverse_sequence(args.n_train, seed=args.seed, **sizes)
    val = reverse_sequence(500, seed=args.seed + 1, **sizes)
    test = reverse_sequence(args.n_test, seed=args.seed + 2, **sizes)     # fresh: never seen in training
    V = train.info["vocab_size"]
    print(train.description)
    model = Seq2Seq(V, V, args.embedding, args.hidden, cell=args.cell, bidirectional_encoder=args.bidirectional,
                    rng=args.seed)
    print(model)

    t0 = time.perf_counter()
    fit(model, seq2seq_data(train), loss=nn.CrossEntropyLoss(), optimizer=optim.Adam(model.parameters(), lr=args.lr),
        epochs=args.epochs, batch_size=64, rng=args.seed, val_data=seq2seq_data(val), metrics=["accuracy"],
        clip_grad_norm=5.0, callbacks=[TimeBudget(args.budget)], progress=False)
    seconds = time.perf_counter() - t0

    res = evaluate(model, seq2seq_data(test), loss=nn.CrossEntropyLoss(), metrics=["accuracy"])
    ids = model.greedy_decode(test.X, test.lengths, max_len=test.y.shape[1] + 2)
    exact = exact_sequence_accuracy(ids, test.y, test.y_lengths)
    print(f"\ntrained {seconds:.0f} s; test set of {test.n} fresh sequences:")
    chance = train.info["chance_token_accuracy"]
    print(f"  teacher-forced token accuracy  {res['accuracy']:.4f}   (chance {chance:.3f})")
    print(f"  greedy exact-sequence accuracy {exact:.4f}")
    off, eos = train.info["offset"], train.info["eos"]
    for i in range(3):
        src = (test.X[i, : test.lengths[i]] - off).tolist()
        out = [int(t) - off if t >= off else ("EOS" if t == eos else "?") for t in ids[i] if t != train.info["pad"]]
        print(f"  {src} -> {out}")


if __name__ == "__main__":
    main()
