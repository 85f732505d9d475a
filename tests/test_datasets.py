"""rnnkit.datasets: shapes, dtypes, determinism, and labels recomputed independently.

Each label check decodes the generated inputs and recomputes the target with a plain Python
loop over one sequence at a time (not the vectorized code that produced it).
"""

from __future__ import annotations

import functools
import math
import os
import sysconfig

import numpy as np
import pytest

from rnnkit import datasets as D
from rnnkit.data import CharVocab
from rnnkit.datasets import IGNORE_INDEX, SENTIMENT_WORDS

SMALL = {
    "sine_wave": {"n_steps": 120, "window": 10},
    "adding_problem": {"T": 12, "n": 40},
    "copy_task": {"n": 30, "seq_len": 4, "delay": 3},
    "delayed_recall": {"n": 30, "T": 12, "delay": 3},
    "parity": {"n": 40, "T": 9, "min_length": 3},
    "counting": {"n": 40, "T": 9},
    "sequence_labelling": {"n": 30, "T": 10, "kind": "depth", "min_length": 4},
    "reverse_sequence": {"n": 30, "min_len": 2, "max_len": 6},
    "sort_digits": {"n": 30, "min_len": 2, "max_len": 6},
    "sentiment_like": {"n": 30, "min_len": 3, "max_len": 8},
    "stdlib_text": {"n_chars": 3000},
}
TASKS = sorted(SMALL)
ARRAY_TASKS = [t for t in TASKS if t != "stdlib_text"]


def _arrays(ds):
    if isinstance(ds, D.TextCorpus):
        return {"ids": ds.ids}
    names = ("X", "y", "lengths", "y_lengths", "y_input")
    return {k: getattr(ds, k) for k in names if getattr(ds, k) is not None}


def test_registry_lists_every_task():
    assert D.available() == TASKS
    with pytest.raises(ValueError, match="name must be one of"):
        D.get("no_such_task")
    with pytest.raises(TypeError, match="adding_problem"):
        D.get("adding_problem", length=5)
    with pytest.raises(TypeError, match="name"):
        D.get(3)


@pytest.mark.parametrize("name", TASKS)
def test_deterministic_for_a_seed(name):
    a = D.get(name, seed=3, **SMALL[name])
    b = D.get(name, seed=3, **SMALL[name])
    c = D.get(name, rng=np.random.default_rng(3), **SMALL[name])
    other = D.get(name, seed=4, **SMALL[name])
    for k, v in _arrays(a).items():
        np.testing.assert_array_equal(v, _arrays(b)[k], err_msg=f"{name}.{k} same seed")
        np.testing.assert_array_equal(v, _arrays(c)[k], err_msg=f"{name}.{k} rng=Generator(seed)")
    assert any(not np.array_equal(v, _arrays(other)[k]) for k, v in _arrays(a).items()), name
    assert a.mapping in D.MAPPINGS and name.split("_")[0] in a.description
    with pytest.raises(ValueError, match="seed or rng"):
        D.get(name, seed=1, rng=np.random.default_rng(1), **SMALL[name])


@pytest.mark.parametrize("name", ARRAY_TASKS)
def test_batch_first_is_the_transpose(name):
    tm = D.get(name, seed=0, **SMALL[name])
    bf = D.get(name, seed=0, batch_first=True, **SMALL[name])
    assert not tm.batch_first and bf.batch_first
    np.testing.assert_array_equal(bf.X, np.swapaxes(tm.X, 0, 1))
    if tm.y_has_time:
        np.testing.assert_array_equal(bf.y, np.swapaxes(tm.y, 0, 1))
    else:
        np.testing.assert_array_equal(bf.y, tm.y)
    assert len(tm) == len(bf) == tm.X.shape[1]


@pytest.mark.parametrize("name", ["sine_wave", "adding_problem", "parity", "counting", "sequence_labelling"])
def test_float_dtypes(name):
    for dt in (np.float32, np.float64):
        assert D.get(name, seed=0, dtype=dt, **SMALL[name]).X.dtype == dt
    with pytest.raises(ValueError, match="dtype"):
        D.get(name, seed=0, dtype=np.int32, **SMALL[name])


