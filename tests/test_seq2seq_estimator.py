"""RNNSeq2Seq: learning reverse and copy tasks, greedy and beam decoding, accuracies, saving, bad input."""

import doctest

import numpy as np
import pytest

import rnnkit
from helpers import die_after_checkpoint
from rnnkit.errors import NotFittedError
from rnnkit.estimators import RNNSeq2Seq
from rnnkit.estimators import _tokens as tokens_module
from rnnkit.estimators import seq2seq_estimator as s2s_module
from rnnkit.estimators._tokens import EOS, PAD, SOS, UNK, TokenVocab


def _words(n, seed, alphabet="abcdef", lo=2, hi=4):
    g = np.random.default_rng(seed)
    return ["".join(g.choice(list(alphabet), size=g.integers(lo, hi + 1))) for _ in range(n)]


def _est(**kw):
    base = dict(cell="lstm", bidirectional=False, hidden_size=32, embedding_dim=16, max_epochs=15, lr=1e-2,
                batch_size=16, patience=30, validation_fraction=0.1, random_state=0)
    base.update(kw)
    return RNNSeq2Seq(**base)


@pytest.fixture(scope="module")
def reverser():
    X = _words(300, 0)
    return _est().fit(X, [w[::-1] for w in X])


def test_reversing_strings_is_learned(reverser):
    test = [w for w in _words(300, 1) if w not in set(_words(300, 0))][:100]   # never seen in fit
    truth = [w[::-1] for w in test]
    assert reverser.score(test, truth) >= 0.8                 # chance: about 1/6**3
    assert reverser.score(test, truth, beam_size=4) >= 0.8
    pred = reverser.predict(test[:5])
    assert all(isinstance(p, str) for p in pred)
    assert reverser.token_accuracy(test, truth) >= 0.9
    assert reverser.best_epoch_ >= 1 and len(reverser.history_.epochs) >= 1


def test_token_accuracy_counts_positions_and_the_end(reverser, monkeypatch):
    outputs = [list("ab"), list("c"), list("xyz"), []]
    monkeypatch.setattr(reverser, "_decode", lambda xs, beam_size, max_len: outputs)
    # ab|ab: a, b, end right (3/3); c|cd: c right, d vs end, end vs nothing (1/3);
    # xyz|xy: x, y right, z vs end (2/3); (nothing)|q: q vs end, end vs nothing (0/2)
    X = ["ab", "ab", "ab", "ab"]
    assert reverser.token_accuracy(X, ["ab", "cd", "xy", "q"]) == 6 / 11
    assert reverser.score(X, ["ab", "cd", "xy", ""]) == 0.5


def test_copying_token_lists_is_learned():
    g = np.random.default_rng(3)
    X = [list(g.integers(10, 16, size=g.integers(2, 5))) for _ in range(300)]       # NumPy ints
    est = _est().fit(X, X)
    test = [list(g.integers(10, 16, size=g.integers(2, 5))) for _ in range(100)]
    pred = est.predict(test)
    assert all(isinstance(p, list) for p in pred)
    assert all(isinstance(t, int) for p in pred for t in p)
    assert est.score(test, test) >= 0.7                       # chance: about 1/6**3


