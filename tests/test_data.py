"""rnnkit.data: padding and masks, minibatches, windows, CharVocab, batchify/TBPTT, one-hot.

Expected values come from PyTorch where it has the same function (pad_sequence, one_hot)
and otherwise from plain Python loops written independently of the code under test.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.data import (
    CharVocab,
    batchify,
    bucket_by_length,
    iterate_minibatches,
    length_mask,
    make_windows,
    one_hot,
    pad_sequences,
    tbptt_windows,
    unpad_sequences,
)

# ----------------------------------------------------------------------------- padding


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pad_sequences_matches_torch(batch_first, dtype, rng):
    torch = pytest.importorskip("torch")
    seqs = [rng.standard_normal((L, 3)).astype(dtype) for L in (4, 1, 6, 2)]
    padded, lengths = pad_sequences(seqs, batch_first=batch_first, padding_value=-1.5)
    expected = torch.nn.utils.rnn.pad_sequence(
        [torch.from_numpy(s) for s in seqs], batch_first=batch_first, padding_value=-1.5
    ).numpy()
    assert padded.dtype == dtype
    np.testing.assert_array_equal(padded, expected)
    np.testing.assert_array_equal(lengths, [4, 1, 6, 2])
    assert lengths.dtype == np.int64


def test_pad_sequences_token_ids_by_hand():
    padded, lengths = pad_sequences([[5, 6, 7], [8], [9, 10]])
    expected = np.array([[5, 8, 9], [6, 0, 10], [7, 0, 0]])  # (T, B), columns are sequences
    np.testing.assert_array_equal(padded, expected)
    np.testing.assert_array_equal(lengths, [3, 1, 2])
    assert np.issubdtype(padded.dtype, np.integer)
    padded_bf, _ = pad_sequences([[5, 6, 7], [8], [9, 10]], batch_first=True, max_len=4, dtype=np.float32)
    np.testing.assert_array_equal(padded_bf, [[5, 6, 7, 0], [8, 0, 0, 0], [9, 10, 0, 0]])
    assert padded_bf.dtype == np.float32


@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_unpad_round_trip(batch_first, rng):
    seqs = [rng.standard_normal((int(L), 2, 3)) for L in rng.integers(0, 7, size=9)]
    seqs[0] = rng.standard_normal((7, 2, 3))  # at least one non-empty
    padded, lengths = pad_sequences(seqs, batch_first=batch_first)
    assert padded.shape == ((9, 7, 2, 3) if batch_first else (7, 9, 2, 3))
    back = unpad_sequences(padded, lengths, batch_first=batch_first)
    assert len(back) == len(seqs)
    for b, (s, r) in enumerate(zip(seqs, back)):
        assert r.shape == s.shape, f"sequence {b}"
        np.testing.assert_array_equal(r, s)


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="sequences"):
        pad_sequences([])
    with pytest.raises(TypeError, match="sequences"):
        pad_sequences(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="trailing shape"):
        pad_sequences([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="max_len"):
        pad_sequences([np.zeros(5)], max_len=3)
    with pytest.raises(TypeError, match="sequences\\[1\\]"):
        pad_sequences([np.zeros(2), "abc"])
    with pytest.raises(ValueError, match="sequences\\[0\\]"):
        pad_sequences([np.float64(3.0)])
    with pytest.raises(TypeError, match="padding_value"):
        pad_sequences([np.zeros(2)], padding_value="x")
    with pytest.raises(TypeError, match="batch_first"):
        pad_sequences([np.zeros(2)], batch_first=1)
    with pytest.raises(ValueError, match="lengths"):
        unpad_sequences(np.zeros((3, 2)), [1, 4])
    with pytest.raises(ValueError, match="lengths"):
        unpad_sequences(np.zeros((3, 2)), [1, 2, 3])


def test_length_mask_by_hand():
    lengths = [3, 1, 0, 2]
    mask = length_mask(lengths)
    expected = np.array([[t < L for L in lengths] for t in range(3)])  # (T, B)
    np.testing.assert_array_equal(mask, expected)
    assert mask.dtype == np.bool_
    m2 = length_mask(lengths, max_len=5, batch_first=True, dtype=np.float32)
    assert m2.shape == (4, 5) and m2.dtype == np.float32
    np.testing.assert_array_equal(m2, [[float(t < L) for t in range(5)] for L in lengths])


def test_length_mask_marks_exactly_the_unpadded_steps(rng):
    seqs = [rng.uniform(1, 2, size=(int(L), 2)) for L in rng.integers(1, 9, size=6)]
    padded, lengths = pad_sequences(seqs)
    mask = length_mask(lengths, max_len=padded.shape[0])
    np.testing.assert_array_equal(mask, np.all(padded != 0, axis=-1))  # values in [1, 2) are never 0


def test_length_mask_errors():
    with pytest.raises(ValueError, match="lengths"):
        length_mask([1, -1])
    with pytest.raises(ValueError, match="lengths"):
        length_mask([[1, 2]])
    with pytest.raises(TypeError, match="lengths"):
        length_mask([1.5, 2.0])
    with pytest.raises(ValueError, match="max_len"):
        length_mask([4], max_len=2)


# ----------------------------------------------------------------------------- batching


def test_iterate_minibatches_in_order_time_major():
    T, N = 4, 10
    X = np.arange(T * N * 2).reshape(T, N, 2)
    y = np.arange(N) * 10
    batches = list(iterate_minibatches(X, y, batch_size=4))
    assert [xb.shape for xb, _ in batches] == [(T, 4, 2), (T, 4, 2), (T, 2, 2)]
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches], axis=1), X)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y)
    assert len(list(iterate_minibatches(X, y, 4, drop_last=True))) == 2


def test_iterate_minibatches_shuffle_keeps_pairs_and_is_seeded():
    T, N = 3, 23
    ids = np.arange(N)
    X = np.broadcast_to(ids[None, :, None], (T, N, 1)).astype(float)  # every step holds the sequence id
    y = np.broadcast_to(ids[None, :] * 100, (T, N))  # per-step targets (T, N)
    lengths = ids % 5 + 1

    def run(seed):
        return list(iterate_minibatches(X, y, 5, shuffle=True, rng=seed, lengths=lengths))

    out = run(7)
    seen = np.concatenate([xb[0, :, 0] for xb, _, _ in out]).astype(int)
    assert sorted(seen.tolist()) == list(range(N)), "every sequence exactly once"
    assert seen.tolist() != list(range(N)), "shuffled"
    for xb, yb, lb in out:
        b_ids = xb[0, :, 0].astype(int)
        assert yb.shape == (T, len(b_ids))
        np.testing.assert_array_equal(yb[0], b_ids * 100)
        np.testing.assert_array_equal(lb, b_ids % 5 + 1)
    again = np.concatenate([xb[0, :, 0] for xb, _, _ in run(7)])
    np.testing.assert_array_equal(seen, again)
    other = np.concatenate([xb[0, :, 0] for xb, _, _ in run(8)])
    assert not np.array_equal(seen, other)


def test_iterate_minibatches_batch_first_and_y_axis():
    N, T = 6, 6  # T == N: y's batch axis is ambiguous
    X = np.arange(N * T).reshape(N, T, 1)
    y = np.arange(N * T).reshape(N, T)  # batch first
    with pytest.raises(ValueError, match="y_axis"):
        list(iterate_minibatches(X, y, 4, batch_first=True))
    (xb, yb), _ = list(iterate_minibatches(X, y, 4, batch_first=True, y_axis=0))
    np.testing.assert_array_equal(xb, X[:4])
    np.testing.assert_array_equal(yb, y[:4])


def test_bucket_by_length_groups_similar_lengths(rng):
    lengths = rng.integers(1, 50, size=103)
    batches = bucket_by_length(lengths, 10, shuffle=True, rng=3)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(103))
    assert [len(b) for b in batches].count(3) == 1 and all(len(b) in (3, 10) for b in batches)
    spans = sorted((lengths[b].min(), lengths[b].max()) for b in batches)
    for (_, hi), (lo, _) in zip(spans, spans[1:]):
        assert hi <= lo, "buckets are consecutive runs of the sorted lengths"
    again = bucket_by_length(lengths, 10, shuffle=True, rng=3)
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))
    assert len(bucket_by_length(lengths, 10, shuffle=False, drop_last=True)) == 10
    X = np.zeros((50, 103, 1))
    for xb, _, lb in iterate_minibatches(X, np.zeros(103), 10, rng=0, lengths=lengths, bucket=True):
        assert xb.shape[1] == len(lb) and lb.max() - lb.min() < 49


def test_batching_errors():
    X, y = np.zeros((3, 4, 1)), np.zeros(4)
    with pytest.raises(ValueError, match="batch_size"):
        list(iterate_minibatches(X, y, 0))
    with pytest.raises(TypeError, match="batch_size"):
        list(iterate_minibatches(X, y, 2.0))
    with pytest.raises(ValueError, match="lengths"):
        list(iterate_minibatches(X, y, 2, bucket=True))
    with pytest.raises(ValueError, match="lengths"):
        list(iterate_minibatches(X, y, 2, lengths=[1, 2]))
    with pytest.raises(ValueError, match="y must have the batch size 4"):
        list(iterate_minibatches(X, np.zeros(5), 2))
    with pytest.raises(ValueError, match="X"):
        list(iterate_minibatches(np.zeros(4), y, 2))
    with pytest.raises(TypeError, match="rng"):
        list(iterate_minibatches(X, y, 2, shuffle=True, rng="seed"))


# ----------------------------------------------------------------------------- windows


def _windows_by_loop(s, window, horizon, stride):
    xs, ys = [], []
    start = 0
    while start + window + horizon <= len(s):
        xs.append(s[start : start + window])
        ys.append(s[start + window : start + window + horizon])
        start += stride
    return np.array(xs), np.array(ys)


@pytest.mark.parametrize("window,horizon,stride", [(3, 1, 1), (5, 3, 2), (1, 1, 4), (7, 2, 3)])
def test_make_windows_matches_loop(window, horizon, stride, rng):
    s = rng.standard_normal((40, 3))
    X, y = make_windows(s, window, horizon, stride)
    ex, ey = _windows_by_loop(s, window, horizon, stride)
    assert X.shape == (len(ex), window, 3)
    np.testing.assert_array_equal(X, ex)
    np.testing.assert_array_equal(y, ey[:, 0] if horizon == 1 else ey)
    Xt, yt = make_windows(s, window, horizon, stride, batch_first=False)
    np.testing.assert_array_equal(Xt, ex.transpose(1, 0, 2))
    np.testing.assert_array_equal(yt, ey[:, 0] if horizon == 1 else ey.transpose(1, 0, 2))


def test_make_windows_1d_and_dtypes():
    X, y = make_windows(np.arange(10), window=3)
    assert X.dtype == np.float64 and X.shape == (7, 3, 1) and y.shape == (7, 1)
    np.testing.assert_array_equal(X[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(y[:, 0], np.arange(3, 10))
    X32, _ = make_windows(np.arange(10, dtype=np.float32), window=3)
    assert X32.dtype == np.float32
    X_exact, _ = make_windows(np.arange(5.0), window=4)  # exactly window + horizon steps: one window
    assert X_exact.shape == (1, 4, 1)


def test_make_windows_errors():
    with pytest.raises(ValueError, match="too short"):
        make_windows(np.arange(4.0), window=4)
    with pytest.raises(ValueError, match="window"):
        make_windows(np.arange(10.0), window=0)
    with pytest.raises(TypeError, match="window"):
        make_windows(np.arange(10.0), window=2.5)
    with pytest.raises(ValueError, match="stride"):
        make_windows(np.arange(10.0), window=2, stride=0)
    with pytest.raises(ValueError, match="series"):
        make_windows(np.zeros((10, 2, 2)), window=2)
    with pytest.raises(TypeError, match="series"):
        make_windows("abcdef", window=2)
    with pytest.raises(TypeError, match="series"):
        make_windows(np.zeros(10, dtype=complex), window=2)


# ----------------------------------------------------------------------------- vocab


def test_char_vocab_fit_encode_decode():
    text = "hello, wörld\n\tüñí €"
    v = CharVocab.fit(text)
    assert v.itos == sorted(set(text))
    ids = v.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    np.testing.assert_array_equal(ids, [sorted(set(text)).index(c) for c in text])
    assert v.decode(ids) == text
    assert v.decode([]) == ""
    assert len(v) == len(set(text)) and "ö" in v and "z" not in v


def test_char_vocab_unknown_characters():
    strict = CharVocab.fit("abc")
    with pytest.raises(ValueError, match="not in the vocabulary"):
        strict.encode("abz")
    v = CharVocab.fit("abc", unk="?")
    assert v.unk_id == 0 and v.itos == ["?", "a", "b", "c"]
    np.testing.assert_array_equal(v.encode("azc\U0001f600"), [1, 0, 3, 0])
    assert v.decode(v.encode("azc")) == "a?c"
    rare = CharVocab.fit("aaab", unk="~", min_count=2)
    assert rare.itos == ["~", "a"]
    np.testing.assert_array_equal(rare.encode("ab"), [1, 0])


def test_char_vocab_json_round_trip():
    v = CharVocab.fit("x = {'é': 1}\n", unk="\ufffd")
    s = v.to_json()
    json.loads(s)  # valid JSON
    w = CharVocab.from_json(s)
    assert w == v and w.unk == "\ufffd"
    text = "x = 'é'?"
    np.testing.assert_array_equal(w.encode(text), v.encode(text))
    plain = CharVocab.fit("ab")
    assert CharVocab.from_json(plain.to_json()) == plain
    assert CharVocab.from_json(plain.to_json()) != v


def test_char_vocab_errors():
    with pytest.raises(ValueError, match="repeat"):
        CharVocab(["a", "b", "a"])
    with pytest.raises(TypeError, match="chars"):
        CharVocab(["ab"])
    with pytest.raises(TypeError, match="unk"):
        CharVocab(["a"], unk="??")
    with pytest.raises(TypeError, match="chars must be a string or a list.*got int"):
        CharVocab.from_json('{"chars": 5}')                 # a vocabulary file of the wrong shape
    with pytest.raises(ValueError, match="unk"):
        CharVocab.fit("aab", min_count=2)
    with pytest.raises(TypeError, match="text"):
        CharVocab.fit(b"bytes")
    v = CharVocab.fit("ab")
    with pytest.raises(TypeError, match="text"):
        v.encode(["a"])
    with pytest.raises(ValueError, match="ids"):
        v.decode([0, 2])
    with pytest.raises(TypeError, match="ids"):
        v.decode([0.0])
    with pytest.raises(ValueError, match="JSON"):
        CharVocab.from_json("{not json")
    with pytest.raises(ValueError, match="chars"):
        CharVocab.from_json("[1, 2]")


def test_batchify_columns_are_contiguous_streams():
    ids = np.arange(23)
    data = batchify(ids, 4)  # N = 5, last 3 dropped
    assert data.shape == (5, 4)
    for b in range(4):
        np.testing.assert_array_equal(data[:, b], ids[b * 5 : (b + 1) * 5])
    with pytest.raises(ValueError, match="batch_size"):
        batchify(np.arange(3), 4)
    with pytest.raises(ValueError, match="ids"):
        batchify(np.zeros((3, 2), dtype=int), 1)
    with pytest.raises(TypeError, match="ids"):
        batchify(np.zeros(8), 2)


@pytest.mark.parametrize("k", [1, 3, 4, 10])
def test_tbptt_windows_cover_stream_with_next_step_targets(k):
    stream = batchify(np.arange(45), 3)  # (15, 3)
    wins = list(tbptt_windows(stream, k))
    xs = np.concatenate([x for x, _ in wins])
    ys = np.concatenate([y for _, y in wins])
    np.testing.assert_array_equal(xs, stream[:-1])
    np.testing.assert_array_equal(ys, stream[1:])
    assert all(x.shape[0] <= k and x.shape == y.shape for x, y in wins)
    full = list(tbptt_windows(stream, k, drop_last=True))
    assert all(x.shape[0] == k for x, _ in full) and len(full) == 14 // k


def test_tbptt_windows_1d_and_errors():
    (x, y), = list(tbptt_windows(np.array([4, 5, 6]), 5))
    np.testing.assert_array_equal(x, [4, 5])
    np.testing.assert_array_equal(y, [5, 6])
    with pytest.raises(ValueError, match="stream"):
        list(tbptt_windows(np.array([1]), 2))
    with pytest.raises(ValueError, match="k"):
        list(tbptt_windows(np.arange(5), 0))
    with pytest.raises(ValueError, match="stream"):
        list(tbptt_windows(np.zeros((2, 2, 2)), 1))


# ----------------------------------------------------------------------------- one-hot


def test_one_hot_matches_torch(rng):
    torch = pytest.importorskip("torch")
    ids = rng.integers(0, 6, size=(4, 3))
    out = one_hot(ids, 6)
    assert out.shape == (4, 3, 6) and out.dtype == np.float32
    expected = torch.nn.functional.one_hot(torch.from_numpy(ids), 6).numpy()
    np.testing.assert_array_equal(out, expected)
    assert one_hot(ids, 6, dtype=np.float64).dtype == np.float64


def test_one_hot_errors():
    with pytest.raises(ValueError, match="ids"):
        one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="ids"):
        one_hot([-1], 3)
    with pytest.raises(TypeError, match="ids"):
        one_hot([0.0], 3)
    with pytest.raises(ValueError, match="num_classes"):
        one_hot([0], 0)
