"""Translate dates written in many human formats into ISO 8601 with ``RNNSeq2Seq``: greedy
against beam decoding on dates never seen in training.

The pairs come from the real (proleptic Gregorian) calendar of Python's ``datetime``: a day
drawn uniformly from 1950-01-01 .. 2049-12-31 is written in one of these formats (drawn
uniformly) and the target is its ISO form::

    Tuesday, March 5, 2024   5 Mar 2024   03/05/24   March 5, 2024   05.03.2024   2024 Mar 05
        -> 2024-03-05

(``03/05/24`` is month/day/two-digit year, 50..99 meaning 19xx and 00..49 20xx.) Training
and test days are disjoint. The run trains for at most ``--max-time`` seconds (stopping at
the best epoch so far), then prints the exact-match and token accuracy of greedy and beam
decoding on the test dates, a few translations, and the time of one ``predict`` call on one
date after ``save`` / ``rnnkit.load``.

Usage::

    PYTHONPATH=src python3 examples/seq2seq_dates.py                 # defaults: 8000 pairs, 240 s
    PYTHONPATH=src python3 examples/seq2seq_dates.py --max-time 600 --beam 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time

import numpy as np

import rnnkit
from rnnkit.estimators import RNNSeq2Seq

FORMATS = (
    lambda d: f"{d:%A}, {d:%B} {d.day}, {d.year}",
    lambda d: f"{d.day} {d:%b} {d.year}",
    lambda d: f"{d:%m/%d/%y}",
    lambda d: f"{d:%B} {d.day}, {d.year}",
    lambda d: f"{d:%d.%m.%Y}",
    lambda d: f"{d.year} {d:%b %d}",
)
FIRST, LAST = dt.date(1950, 1, 1), dt.date(2049, 12, 31)


def date_pairs(days: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """``(sources, ISO targets)`` of the days ``days`` (offsets from 1950-01-01)."""
    X, y = [], []
    for off in days.tolist():
        d = FIRST + dt.timedelta(days=off)
        X.append(FORMATS[rng.integers(len(FORMATS))](d))
        y.append(d.isoformat())
    return X, y


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=8000, help="training pairs (default 8000)")
    ap.add_argument("--n-test", type=int, default=1000, help="test pairs, days never seen in training (default 1000)")
    ap.add_argument("--max-time", type=float, default=240.0, help="training budget in seconds (default 240)")
    ap.add_argument("--max-epochs", type=int, default=60, help="default 60")
    ap.add_argument("--beam", type=int, default=5, help="beam width compared with greedy (default 5)")
    ap.add_argument("--seed", type=int, default=0, help="default 0")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    n_days = (LAST - FIRST).days + 1
    days = rng.permutation(n_days)[: args.n_train + args.n_test]
    X, y = date_pairs(days[: args.n_train], rng)
    X_test, y_test = date_pairs(days[args.n_train:], rng)
    print(f"{len(X)} training pairs, {len(X_test)} test pairs (other days), e.g. {X[0]!r} -> {y[0]!r}")

    est = RNNSeq2Seq(max_epochs=args.max_epochs, max_time=args.max_time, random_state=args.seed, verbose=0)
    print(est)
    t0 = time.perf_counter()
    est.fit(X, y)
    secs = time.perf_counter() - t0
    h = est.history_.history
    print(f"trained {secs:.0f} s, {len(h['loss'])} epochs, best epoch {est.best_epoch_} "
          f"(validation token accuracy {h['val_accuracy'][est.best_epoch_ - 1]:.4f}, teacher forced)")

    for k in (1, args.beam):
        t0 = time.perf_counter()
        exact = est.score(X_test, y_test, beam_size=k)
        tok = est.token_accuracy(X_test, y_test, beam_size=k)
        name = "greedy" if k == 1 else f"beam {k}"
        print(f"  {name:8s} exact match {exact:.4f}   token accuracy {tok:.4f}   "
              f"({(time.perf_counter() - t0) / 2 / len(X_test) * 1e3:.2f} ms per date)")
    pred = est.predict(X_test[:6], beam_size=args.beam)
    for src, p, t in zip(X_test[:6], pred, y_test[:6]):
        print(f"  {src!r:30} -> {p!r} {'ok' if p == t else 'expected ' + t}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dates.npz")
        est.save(path)
        back = rnnkit.load(path)
    one = [X_test[0]]
    back.predict(one)
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        back.predict(one)
        times.append(time.perf_counter() - t0)
    print(f"one predict call on one date after loading: {min(times) * 1e3:.2f} ms (best of 50), "
          f"median {np.median(times) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