@pytest.mark.parametrize("name", ARRAY_TASKS)
def test_split_keeps_every_array_aligned(name):
    ds = D.get(name, seed=0, **SMALL[name])
    tr, te = ds.split(0.7)
    assert len(tr) + len(te) == len(ds) and len(tr) == round(0.7 * len(ds))
    np.testing.assert_array_equal(np.concatenate([tr.X, te.X], axis=1), ds.X)
    yax = 1 if ds.y_has_time else 0
    np.testing.assert_array_equal(np.concatenate([tr.y, te.y], axis=yax), ds.y)
    for k in ("lengths", "y_lengths"):
        if getattr(ds, k) is not None:
            np.testing.assert_array_equal(getattr(te, k), getattr(ds, k)[len(tr) :])
    if ds.y_input is not None:
        np.testing.assert_array_equal(te.y_input, ds.y_input[:, len(tr) :])
    sub = ds.subset(np.array([2, 0]))
    np.testing.assert_array_equal(sub.X, ds.X[:, [2, 0]])
    with pytest.raises(ValueError, match="train_fraction"):
        ds.split(1.5)


# ----------------------------------------------------------------------------- label checks


def test_sine_wave_series_windows_and_baselines():
    ds = D.sine_wave(n_steps=3000, window=20, horizon=1, n_features=2, n_components=3, noise=0.2, seed=1,
                     dtype=np.float64)
    info = ds.info
    t = np.arange(3000)
    for f in range(2):
        clean = sum(
            info["amplitudes"][f, k] * np.sin(2 * np.pi * info["frequencies"][f, k] * t + info["phases"][f, k])
            for k in range(3)
        )
        np.testing.assert_allclose(info["clean"][:, f], clean, atol=1e-12, err_msg=f"clean feature {f}")
    noise = info["series"] - info["clean"]
    assert abs(noise.std() / 0.2 - 1) < 0.05, "noise std"
    assert np.all(np.abs(info["clean"]) <= 1 + 1e-12)
    N = 3000 - 20
    assert ds.X.shape == (20, N, 2) and ds.y.shape == (N, 2)
    for i in (0, 17, N - 1):
        np.testing.assert_array_equal(ds.X[:, i], info["series"][i : i + 20])
        np.testing.assert_array_equal(ds.y[i], info["series"][i + 20])
    persistence = np.mean((info["series"][20:] - info["series"][19:-1]) ** 2)
    assert info["persistence_mse"] == pytest.approx(persistence, rel=1e-12)
    # a model that knows the clean signal pays only the noise
    assert np.mean((info["clean"][20:] - info["series"][20:]) ** 2) == pytest.approx(info["noise_floor_mse"], rel=0.1)
    multi = D.sine_wave(n_steps=60, window=8, horizon=3, seed=0)
    assert multi.X.shape == (8, 50, 1) and multi.y.shape == (3, 50, 1) and multi.y_has_time
    np.testing.assert_array_equal(multi.y[:, 5, 0], multi.info["series"][13:16, 0])


def test_adding_problem_labels():
    ds = D.adding_problem(T=15, n=200, seed=0, dtype=np.float64)
    assert ds.X.shape == (15, 200, 2) and ds.y.shape == (200, 1)
    for b in range(200):
        marks = [t for t in range(15) if ds.X[t, b, 1] == 1.0]
        assert len(marks) == 2 and marks[0] < 7 <= marks[1], f"sequence {b} markers {marks}"
        assert set(np.unique(ds.X[:, b, 1])) == {0.0, 1.0}
        assert ds.y[b, 0] == pytest.approx(ds.X[marks[0], b, 0] + ds.X[marks[1], b, 0], abs=1e-15)
    assert np.all((ds.X[..., 0] >= 0) & (ds.X[..., 0] < 1))
    big = D.adding_problem(T=10, n=20000, seed=1)
    assert big.info["baseline_mse"] == pytest.approx(1 / 6, abs=0.01)


def test_copy_task_labels():
    L, delay, S = 5, 4, 6
    ds = D.copy_task(n=50, seq_len=L, delay=delay, n_symbols=S, seed=2)
    T = 2 * L + delay + 1
    assert ds.X.shape == ds.y.shape == (T, 50) and ds.X.dtype == ds.y.dtype == np.int64
    for b in range(50):
        x, y = ds.X[:, b].tolist(), ds.y[:, b].tolist()
        d = x.index(S + 1)
        assert d == L + delay and x.count(S + 1) == 1
        payload = x[:L]
        assert all(1 <= s <= S for s in payload) and all(v == 0 for v in x[L:d] + x[d + 1 :])
        assert y == [0] * (d + 1) + payload
    assert ds.info["baseline_ce"] == pytest.approx(L * math.log(S) / T)
    assert ds.info["n_classes"] == S + 1 and ds.info["vocab_size"] == S + 2


