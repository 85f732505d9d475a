"""A tour of the real data rnnkit reads, offline: each loader once, with the shapes it gives.

Usage::

    python examples/datasets_tour.py          # a few seconds (mnist1d adds ~6 s when installed)

The archive problems and packaged series need aeon or sktime installed (``pip install --no-deps
aeon``: their data files only); MNIST-1D needs ``pip install mnist1d``. What is missing is
skipped with the command that brings it.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

from rnnkit import datasets


def archives() -> None:
    if not datasets.list_archives():
        print("archives: none installed (pip install --no-deps aeon)")
        return
    print("archives:", ", ".join(datasets.list_archives()))
    train, test = datasets.load_uea("JapaneseVowels")
    X, lengths = train.padded()   # (N, T, C), (N,)
    print(f"  {train.summary()}; padded {X.shape}, test {len(test)}")
    print(f"  {datasets.load_ucr('GunPoint', 'train').summary()}")
    print(f"  {datasets.load_archive('Covid3Month', 'train').summary()}")


def series() -> None:
    names = datasets.list_series()
    if not names:
        print("series: none installed (pip install --no-deps aeon)")
        return
    for name in names:
        s = datasets.load_series(name)
        print(f"  {s.summary()}, seasonal period {s.seasonal_period}, values {s.values.shape}")


def mnist1d() -> None:
    try:
        (X, y), (Xt, yt) = datasets.load_mnist1d()
    except ModuleNotFoundError as err:
        print(f"mnist1d: {err}")
        return
    print(f"mnist1d: train {X.shape} {X.dtype}, test {Xt.shape}, labels {np.bincount(y).tolist()}")


def own_files() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "sales.csv")
        with open(csv, "w") as fh:
            fh.write("month,sales\n2023-01,10\n2023-02,12\n2023-03,\n2023-04,15\n")
        s = datasets.load_series(csv)
        print(f"own CSV series: {s.summary()}; issues: {list(s.issues)}")
        wide = os.path.join(tmp, "seqs.csv")
        with open(wide, "w") as fh:
            fh.write("label,v1,v2,v3\nup,1,2,3\ndown,3,2,\n")
        d = datasets.load_sequences(wide)
        print(f"own CSV sequences: {d.summary()}, lengths {d.lengths.tolist()}")
        frames = os.path.join(tmp, "frames.csv")
        with open(frames, "w") as fh:
            fh.write("id,x,tag\n1,0.5,a\n1,0.7,b\n2,0.1,a\n")
        tagged = datasets.load_tagged(frames)
        print(f"own CSV tagging: {tagged.summary()}, padded tags {tagged.padded_label_ids().tolist()}")


def generated_sources() -> None:
    tags = datasets.python_token_tags(20_000, seed=0)
    print(f"python_token_tags: {len(tags)} lines, tags {tags.tag_names}, "
          f"majority {tags.info['majority_accuracy']:.3f}, char-only {tags.info['char_accuracy']:.3f}")
    print(f"  {tags.sequences[1]!r}")
    print(f"  {''.join('_nkoNsc'[t] for t in tags.tags[1])}")
    pairs = datasets.date_pairs(5, seed=0)
    print("date_pairs:", pairs.pairs[:3])
    text = datasets.load_text(os.path.dirname(datasets.__file__), suffixes=".py")
    print(f"load_text: {len(text)} characters of rnnkit.datasets' own source")


if __name__ == "__main__":
    archives()
    print("series:")
    series()
    mnist1d()
    own_files()
    generated_sources()
