"""RNNTagger: learns per-step labels, padded steps never count, predictions of the right
lengths, padded == unpadded, saves bitwise."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit.data import pad_sequences
from rnnkit.estimators import RNNTagger

FAST = dict(hidden_size=8, input_layers=(8,), head_layers=(8,), max_epochs=30, batch_size=16, ensemble_size=1,
            random_state=0)


def _sign_of_running_sum(n=80, seed=0):
    """Label each step by the sign of the sum of the inputs so far: needs memory, not just x_t."""
    g = np.random.default_rng(seed)
    X, y = [], []
    for _ in range(n):
        x = g.normal(size=(int(g.integers(4, 15)), 1))
        X.append(x)
        y.append(np.where(np.cumsum(x[:, 0]) > 0, "pos", "neg"))
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _sign_of_running_sum()
    return RNNTagger(**FAST).fit(X, y), X, y


def test_learns_per_step_labels(fitted):
    tagger, _, _ = fitted
    Xt, yt = _sign_of_running_sum(40, seed=1)
    assert tagger.classes_.tolist() == ["neg", "pos"]
    assert tagger.score(Xt, yt) > 0.85
    pred = tagger.predict(Xt)
    assert [len(p) for p in pred] == [len(x) for x in Xt]
    assert all(set(p.tolist()) <= {"neg", "pos"} for p in pred)
    proba = tagger.predict_proba(Xt)
    assert [p.shape for p in proba] == [(len(x), 2) for x in Xt]
    true = np.concatenate(yt)
    hits = np.concatenate([tagger.classes_[p.argmax(axis=1)] for p in proba]) == true
    assert tagger.score(Xt, yt) == pytest.approx(hits.mean(), rel=1e-15)


def test_padded_steps_never_count_in_training():
    """The same fit from lists and from padded arrays holding garbage (and other labels) beyond
    the lengths: identical weights, bit for bit."""
    X, y = _sign_of_running_sum(40)
    kw = {**FAST, "max_epochs": 3}
    a = RNNTagger(**kw).fit(X, y)
    padded, lengths = pad_sequences(X, batch_first=True, max_len=20)
    padded[np.arange(20)[None, :] >= lengths[:, None]] = 123.0
    b = RNNTagger(**kw).fit(padded, y, lengths=lengths)
    for (n, p), (_, q) in zip(a.model_.named_parameters(), b.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    assert a.history_.history["loss"] == b.history_.history["loss"]
    np.testing.assert_array_equal(np.concatenate(a.predict(X)), np.concatenate(b.predict(padded, lengths=lengths)))


def test_tokens_strings_and_labels_of_any_type(tmp_path):
    words = ["hello", "world", "abc", "rnn", "kit"] * 8
    tags = [[ch in "aeiou" for ch in w] for w in words]                          # bool labels per character
    tagger = RNNTagger(**{**FAST, "max_epochs": 40}).fit(words, tags)
    assert tagger.input_kind_ == "tokens" and tagger.classes_.tolist() == [False, True]
    assert tagger.score(words, tags) > 0.95
    out = tagger.predict(["hoe", "qxz"])                                         # q, x, z unseen
    assert [len(o) for o in out] == [3, 3] and out[0].dtype == bool
    tagger.save(tmp_path / "tag.npz")
    back = rnnkit.load(tmp_path / "tag.npz")
    for p, q in zip(back.predict_proba(words[:6]), tagger.predict_proba(words[:6])):
        np.testing.assert_array_equal(p, q)


def test_save_load_bitwise(tmp_path, fitted):
    tagger, X, _ = fitted
    tagger.save(tmp_path / "t.npz")
    back = RNNTagger.load(tmp_path / "t.npz")
    for p, q in zip(back.predict_proba(X), tagger.predict_proba(X)):
        np.testing.assert_array_equal(p, q)
    nan_padded, _ = pad_sequences(X, batch_first=True, padding_value=np.nan)
    for p, q in zip(back.predict(nan_padded), tagger.predict(X)):
        np.testing.assert_array_equal(p, q)


def test_bad_labels_are_clear_errors(fitted):
    tagger, X, y = fitted
    short = [lab[:-1] if n == 2 else lab for n, lab in enumerate(y)]
    with pytest.raises(ValueError, match=r"y\[2\] has \d+ labels but X\[2\] has \d+ steps"):
        RNNTagger(**FAST).fit(X, short)
    with pytest.raises(ValueError, match="one label sequence per sequence"):
        RNNTagger(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="single label"):
        RNNTagger(**FAST).fit(X, [["a"] * len(x) for x in X])
    with pytest.raises(ValueError, match="never seen in fit: 'zero'"):
        tagger.score(X[:1], [["zero"] * len(X[0])])