def test_delayed_recall_labels():
    ds = D.delayed_recall(n=20, T=10, delay=3, n_symbols=5, seed=0)
    for b in range(20):
        for t in range(10):
            expect = ds.X[t - 3, b] if t >= 3 else IGNORE_INDEX
            assert ds.y[t, b] == expect, (b, t)
    assert ds.X.min() >= 0 and ds.X.max() < 5


def test_parity_and_counting_labels():
    ds = D.parity(n=300, T=11, min_length=2, seed=5)
    assert ds.X.shape == (11, 300, 1) and ds.y.dtype == np.int64
    assert ds.lengths.min() >= 2 and ds.lengths.max() <= 11
    assert len(set(ds.lengths.tolist())) > 5
    for b in range(300):
        L = int(ds.lengths[b])
        bits = [int(v) for v in ds.X[:L, b, 0]]
        assert ds.y[b] == functools.reduce(lambda a, c: a ^ c, bits, 0), f"sequence {b}"
        assert np.all(ds.X[L:, b] == 0)
    assert 0.4 < ds.y.mean() < 0.6
    fixed = D.parity(n=10, T=6, seed=0)
    assert fixed.lengths is None
    cnt = D.counting(n=300, T=8, p=0.3, seed=0)
    for b in range(300):
        assert cnt.y[b] == sum(int(v) for v in cnt.X[:, b, 0])
    assert cnt.info["n_classes"] == 9
    assert cnt.info["majority_accuracy"] == max(list(cnt.y).count(c) for c in range(9)) / 300


def test_sequence_labelling_running_parity():
    ds = D.sequence_labelling(n=40, T=12, kind="parity", seed=0)
    assert ds.y.shape == (12, 40) and ds.y_has_time and ds.info["n_classes"] == 2
    for b in range(40):
        acc = 0
        for t in range(12):
            acc ^= int(ds.X[t, b, 0])
            assert ds.y[t, b] == acc


def test_sequence_labelling_bracket_depth_with_padding():
    ds = D.sequence_labelling(n=60, T=20, kind="depth", max_depth=3, min_length=5, seed=1)
    assert ds.X.shape == (20, 60, 2) and ds.info["n_classes"] == 4
    depths_seen = set()
    for b in range(60):
        L = int(ds.lengths[b])
        depth = 0
        for t in range(20):
            if t >= L:
                assert ds.y[t, b] == IGNORE_INDEX and np.all(ds.X[t, b] == 0)
                continue
            opened, closed = ds.X[t, b]
            assert opened + closed == 1
            depth += 1 if opened else -1
            assert 0 <= depth <= 3
            assert ds.y[t, b] == depth
            depths_seen.add(depth)
    assert depths_seen == {0, 1, 2, 3}


@pytest.mark.parametrize("name", ["reverse_sequence", "sort_digits"])
def test_seq2seq_labels(name):
    ds = D.get(name, n=80, min_len=2, max_len=7, seed=0)
    PAD, SOS, EOS, OFF = 0, 1, 2, 3
    assert ds.X.shape == (7, 80) and ds.y.shape == ds.y_input.shape == (8, 80)
    np.testing.assert_array_equal(ds.y_lengths, ds.lengths + 1)
    for b in range(80):
        L = int(ds.lengths[b])
        src = ds.X[:L, b].tolist()
        assert all(OFF <= s < OFF + 10 for s in src) and all(v == PAD for v in ds.X[L:, b])
        out = src[::-1] if name == "reverse_sequence" else sorted(src)
        assert ds.y[:, b].tolist() == out + [EOS] + [IGNORE_INDEX] * (7 - L)
        assert ds.y_input[:, b].tolist() == [SOS] + out + [PAD] * (7 - L)
    assert ds.info["vocab_size"] == 13


def _sentiment_score(words):
    pos = {"good", "great", "fine", "happy", "love", "nice", "best", "fun"}
    neg = {"bad", "awful", "poor", "sad", "hate", "worst", "boring", "dull"}
    score = 0
    for i, w in enumerate(words):
        s = 1 if w in pos else -1 if w in neg else 0
        if i > 0 and words[i - 1] == "not":
            s = -s
        score += s
    return score


