"""The estimators' input side, without training: the forms of X, lengths inferred from NaN
padding, zero padding without lengths refused, NaN positions named, token detection, the
per-channel scaler over real steps, the vocabulary's unknown id, labels kept with their type,
the stratified validation split."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.estimators._encoders import ChannelScaler, TokenVocab
from rnnkit.estimators._labels import as_label_array, classes_from_state, classes_state, encode_labels, fit_classes
from rnnkit.estimators._sequences import looks_like_tokens, read_numeric, read_tokens
from rnnkit.estimators._split import random_split, stratified_split


def test_every_numeric_form_gives_the_same_batch():
    g = np.random.default_rng(0)
    seqs = [g.normal(size=(T, 3)) + 1 for T in (4, 2, 5)]
    ref, lens = read_numeric(seqs)
    assert ref.shape == (3, 5, 3) and lens.tolist() == [4, 2, 5]
    assert np.all(ref[1, 2:] == 0)
    padded = np.full((3, 9, 3), 7.0)
    for n, s in enumerate(seqs):
        padded[n, :len(s)] = s
    same, l2 = read_numeric(padded, lengths=[4, 2, 5])
    np.testing.assert_array_equal(same, ref)
    np.testing.assert_array_equal(l2, lens)
    nan = np.full((3, 6, 3), np.nan)
    for n, s in enumerate(seqs):
        nan[n, :len(s)] = s
    same, l3 = read_numeric(nan)
    np.testing.assert_array_equal(same, ref)
    assert l3.tolist() == [4, 2, 5]
    uni, l4 = read_numeric(np.arange(1.0, 7.0).reshape(2, 3))                   # (N, T) -> C = 1
    assert uni.shape == (2, 3, 1) and l4.tolist() == [3, 3]
    ragged, l5 = read_numeric([[1.0, 2.0, 3.0], [4.0]])                          # 1-D sequences
    assert ragged.shape == (2, 3, 1) and l5.tolist() == [3, 1]


def test_zero_padding_without_lengths_is_refused():
    X = np.ones((3, 4, 2))
    X[1, 2:] = 0.0
    with pytest.raises(ValueError, match=r"X\[1\] ends with 2 step\(s\) that are 0 in every channel \(1 example"):
        read_numeric(X)
    same, lens = read_numeric(X, lengths=np.full(3, 4))                          # the zeros are data
    assert lens.tolist() == [4, 4, 4] and np.array_equal(same, X)
    X[1, 1, 0] = np.nan                                                          # NaN in a real step
    X[1, 2:] = 5.0
    with pytest.raises(ValueError, match=r"NaN or inf at \(example 1, step 1, channel 0\)"):
        read_numeric(X)
    X[1, :] = np.nan
    with pytest.raises(ValueError, match=r"X\[1\] has no real step"):
        read_numeric(X)


def test_bad_numeric_input_messages():
    with pytest.raises(ValueError, match="lengths must be in"):
        read_numeric(np.ones((2, 3, 1)), lengths=[3, 4])
    with pytest.raises(ValueError, match=r"lengths must have shape \(2,\)"):
        read_numeric(np.ones((2, 3, 1)), lengths=[3])
    with pytest.raises(ValueError, match="same channels"):
        read_numeric([np.ones((2, 2)), np.ones((3, 1))])
    with pytest.raises(ValueError, match="lengths= goes with a padded array"):
        read_numeric([np.ones((2, 2))], lengths=[2])
    with pytest.raises(ValueError, match=r"must be a list of \(T_i, C\) arrays"):
        read_numeric(np.ones(3))
    with pytest.raises(TypeError, match="input_type='tokens'"):
        read_numeric(np.array([["a", "b"]]))
    inf = [np.ones((3, 1)), np.ones((2, 1))]
    inf[1][1, 0] = np.inf
    with pytest.raises(ValueError, match=r"\(example 1, step 1, channel 0\)"):
        read_numeric(inf)


def test_tokens():
    assert looks_like_tokens(["ab", "c"]) and looks_like_tokens([["the", "cat"]])
    assert looks_like_tokens(np.array(["ab", "c"]))
    assert not looks_like_tokens([np.ones((2, 1))]) and not looks_like_tokens([[1.0, 2.0]])
    assert read_tokens(["ab", ("x", 3)]) == [["a", "b"], ["x", 3]]
    with pytest.raises(ValueError, match=r"X\[1\] is empty"):
        read_tokens(["ab", ""])
    with pytest.raises(TypeError, match=r"X\[0\]\[1\] must be a hashable token"):
        read_tokens([["a", ["b"]]])
    vocab = TokenVocab.fit([["b", "a"], ["c", "a"]])
    assert vocab.tokens == ["a", "b", "c"] and vocab.size == 4
    ids, lens, unknown = vocab.encode([["a", "z", "c"], ["b"]])
    np.testing.assert_array_equal(ids, [[1, 0, 3], [2, 0, 0]])
    assert lens.tolist() == [3, 1] and unknown == 1
    mixed = TokenVocab.fit([[1, "a"], [(2, 3)]])                                 # not sortable: first seen
    assert mixed.tokens == [1, "a", (2, 3)]


def test_channel_scaler_counts_real_steps_only():
    padded = np.array([[[1.0], [3.0], [99.0]], [[5.0], [-7.0], [-7.0]]])         # (2, 3, 1)
    lens = np.array([2, 1])
    sc = ChannelScaler.fit(padded, lens)
    np.testing.assert_allclose(sc.mean, [3.0])                                    # (1 + 3 + 5) / 3
    np.testing.assert_allclose(sc.scale, [np.std([1.0, 3.0, 5.0])])
    z = sc.transform(padded, lens)
    assert z.dtype == np.float32 and z[0, 2, 0] == 0 and z[1, 1, 0] == 0
    const = ChannelScaler.fit(np.ones((2, 2, 1)), np.array([2, 2]))
    assert const.scale.tolist() == [1.0]


def test_labels_keep_their_type_and_sort_as_scikit_learn():
    for y, classes in [(["b", "a", "b"], ["a", "b"]), ([3, 1, 3], [1, 3]), ([True, False], [False, True]),
                       ([(1, "x"), (0, "y")], [(0, "y"), (1, "x")]), (np.array([2.5, 1.0]), [1.0, 2.5])]:
        arr = as_label_array(y)
        c = fit_classes(arr)
        assert c.tolist() == classes
        back = classes_from_state(classes_state(c))
        assert back.tolist() == classes and back.dtype == c.dtype
        np.testing.assert_array_equal(c[encode_labels(arr, c)], arr)
    assert as_label_array([(1, 2), (3, 4)]).shape == (2,)                        # tuples stay whole labels
    with pytest.raises(TypeError, match="comparable"):
        fit_classes(as_label_array(["a", None]))
    with pytest.raises(ValueError, match=r"non-finite labels at examples \[1\]"):
        as_label_array(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="never seen in fit: 'c'"):
        encode_labels(as_label_array(["a", "c"]), np.array(["a", "b"]))


def test_stratified_split_keeps_the_class_proportions():
    ids = np.repeat([0, 1, 2], [20, 10, 1])
    tr, va = stratified_split(ids, 0.2, np.random.default_rng(0))
    assert np.bincount(ids[va], minlength=3).tolist() == [4, 2, 0]              # the single example stays
    assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(ids)
    tr, va = random_split(10, 0.25, np.random.default_rng(0))
    assert len(va) == 2 and len(tr) == 8
    assert random_split(10, 0.0, np.random.default_rng(0))[1].size == 0