def test_save_load_is_exact(reverser, tmp_path):
    path = tmp_path / "s2s.npz"
    reverser.save(path)
    back = rnnkit.load(path)
    assert type(back) is RNNSeq2Seq and back.get_params() == reverser.get_params()
    for (n, p), (_, q) in zip(reverser.model_.named_parameters(), back.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    X = _words(30, 5)
    assert back.predict(X) == reverser.predict(X)
    assert back.predict(X, beam_size=3) == reverser.predict(X, beam_size=3)
    src, lengths = reverser.src_vocab_.pad([list(x) for x in X])
    _, s1 = reverser.model_.beam_decode(src, lengths, max_len=8, beam_size=3, banned=(PAD, SOS, UNK))
    _, s2 = back.model_.beam_decode(src, lengths, max_len=8, beam_size=3, banned=(PAD, SOS, UNK))
    np.testing.assert_array_equal(s1, s2)
    assert back.history_.history == reverser.history_.history


def test_tuple_tokens_survive_saving(tmp_path):
    X = [[("a", 1), ("b", 2)], [("b", 2)], [("a", 1)]] * 10
    est = _est(max_epochs=2, validation_fraction=0).fit(X, X)
    est.save(tmp_path / "t.npz")
    back = rnnkit.load(tmp_path / "t.npz")
    assert back.src_vocab_.tokens == est.src_vocab_.tokens == [("a", 1), ("b", 2)]
    assert back.predict(X[:3]) == est.predict(X[:3])


def test_fit_is_repeatable_bit_for_bit():
    X = _words(100, 2)
    a = _est(max_epochs=2).fit(X, X)
    b = _est(max_epochs=2).fit(X, X)
    for (n, p), (_, q) in zip(a.model_.named_parameters(), b.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


def test_unknown_source_tokens(reverser):
    with pytest.raises(ValueError, match=r"X\[1\] has source tokens never seen in fit: \['z'\]"):
        reverser.predict(["abc", "azb"])
    lenient = RNNSeq2Seq(**{**reverser.get_params(), "handle_unknown": "unk"})
    lenient.model_, lenient.src_vocab_, lenient.tgt_vocab_ = reverser.model_, reverser.src_vocab_, reverser.tgt_vocab_
    lenient.target_is_text_, lenient.max_target_len_ = True, reverser.max_target_len_
    assert np.all(reverser.model_.src_embedding.weight.data[UNK] == 0)
    assert len(lenient.predict(["azb"])) == 1


def test_vocabulary_ids():
    v = TokenVocab.fit([[3, 1], [2, 5, 1]])
    assert (PAD, SOS, EOS, UNK) == (0, 1, 2, 3) and len(v) == 8
    assert v.encode([1, 2, 3, 5, 9]).tolist() == [4, 5, 6, 7, UNK]
    assert v.decode([7, 4, EOS, 5]) == [5, 1]
    mixed = TokenVocab.fit([[1, "a"], [(1, 2)]])          # not mutually sortable: sorted by type name, value
    assert mixed.tokens == [1, "a", (1, 2)]


def test_bad_input(reverser):
    with pytest.raises(ValueError, match="X holds no sequences"):
        _est().fit([], [])
    with pytest.raises(ValueError, match="same number of sequences, got 3 and 2"):
        _est().fit(["ab", "cd", "ef"], ["ba", "dc"])
    with pytest.raises(TypeError, match="must be a list of sequences, got a single str"):
        _est().fit("abc", "cba")
    with pytest.raises(ValueError, match=r"X\[1\] is empty"):
        _est().fit(["ab", ""], ["ba", "x"])
    with pytest.raises(TypeError, match=r"X\[0\] holds an unhashable token \[1\]"):
        _est().fit([[[1], [2]]], [[1]])
    with pytest.raises(ValueError, match="leaves no validation or no training pair"):
        _est(validation_fraction=0.1).fit(["ab", "cd"], ["ba", "dc"])
    with pytest.raises(NotFittedError):
        RNNSeq2Seq().predict(["ab"])
    with pytest.raises(ValueError, match="beam_size must be >= 1"):
        reverser.predict(["ab"], beam_size=0)
    with pytest.raises(ValueError, match="handle_unknown must be one of"):
        _est(handle_unknown="skip").fit(["ab"], ["ba"])


def test_an_empty_target_is_just_the_end():
    X = ["ab", "ba", "aa", "bb"] * 15
    y = ["", "x", "", "x"] * 15
    est = _est(max_epochs=20, validation_fraction=0).fit(X, y)
    assert est.predict(["ab", "ba"]) == ["", "x"]


def test_docstring_examples_run():
    for module in (tokens_module, s2s_module):
        res = doctest.testmod(module)
        assert res.attempted > 0 and res.failed == 0, module.__name__


def test_a_checkpointed_fit_resumes_exactly(tmp_path, monkeypatch):
    """A run that dies after its 2nd checkpoint, continued with resume=True, ends where the
    uninterrupted run does (losses and weights bit for bit); validation_indices_ names the held-out pairs."""
    from rnnkit.datasets import date_pairs
    pairs = date_pairs(80, seed=0)
    params = dict(hidden_size=8, embedding_dim=8, max_epochs=4, patience=50, batch_size=16, random_state=0)
    full = RNNSeq2Seq(**params).fit(pairs.sources, pairs.targets)
    ckpt = tmp_path / "ckpt.npz"
    with monkeypatch.context() as m:
        die_after_checkpoint(m, epoch=2)
        with pytest.raises(RuntimeError, match="killed"):
            RNNSeq2Seq(**params).fit(pairs.sources, pairs.targets, checkpoint=ckpt)
    resumed = RNNSeq2Seq(**params).fit(pairs.sources, pairs.targets, checkpoint=ckpt, resume=True)
    assert resumed.history_.history["val_loss"] == full.history_.history["val_loss"]
    for (n, p), (_, q) in zip(resumed.model_.named_parameters(), full.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    assert full.validation_indices_.tolist() == sorted(set(full.validation_indices_.tolist()))
    assert len(full.validation_indices_) == 8                 # validation_fraction 0.1 of 80 pairs