def test_sentiment_like_labels():
    ds = D.sentiment_like(n=200, min_len=4, max_len=12, seed=0)
    assert ds.X.shape == (12, 200) and ds.y.shape == (200,)
    n_negated = 0
    for b in range(200):
        L = int(ds.lengths[b])
        words = [SENTIMENT_WORDS[i] for i in ds.X[:L, b]]
        assert "<pad>" not in words and all(i == 0 for i in ds.X[L:, b])
        score = _sentiment_score(words)
        assert score != 0 and ds.y[b] == int(score > 0), f"sentence {b}: {' '.join(words)}"
        n_negated += any(w == "not" for w in words[:-1])
    assert n_negated > 50, "negation is common"
    assert 0.3 < ds.y.mean() < 0.7
    assert 0.5 < ds.info["negation_blind_accuracy"] < 0.95


# ----------------------------------------------------------------------------- stdlib text


def test_stdlib_text_is_the_seeded_files_in_order():
    c = D.stdlib_text(20000, seed=11)
    assert len(c.text) == 20000 and c.ids.shape == (20000,) and c.mapping == "generation"
    root = sysconfig.get_paths()["stdlib"]
    expected = ""
    for f in c.info["files"]:
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            raw = fh.read()
        expected += "".join(ch if ord(ch) < 128 else "?" for ch in raw)
    assert expected.startswith(c.text)
    assert c.text.isascii()
    assert c.vocab == CharVocab.fit(c.text) and c.vocab.decode(c.ids) == c.text
    files = D.stdlib_files()
    assert files == sorted(files) and all(f.endswith(".py") for f in files)
    assert not any(p in ("test", "tests", "site-packages") for f in files for p in f.split("/")[:-1])
    assert set(c.info["files"]) <= set(files)
    p = np.bincount(c.ids) / c.ids.size
    p = p[p > 0]
    assert c.info["unigram_bpc"] == pytest.approx(-(p * np.log2(p)).sum())
    assert D.stdlib_text(5000, seed=12).text != D.stdlib_text(5000, seed=11).text[:5000]


def test_stdlib_text_modules_and_errors():
    c = D.stdlib_text(3000, seed=0, modules=["json"])
    assert all(f.startswith("json/") for f in c.info["files"])
    assert D.stdlib_files("json.decoder") == ["json/decoder.py"]
    with pytest.raises(ValueError, match="modules"):
        D.stdlib_text(100, seed=0, modules=["no_such_module_xyz"])
    with pytest.raises(ValueError, match="n_chars"):
        D.stdlib_text(10**8, seed=0, modules=["json"])
    with pytest.raises(ValueError, match="n_chars"):
        D.stdlib_text(0, seed=0)
    with pytest.raises(TypeError, match="seed"):
        D.stdlib_text(10, seed="zero")


# ----------------------------------------------------------------------------- argument errors


@pytest.mark.parametrize(
    "name,kwargs,exc,word",
    [
        ("sine_wave", {"n_steps": 10, "window": 10}, ValueError, "n_steps"),
        ("sine_wave", {"noise": -1.0}, ValueError, "noise"),
        ("sine_wave", {"window": 2.0}, TypeError, "window"),
        ("adding_problem", {"T": 1}, ValueError, "T"),
        ("adding_problem", {"n": 0}, ValueError, "n"),
        ("copy_task", {"n_symbols": 1}, ValueError, "n_symbols"),
        ("copy_task", {"delay": -1}, ValueError, "delay"),
        ("delayed_recall", {"T": 5, "delay": 5}, ValueError, "delay"),
        ("parity", {"T": 5, "min_length": 6}, ValueError, "min_length"),
        ("counting", {"p": 1.5}, ValueError, "p"),
        ("sequence_labelling", {"kind": "xor"}, ValueError, "kind"),
        ("sequence_labelling", {"max_depth": 0}, ValueError, "max_depth"),
        ("reverse_sequence", {"min_len": 5, "max_len": 3}, ValueError, "min_len"),
        ("sort_digits", {"n_symbols": True}, TypeError, "n_symbols"),
        ("sentiment_like", {"p_polar": 0.0}, ValueError, "p_polar"),
        ("sentiment_like", {"batch_first": "yes"}, TypeError, "batch_first"),
    ],
)
def test_bad_arguments(name, kwargs, exc, word):
    with pytest.raises(exc, match=word):
        D.get(name, seed=0, **kwargs)
