"""RNNClassifier: learns, keeps labels of any type, padded == unpadded, saves bitwise, and
works with scikit-learn's clone / GridSearchCV / Pipeline when scikit-learn is installed."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from helpers import die_after_checkpoint
from rnnkit.data import pad_sequences
from rnnkit.errors import NotFittedError
from rnnkit.estimators import RNNClassifier

FAST = dict(hidden_size=8, max_epochs=25, batch_size=16, ensemble_size=1, random_state=0)


def _waves(n=90, seed=0):
    """Three classes of noisy sines of different frequencies and levels, lengths 6..20, 2 channels."""
    g = np.random.default_rng(seed)
    X, y = [], []
    for i in range(n):
        k = i % 3
        T = int(g.integers(6, 21))
        t = np.arange(T)
        s = np.sin((0.3 + 0.6 * k) * t + g.uniform(0, 6))
        X.append(np.stack([s + k, 0.5 * s + 0.1 * g.normal(size=T)], axis=1) * 3 + 5)
        y.append(["low", "mid", "high"][k])
    return X, np.array(y)


@pytest.fixture(scope="module")
def fitted():
    X, y = _waves()
    return RNNClassifier(**FAST).fit(X, y), X, y


def test_learns_a_separable_task_well_above_chance(fitted):
    clf, _, _ = fitted
    Xt, yt = _waves(60, seed=1)
    assert clf.score(Xt, yt) > 0.85                    # chance is 1/3
    assert clf.classes_.tolist() == ["high", "low", "mid"]
    assert clf.n_features_in_ == 2 and clf.input_kind_ == "numeric"
    assert 1 <= clf.best_epoch_ <= 25 and len(clf.history_) >= clf.best_epoch_
    p = clf.predict_proba(Xt)
    assert p.shape == (60, 3) and p.dtype == np.float64
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(Xt), clf.classes_[p.argmax(axis=1)])
    z = clf.decision_function(Xt)
    np.testing.assert_array_equal(z.argmax(axis=1), p.argmax(axis=1))


def test_padded_and_unpadded_answers_are_equal(fitted):
    clf, X, _ = fitted
    ref = clf.predict_proba(X)
    padded, lengths = pad_sequences(X, batch_first=True, max_len=30)            # (N, 30, 2) zeros
    np.testing.assert_array_equal(clf.predict_proba(padded, lengths=lengths), ref)
    garbage = padded.copy()
    garbage[np.arange(30)[None, :] >= lengths[:, None]] = 1e9                   # whatever is beyond lengths
    np.testing.assert_array_equal(clf.predict_proba(garbage, lengths=lengths), ref)
    nan_padded, _ = pad_sequences(X, batch_first=True, padding_value=np.nan)     # lengths from the NaN tail
    np.testing.assert_array_equal(clf.predict_proba(nan_padded), ref)
    one = clf.predict_proba([X[3]])
    np.testing.assert_allclose(one, ref[3:4], rtol=1e-5, atol=1e-7)              # another batch: float rounding only


def test_forgetting_lengths_with_zero_padding_is_an_error(fitted):
    clf, X, _ = fitted
    padded, lengths = pad_sequences(X, batch_first=True)
    short = int(np.flatnonzero(lengths < lengths.max())[0])
    k = int(lengths.max() - lengths[short])
    with pytest.raises(ValueError, match=rf"X\[{short}\] ends with {k} step\(s\) that are 0 in every channel"):
        clf.predict(padded)
    with pytest.raises(ValueError, match="ends with"):
        RNNClassifier(**FAST).fit(padded, np.arange(len(X)) % 3)
    full = np.stack([x[:6] for x in X])                                          # equal lengths, no zeros
    assert clf.predict(full).shape == (len(X),)


def test_standardisation_is_fitted_on_the_training_part_only():
    X, y = _waves(40)
    clf = RNNClassifier(**{**FAST, "max_epochs": 2}, validation_fraction=0.0).fit(X, y)
    real = np.concatenate(X)                                                     # every real step, no padding
    np.testing.assert_allclose(clf.scaler_.mean, real.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(clf.scaler_.scale, real.std(axis=0), rtol=1e-12)
    clf = RNNClassifier(**{**FAST, "max_epochs": 2}, validation_fraction=0.25).fit(X, y)
    assert not np.allclose(clf.scaler_.mean, real.mean(axis=0), rtol=1e-9)    # the validation part left out


def test_labels_of_any_hashable_type():
    X, y = _waves(45)
    k = np.searchsorted(["high", "low", "mid"], y)
    for labels, classes in [
        ([int(v) * 10 for v in k], [0, 10, 20]),
        ([(int(v), "x") for v in k], [(0, "x"), (1, "x"), (2, "x")]),
        ([bool(v) for v in k > 0], [False, True]),
    ]:
        clf = RNNClassifier(**{**FAST, "max_epochs": 2}).fit(X, labels)
        assert clf.classes_.tolist() == classes
        pred = clf.predict(X[:4])
        assert all(type(p) is type(classes[0]) or isinstance(p, np.generic) for p in pred.tolist())
        assert set(pred.tolist()) <= set(classes)


def test_bad_input_is_a_clear_error(fitted):
    clf, X, y = fitted
    with pytest.raises(ValueError, match="single class"):
        RNNClassifier(**FAST).fit(X, ["a"] * len(X))
    with pytest.raises(ValueError, match="never seen in fit: 'other'"):
        clf.score(X[:3], ["low", "other", "mid"])
    with pytest.raises(ValueError, match="never seen in fit"):
        clf.confusion_matrix(X[:2], ["zzz", "low"])
    with pytest.raises(ValueError, match="one label per sequence"):
        RNNClassifier(**FAST).fit(X, y[:-1])
    bad = [x.copy() for x in X[:3]]
    bad[1][4, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf at \(example 1, step 4, channel 1\)"):
        clf.predict(bad)
    with pytest.raises(ValueError, match="X has 3 channels per step, but RNNClassifier was fitted with 2"):
        clf.predict([np.zeros((4, 3)) + 1])
    with pytest.raises(NotFittedError, match="not fitted yet"):
        RNNClassifier().predict(X)
    with pytest.raises(ValueError, match="hidden_size must be >= 1"):
        RNNClassifier(hidden_size=0).fit(X, y)
    with pytest.raises(ValueError, match="pooling|output must be"):
        RNNClassifier(**FAST, pooling="median").fit(X, y)


def test_save_load_predicts_bitwise(tmp_path, fitted):
    clf, X, _ = fitted
    path = tmp_path / "clf.npz"
    clf.save(path)
    back = rnnkit.load(path)
    assert type(back) is RNNClassifier and back.get_params() == clf.get_params()
    np.testing.assert_array_equal(back.classes_, clf.classes_)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.history_.history["val_loss"] == clf.history_.history["val_loss"]
    Xt, yt = _waves(20, seed=2)
    np.testing.assert_array_equal(back.confusion_matrix(Xt, yt), clf.confusion_matrix(Xt, yt))


def test_tuple_labels_and_tokens_survive_saving(tmp_path):
    words = ["aab", "abab", "bba", "bbb", "aaa", "abb"] * 8
    labels = [(w.count("a") > w.count("b"), "maj") for w in words]
    clf = RNNClassifier(**{**FAST, "max_epochs": 3}).fit(words, labels)
    assert clf.input_kind_ == "tokens" and clf.vocab_.tokens == ["a", "b"]
    assert np.all(clf.model_.embedding.weight.data[0] == 0)                      # id 0: unknown / padding
    clf.save(tmp_path / "t.npz")
    back = RNNClassifier.load(tmp_path / "t.npz")
    assert back.classes_.tolist() == [(False, "maj"), (True, "maj")]
    test = ["abz", "ba", "zzzz"]                                                  # 'z' was never seen
    np.testing.assert_array_equal(back.predict_proba(test), clf.predict_proba(test))
    assert back.predict(test).tolist() == clf.predict(test).tolist()


def test_token_lists_and_univariate_arrays():
    g = np.random.default_rng(0)
    docs = [["good", "film"], ["bad"], ["good"], ["bad", "bad", "plot"]] * 10
    y = ["pos", "neg", "pos", "neg"] * 10
    clf = RNNClassifier(**FAST).fit(docs, y)
    assert clf.score(docs, y) == 1.0
    assert clf.predict([["good", "unseen-word"]]).tolist() == ["pos"]
    X = g.normal(size=(60, 12)) + np.repeat([[0.0], [1.5]], 30, axis=0)           # (N, T): one channel
    yy = np.repeat([0, 1], 30)
    clf = RNNClassifier(**FAST).fit(X, yy)
    assert clf.n_features_in_ == 1 and clf.score(X, yy) > 0.9


def test_random_state_repeats_bit_for_bit_and_refit():
    X, y = _waves(30)
    a = RNNClassifier(**{**FAST, "max_epochs": 3}).fit(X, y)
    b = RNNClassifier(**{**FAST, "max_epochs": 3}).fit(X, y)
    for (n, p), (_, q) in zip(a.model_.named_parameters(), b.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    r = RNNClassifier(**{**FAST, "max_epochs": 4}, refit=True).fit(X, y)
    assert len(r.history_) == r.best_epoch_ and len(r.validation_history_) >= r.best_epoch_
    assert "val_loss" not in r.history_.history


def test_confusion_matrix_against_scikit_learn(fitted):
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is not installed")
    clf, _, _ = fitted
    Xt, yt = _waves(45, seed=3)
    expected = metrics.confusion_matrix(yt, clf.predict(Xt), labels=clf.classes_)
    np.testing.assert_array_equal(clf.confusion_matrix(Xt, yt), expected)
    assert clf.score(Xt, yt) == metrics.accuracy_score(yt, clf.predict(Xt))


def test_scikit_learn_clone_grid_search_and_pipeline():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y = _waves(36)
    est = RNNClassifier(**{**FAST, "max_epochs": 2})
    c = clone(est)
    assert c is not est and c.get_params() == est.get_params() and is_classifier(est)
    grid = GridSearchCV(est, {"hidden_size": [4, 6]}, cv=2).fit(X, y)
    assert grid.best_params_["hidden_size"] in (4, 6)
    assert grid.predict(X[:3]).shape == (3,)
    Xa = np.stack([x[:6] for x in X])                                            # (N, 6, 2)
    pipe = make_pipeline(FunctionTransformer(lambda a: a * 2.0), RNNClassifier(**{**FAST, "max_epochs": 2}))
    pipe.fit(Xa, y)
    assert pipe.predict(Xa).shape == (36,) and 0.0 <= pipe.score(Xa, y) <= 1.0


def test_params_repr():
    est = RNNClassifier(hidden_size=16)
    assert repr(est) == "RNNClassifier(hidden_size=16)"
    assert est.set_params(cell="lstm") is est and est.get_params()["cell"] == "lstm"


def test_ensemble_averages_the_members_probabilities(tmp_path):
    from rnnkit.models import Ensemble

    X, y = _waves(45)
    clf = RNNClassifier(**{**FAST, "max_epochs": 3, "ensemble_size": 3}, validation_fraction=0.2).fit(X, y)
    assert isinstance(clf.model_, Ensemble) and len(clf.model_) == 3
    assert len(clf.histories_) == 3 and len(clf.best_epochs_) == 3 and clf.history_ is clf.histories_[0]
    data, lens = clf._inputs(X, None)
    probs = []
    for member in clf.model_.children():
        z = member.eval()(data, lengths=lens)[0].astype(np.float64)
        probs.append(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), np.mean(probs, axis=0), rtol=1e-5, atol=1e-7)
    real = np.concatenate(X)                       # with these seeds every example is in some member's training part
    np.testing.assert_allclose(clf.scaler_.mean, real.mean(axis=0), rtol=1e-12)
    clf.save(tmp_path / "ens.npz")
    back = rnnkit.load(tmp_path / "ens.npz")
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.best_epochs_ == clf.best_epochs_


def test_a_checkpointed_fit_resumes_exactly(tmp_path, monkeypatch):
    """A run cut after 2 epochs and continued from its checkpoint ends where the uninterrupted
    run does (same losses, same weights, bit for bit); validation_indices_ names the held-out part."""
    X, y = _waves(60)
    params = {**FAST, "max_epochs": 5, "patience": 50}           # the default cosine schedule, by step
    ckpt = tmp_path / "ckpt.npz"
    full = RNNClassifier(**params).fit(X, y)
    with monkeypatch.context() as m:
        die_after_checkpoint(m, epoch=2)
        with pytest.raises(RuntimeError, match="killed"):
            RNNClassifier(**params).fit(X, y, checkpoint=ckpt)
    resumed = RNNClassifier(**params).fit(X, y, checkpoint=ckpt, resume=True)
    assert resumed.history_.history["val_loss"] == full.history_.history["val_loss"]
    assert len(resumed.history_.epochs) == 5
    for (n, p), (_, q) in zip(resumed.model_.named_parameters(), full.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    assert full.validation_indices_.size == 6 and len(set(full.validation_indices_.tolist())) == 6
    with pytest.raises(ValueError, match="ensemble_size=1 and refit=False"):
        RNNClassifier(**{**params, "ensemble_size": 2}).fit(X, y, checkpoint=ckpt)
    with pytest.raises(ValueError, match="resume=True needs checkpoint"):
        RNNClassifier(**params).fit(X, y, resume=True)
