"""JapaneseVowels (UEA): RNNClassifier with its defaults, test accuracy over three seeds.

270 training and 370 test utterances of 9 speakers, 12 LPC cepstrum channels, lengths 7 to
29. The data are the archive files the aeon/sktime wheels ship (``pip install --no-deps
sktime``), read by :func:`rnnkit.datasets.load_uea`. Each run fits ``RNNClassifier(
random_state=seed)`` on the training split as it comes (a list of variable-length arrays and
string labels) and scores the test split once; nothing here was tuned on the test split.
It also times one ``predict`` call on one sequence after saving and loading the estimator.

Usage::

    python examples/classify_japanese_vowels.py               # seeds 0, 1, 2
    python examples/classify_japanese_vowels.py --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import rnnkit
from rnnkit.datasets import load_uea
from rnnkit.estimators import RNNClassifier


def predict_latency(clf, x, repeats: int = 200) -> float:
    """Median seconds of one ``predict`` on one sequence, after a save / load round trip."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "clf.npz")
        clf.save(path)
        back = rnnkit.load(path)
    back.predict([x])                                       # warm up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        back.predict([x])
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args(argv)
    train, test = load_uea("JapaneseVowels")
    print(f"JapaneseVowels: {len(train)} train / {len(test)} test, {train.n_channels} channels; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    accs = []
    for seed in args.seeds:
        t, c = time.perf_counter(), time.process_time()
        clf = RNNClassifier(random_state=seed).fit(train.X, train.y)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        acc = clf.score(test.X, test.y)
        accs.append(acc)
        print(f"seed {seed}: test accuracy {acc:.4f}  fit {wall:.1f} s wall, {cpu:.1f} s CPU, "
              f"{len(clf.history_)} epochs (best {clf.best_epoch_})")
    print(f"mean test accuracy over seeds {args.seeds}: {np.mean(accs):.4f}")
    print(f"one predict call on one sequence after loading: {predict_latency(clf, test.X[0]) * 1e3:.3f} ms")
    print("confusion matrix (rows true, columns predicted, classes", clf.classes_.tolist(), "):")
    print(clf.confusion_matrix(test.X, test.y))


if __name__ == "__main__":
    main()
