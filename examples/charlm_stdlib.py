"""A character-level language model of Python source: train ``CharLM`` on some of the standard
library's files, measure bits per character on other files it never saw, against gzip.

The split is by top-level module or package (all of ``email/`` is on one side): a seeded
permutation of the names puts whole modules into the test set until it holds ``--test-chars``
characters; every other ``.py`` file of the standard library (test suites left out, as
:func:`rnnkit.datasets.stdlib_files` lists them) is training text, read from its path by
``CharLM.fit`` as UTF-8.

Printed, all on the same held-out text:

- the model's bits per character (``CharLM.score``: each file from a zero state; an unseen
  character pays its honest code length),
- gzip's: ``8 * len(gzip.compress(text_utf8, 9)) / len(text)`` on the joined test files,
- the unigram rate: the entropy of the test text's own character frequencies (what any
  memoryless code at best reaches),

then a sample, the run's load average (the machine is shared: timings are noisy) and the
training throughput. Training stops after ``--max-time`` seconds (default 1800) at the best
epoch so far, the learning rate annealed to 0 over that time (cosine, CharLM's default when
``max_time`` is given); an epoch is ``--steps-per-epoch`` windows, each followed by
validation on 1% of the training files.

Usage::

    PYTHONPATH=src python3 examples/charlm_stdlib.py                  # the 30-minute run
    PYTHONPATH=src python3 examples/charlm_stdlib.py --max-time 120   # a quick look
"""

from __future__ import annotations

import argparse
import gzip
import os
import time
from collections import Counter

import numpy as np

from rnnkit.datasets import stdlib_files
from rnnkit.datasets.text import _stdlib_root
from rnnkit.estimators import CharLM
from rnnkit.estimators._text_source import read_documents


def split_files(test_chars: int, seed: int) -> tuple[list[str], list[str]]:
    """``(train paths, test paths)``: whole top-level modules/packages go to the test side."""
    root = _stdlib_root()
    files = stdlib_files()

    def top(f):
        return f.split("/")[0].removesuffix(".py")

    names = sorted({top(f) for f in files})
    test_names, n = set(), 0
    for i in np.random.default_rng(seed).permutation(len(names)):
        if n >= test_chars:
            break
        test_names.add(names[i])
        n += sum(os.path.getsize(os.path.join(root, f)) for f in files if top(f) == names[i])
    train = [os.path.join(root, f) for f in files if top(f) not in test_names]
    test = [os.path.join(root, f) for f in files if top(f) in test_names]
    return train, test


def unigram_bpc(text: str) -> float:
    p = np.array(list(Counter(text).values()), np.float64) / len(text)
    return float(-(p * np.log2(p)).sum())


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-time", type=float, default=1800.0, help="training budget, seconds (default 1800)")
    ap.add_argument("--test-chars", type=int, default=300_000, help="held-out characters, about (default 300000)")
    ap.add_argument("--hidden-size", type=int, default=512, help="default 512")
    ap.add_argument("--num-layers", type=int, default=1, help="default 1")
    ap.add_argument("--cell", default="lstm", help="default lstm")
    ap.add_argument("--bptt", type=int, default=50, help="default 50")
    ap.add_argument("--batch-size", type=int, default=32, help="default 32")
    ap.add_argument("--lr", type=float, default=3e-3, help="default 3e-3")
    ap.add_argument("--steps-per-epoch", type=int, default=500, help="windows between validations (default 500)")
    ap.add_argument("--seed", type=int, default=0, help="default 0")
    ap.add_argument("--verbose", type=int, default=0, help="1: a progress bar per epoch (default 0)")
    args = ap.parse_args(argv)

    train, test = split_files(args.test_chars, args.seed)
    test_text = "".join(read_documents(test))
    gzip_bpc = 8 * len(gzip.compress(test_text.encode("utf-8"), 9)) / len(test_text)
    print(f"train: {len(train)} files; test: {len(test)} files never seen, {len(test_text):,} characters "
          f"({', '.join(sorted({os.path.relpath(p, _stdlib_root()).split('/')[0] for p in test})[:8])}, ...)")

    lm = CharLM(cell=args.cell, hidden_size=args.hidden_size, num_layers=args.num_layers, bptt=args.bptt,
                batch_size=args.batch_size, lr=args.lr, steps_per_epoch=args.steps_per_epoch, max_epochs=10_000,
                patience=6, validation_fraction=0.01, max_time=args.max_time,
                random_state=args.seed, verbose=args.verbose)
    print(lm)
    load0 = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    lm.fit(train)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    load1 = os.getloadavg()
    steps = sum(s is not None for s in lm.history_.steps)
    seen = steps * min(args.batch_size, lm.n_train_chars_ // args.bptt) * args.bptt
    h = lm.history_.history
    print(f"trained {secs:.0f} s (process CPU {cpu:.0f} s), {len(h['loss'])} epochs of {args.steps_per_epoch} windows, "
          f"{seen:,} characters ({seen / secs:,.0f}/s) of {lm.n_train_chars_:,}; best epoch {lm.best_epoch_}, "
          f"validation {lm.val_bpc_:.3f} bits/char; load average {load0[0]:.1f} before, {load1[0]:.1f} after")

    t0 = time.perf_counter()
    bpc = lm.score(test)
    print(f"\nheld-out files, {len(test_text):,} characters (scored in {time.perf_counter() - t0:.0f} s):")
    print(f"  CharLM   {bpc:.3f} bits/char   (perplexity {2 ** bpc:.2f} per character)")
    print(f"  gzip -9  {gzip_bpc:.3f} bits/char")
    print(f"  unigram  {unigram_bpc(test_text):.3f} bits/char")
    verdict = "below" if bpc < gzip_bpc else "NOT below"
    print(f"  {verdict} gzip by {abs(gzip_bpc - bpc):.3f} bits/char ({100 * (1 - bpc / gzip_bpc):+.1f}%)")
    print("\nsample (prime 'def ', temperature 0.7):")
    print(lm.generate("def ", 400, temperature=0.7, random_state=args.seed))


if __name__ == "__main__":
    main()
