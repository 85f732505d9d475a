"""Small user files for the command-line tests (a series CSV, labelled sequences, tags, text,
pairs), and the helpers that run the CLI in-process and as a real subprocess.

The files are written here by hand-rolled code (csv, plain text), not by rnnkit, so that the
loaders read what a user's own tools would write.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import rnnkit.estimators
from rnnkit.cli import main

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
TINY = ["--hidden-size", "4", "--max-epochs", "2", "--batch-size", "8", "--no-progress"]


def needs(*estimators):
    """Mark a test by the estimators it trains; every one must exist (a missing one is an error, never a skip)."""
    missing = [e for e in estimators if not hasattr(rnnkit.estimators, e)]
    if missing:
        raise AssertionError(f"rnnkit.estimators has no {', '.join(missing)}")
    return pytest.mark.estimators(*estimators)


def run(*argv) -> tuple[int, str, str]:
    """``rnnkit.cli.main(argv)`` with stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def run_json(*argv) -> dict:
    code, out, err = run(*argv)
    assert code == 0, err
    return json.loads(out)


def subprocess_cli(*argv, env=None, **kw) -> subprocess.CompletedProcess:
    """``python -m rnnkit.cli argv`` in a fresh interpreter (this tree's sources first)."""
    e = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), **(env or {}))
    return subprocess.run([sys.executable, "-m", "rnnkit.cli", *map(str, argv)], capture_output=True, text=True,
                          env=e, timeout=300, **kw)


def series_values(T: int = 72) -> np.ndarray:
    """A monthly series: level 100, trend 0.5 per month, a yearly season of amplitude 10."""
    t = np.arange(T)
    return 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(0).normal(0, 1, T).round(3)


def write_series(path, T: int = 72) -> np.ndarray:
    y = series_values(T)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["month", "sales"])
        for i, v in enumerate(y):
            w.writerow([f"{2010 + i // 12}-{i % 12 + 1:02d}", f"{v:.3f}"])
    return np.round(y, 3)


def write_wide_classes(path, n: int = 40) -> tuple[list, list]:
    """Wide CSV: a label column, then the values (rows of different lengths, padded with empty cells)."""
    g = np.random.default_rng(1)
    X, y = [], []
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", *(f"v{k}" for k in range(12))])
        for i in range(n):
            label = "up" if i % 2 else "down"
            x = np.cumsum(g.normal(0.5 if label == "up" else -0.5, 1.0, int(g.integers(6, 13)))).round(3)
            w.writerow([label, *x, *([""] * (12 - x.size))])
            X.append(x)
            y.append(label)
    return X, y


def write_long_regression(path, n: int = 40) -> tuple[list, np.ndarray]:
    """Long CSV: id, x, target (the mean of the sequence), one row per step."""
    g = np.random.default_rng(2)
    X, t = [], []
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "x", "target"])
        for i in range(n):
            x = g.normal(size=int(g.integers(4, 9))).round(3)
            for v in x:
                w.writerow([i, v, round(float(x.mean()), 4)])
            X.append(x)
            t.append(round(float(x.mean()), 4))
    return X, np.array(t)


def write_tagged(path, n: int = 30) -> tuple[list, list]:
    """Long CSV: id, x, tag ('pos' where x > 0, else 'neg')."""
    g = np.random.default_rng(3)
    X, tags = [], []
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "x", "tag"])
        for i in range(n):
            x = g.normal(size=int(g.integers(4, 10))).round(3)
            for v in x:
                w.writerow([i, v, "pos" if v > 0 else "neg"])
            X.append(x)
            tags.append(["pos" if v > 0 else "neg" for v in x])
    return X, tags


def write_texts(folder) -> str:
    os.makedirs(folder, exist_ok=True)
    texts = [("the cat sat on the mat. " * 12) + "\n", ("a dog ran to the cat. " * 12) + "\n"]
    for k, text in enumerate(texts):
        with open(os.path.join(folder, f"doc{k}.txt"), "w") as f:
            f.write(text)
    return "".join(texts)


def write_pairs(path, n: int = 60) -> list[tuple[str, str]]:
    """CSV source,target: a date written '3 March 2001' and its ISO form."""
    g = np.random.default_rng(4)
    pairs = []
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["source", "target"])
        for _ in range(n):
            d = datetime.date(2000, 1, 1) + datetime.timedelta(days=int(g.integers(0, 900)))
            pairs.append((f"{d.day} {d.strftime('%B')} {d.year}", d.isoformat()))
            w.writerow(pairs[-1])
    return pairs


def test_the_files_read_back_through_the_loaders(tmp_path):
    from rnnkit import datasets

    y = write_series(tmp_path / "s.csv")
    ts = datasets.load_series(tmp_path / "s.csv")
    np.testing.assert_allclose(ts.values, y)
    assert ts.freq == "monthly" and ts.seasonal_period == 12
    X, labels = write_wide_classes(tmp_path / "c.csv")
    d = datasets.load_sequences(tmp_path / "c.csv")
    assert d.y.tolist() == labels and [x.shape[0] for x in d.X] == [x.size for x in X]
    write_tagged(tmp_path / "t.csv")
    assert datasets.load_tagged(tmp_path / "t.csv").class_labels == ("neg", "pos")
    assert len(datasets.load_pairs(tmp_path / "p.csv" if write_pairs(tmp_path / "p.csv") else None)) == 60
