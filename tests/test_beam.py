"""Beam search on Seq2Seq: against brute force over every output, and against greedy decoding."""

import itertools

import numpy as np
import pytest

import rnnkit
from rnnkit.models import Seq2Seq, beam_search

V, PAD, SOS, EOS = 6, 0, 1, 2
BANNED = (PAD, SOS)
ALLOWED = [EOS, 3, 4, 5]


def _model(cell, bidirectional, seed):
    model = Seq2Seq(V, V, 4, 8, cell=cell, bidirectional_encoder=bidirectional, rng=seed, dtype=np.float64)
    for p in model.parameters():
        p.data *= 3.0                 # sharper distributions: the beam's choices matter
    return model


def _log_prob(model, src, y):
    """log p(y | src) by one teacher-forced forward, softmax over the allowed ids."""
    tgt_in = np.array([[SOS] + y[:-1]])
    with rnnkit.no_grad():
        model.eval()
        logits = model(src[None, :], tgt_in)[0]                       # (len(y), V)
    logits = np.where(np.isin(np.arange(V), BANNED), -np.inf, logits)
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return float(logp[np.arange(len(y)), y].sum())


def _brute_force(model, src, max_len, alpha):
    """Best output over all of them: ended by EOS within max_len, or max_len tokens without."""
    best = None
    for n in range(1, max_len + 1):
        for y in itertools.product(ALLOWED, repeat=n):
            y = list(y)
            if EOS in y[:-1] or (n < max_len and y[-1] != EOS):
                continue
            s = _log_prob(model, src, y) / n ** alpha
            if best is None or s > best[0]:
                best = (s, y)
    return best


@pytest.mark.parametrize("cell,bidirectional,seed", [("gru", False, 0), ("lstm", True, 3), ("rnn", True, 5)])
@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
def test_a_beam_covering_every_output_finds_the_true_best(cell, bidirectional, seed, alpha):
    model = _model(cell, bidirectional, seed)
    src = np.array([[4, 5, 3], [3, 3, 0], [5, 4, 4]])
    lengths = np.array([3, 2, 3])
    T = 3
    ids, scores = beam_search(model, src, lengths, max_len=T, beam_size=len(ALLOWED) ** T, length_penalty=alpha,
                              banned=BANNED)
    found_long = False
    for b in range(src.shape[0]):
        s, y = _brute_force(model, src[b, :lengths[b]], T, alpha)
        found_long |= len(y) > 1
        assert ids[b, :len(y)].tolist() == y, (b, ids[b], y)
        assert np.all(ids[b, len(y):] == PAD)
        assert scores[b] == pytest.approx(s, rel=1e-10, abs=1e-12)
    if alpha == 1.0:
        assert found_long             # with length normalisation the best is not just [EOS]


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_beam_of_one_is_greedy(cell):
    model = _model(cell, True, 1)
    g = np.random.default_rng(0)
    src = g.integers(3, V, size=(12, 5))
    lengths = g.integers(1, 6, size=12)
    for alpha in (0.0, 1.0):
        ids, scores = beam_search(model, src, lengths, max_len=7, beam_size=1, length_penalty=alpha, banned=BANNED)
        np.testing.assert_array_equal(ids, model.greedy_decode(src, lengths, max_len=7, banned=BANNED))
        for b in range(12):                  # the score is the output's own normalised log-probability
            row = ids[b].tolist()
            y = row[:row.index(EOS) + 1] if EOS in row else row
            assert scores[b] == pytest.approx(_log_prob(model, src[b, :lengths[b]], y) / len(y) ** alpha, rel=1e-10)


def test_a_wider_beam_never_emits_banned_ids_and_reaches_at_least_greedy_log_prob():
    model = _model("gru", True, 2)
    g = np.random.default_rng(1)
    src = g.integers(3, V, size=(10, 4))
    greedy, g_scores = model.beam_decode(src, max_len=6, beam_size=1, length_penalty=0.0, banned=BANNED)
    wide, w_scores = model.beam_decode(src, max_len=6, beam_size=8, length_penalty=0.0, banned=BANNED)
    # with alpha = 0 the early stop is exact and the kept set contains greedy's path each step
    # as long as it stays in the top 8, so the wider beam is never worse here
    assert np.all(w_scores >= g_scores - 1e-12)
    emitted = np.concatenate([r[:list(r).index(EOS) + 1] if EOS in r else r for r in wide])
    assert not np.isin(emitted, BANNED).any()


def test_bad_arguments():
    model = _model("gru", False, 0)
    src = np.array([[3, 4]])
    with pytest.raises(ValueError, match="beam_size must be >= 1"):
        beam_search(model, src, beam_size=0)
    with pytest.raises(ValueError, match="banned must not hold eos_id"):
        beam_search(model, src, banned=[EOS])
    with pytest.raises(ValueError, match="length_penalty must be in"):
        beam_search(model, src, length_penalty=-1.0)
    with pytest.raises(ValueError, match="banned ids must be < tgt_vocab"):
        model.greedy_decode(src, banned=[V])
