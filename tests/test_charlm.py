"""CharLM: learning a small text, bits per character, generation, saving, text sources, bad input."""

import doctest
import math
from collections import Counter

import numpy as np
import pytest

import rnnkit
from rnnkit.errors import FileFormatError, NotFittedError
from rnnkit.estimators import CharLM
from rnnkit.estimators import charlm as charlm_module
from rnnkit.models import CharRNN

PERIOD = "the cat sat on a mat; "           # period 22, 11 distinct characters
TEXT = PERIOD * 40


def _unigram_bpc(text: str) -> float:
    n = Counter(text)
    p = np.array(list(n.values())) / len(text)
    return float(-(p * np.log2(p)).sum())


def _small(**kw) -> CharLM:
    base = dict(hidden_size=48, num_layers=1, bptt=22, batch_size=4, max_epochs=25, lr=1e-2,
                validation_fraction=0.0, reduce_lr_patience=None, random_state=0)
    base.update(kw)
    return CharLM(**base)


@pytest.fixture(scope="module")
def fitted():
    return _small().fit(TEXT)


def _log_softmax(z):
    z = z.astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_a_periodic_text_is_learned_far_below_the_unigram_rate(fitted):
    unigram = _unigram_bpc(TEXT)                      # 3.03 bits: 11 characters, uneven counts
    assert unigram > 3.0
    bpc = fitted.score(PERIOD * 3)
    assert bpc < 0.1 * unigram, (bpc, unigram)
    assert fitted.perplexity(PERIOD * 3) == pytest.approx(2 ** bpc)
    # greedy continuation follows the period
    assert fitted.generate("the cat", 30, temperature=0) == (PERIOD * 3)[:37]


def test_score_is_the_mean_next_character_code_length(fitted):
    text = "a mat; the cat"
    ids = fitted.vocab_.encode(text)
    with rnnkit.no_grad():
        fitted.model_.eval()
        logits, _ = fitted.model_(ids[None, :])           # (1, T, V)
    logp = _log_softmax(logits[0])[np.arange(len(ids) - 1), ids[1:]]
    assert fitted.score(text) == pytest.approx(-logp.sum() / math.log(2) / (len(ids) - 1), rel=1e-6)


def test_unknown_characters_cost_their_uniform_spelling(fitted):
    text = "the cat€ sat"                                   # '€' never seen
    assert "€" not in fitted.vocab_.stoi
    ids = fitted.vocab_.encode(text)
    assert ids[7] == 0                                     # the unknown token
    with rnnkit.no_grad():
        logits, _ = fitted.model_(ids[None, :])
    logp = _log_softmax(logits[0])[np.arange(len(ids) - 1), ids[1:]]
    n_unseen = 0x110000 - 0x800 - (len(fitted.vocab_) - 1)
    expected = (-logp.sum() / math.log(2) + math.log2(n_unseen)) / (len(ids) - 1)
    assert fitted.score(text) == pytest.approx(expected, rel=1e-6)     # float32 network


def test_documents_are_scored_each_from_a_zero_state(fitted):
    a, b = "the cat sat on", "a mat; the"
    bits_a = fitted.score(a) * (len(a) - 1)
    bits_b = fitted.score(b) * (len(b) - 1)
    assert fitted.score([a, b]) == pytest.approx((bits_a + bits_b) / (len(a) + len(b) - 2), rel=1e-6)


def test_log_likelihoods_match_one_forward_over_each_sequence():
    model = CharRNN(7, 16, 2, rng=0, dtype=np.float64)
    g = np.random.default_rng(1)
    seqs = [g.integers(0, 7, n) for n in (1, 5, 40, 13, 40, 2, 9)]
    got = model.log_likelihoods(seqs, window=4, batch_size=3)      # windows and batches cut everywhere
    for s, r in zip(seqs, got):
        with rnnkit.no_grad():
            logits, _ = model(s[None, :])
        ref = _log_softmax(logits[0])[np.arange(len(s) - 1), s[1:]]
        np.testing.assert_allclose(r, ref, rtol=0, atol=1e-12)


def test_generate_is_repeatable_and_keeps_the_prime(fitted):
    a = fitted.generate("the", 50, temperature=1.5, random_state=3)
    assert a == fitted.generate("the", 50, temperature=1.5, random_state=3)
    assert a.startswith("the") and len(a) == 53
    assert set(a) <= set(TEXT)
    others = {fitted.generate("the", 50, temperature=1.5, random_state=s) for s in range(4, 8)}
    assert len(others | {a}) > 1
    empty = fitted.generate("", 25, temperature=0)
    assert len(empty) == 25 and empty in PERIOD * 3


def test_top_k_one_is_greedy(fitted):
    assert fitted.generate("on a", 20, top_k=1, random_state=0) == fitted.generate("on a", 20, temperature=0)


def test_save_load_is_exact(fitted, tmp_path):
    path = tmp_path / "lm.npz"
    fitted.save(path)
    back = rnnkit.load(path)
    assert type(back) is CharLM and back.get_params() == fitted.get_params()
    assert back.vocab_ == fitted.vocab_
    for (n, p), (_, q) in zip(fitted.model_.named_parameters(), back.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)
    assert back.score(TEXT[:300]) == fitted.score(TEXT[:300])
    assert back.generate("the", 40, random_state=1) == fitted.generate("the", 40, random_state=1)
    assert back.history_.history == fitted.history_.history
    assert (back.best_epoch_, back.unigram_bpc_, back.n_train_chars_) == (
        fitted.best_epoch_, fitted.unigram_bpc_, fitted.n_train_chars_)


def test_fit_is_repeatable_bit_for_bit():
    a = _small(max_epochs=2).fit(TEXT)
    b = _small(max_epochs=2).fit(TEXT)
    for (n, p), (_, q) in zip(a.model_.named_parameters(), b.model_.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=n)


def test_validation_keeps_the_best_epoch():
    lm = _small(max_epochs=4, validation_fraction=0.2).fit(TEXT)
    assert lm.n_val_chars_ == round(0.2 * len(TEXT)) and lm.n_train_chars_ == len(TEXT) - lm.n_val_chars_
    val = lm.history_.history["val_bpc"]
    assert lm.best_epoch_ == int(np.argmin(val)) + 1
    assert lm.val_bpc_ == min(val)


def test_whole_documents_are_held_out():
    docs = [PERIOD * (3 + i % 4) + str(i) for i in range(10)]
    lm = _small(max_epochs=1, validation_fraction=0.2).fit(docs)
    total = sum(len(d) for d in docs)
    assert lm.n_train_chars_ + lm.n_val_chars_ == total
    assert 0.1 * total <= lm.n_val_chars_ <= 0.3 * total
    # every held-out size is a sum of whole documents
    sizes = [len(d) for d in docs]
    sums = {0}
    for s in sizes:
        sums |= {x + s for x in sums}
    assert lm.n_val_chars_ in sums


def test_max_time_stops_in_the_middle_of_an_epoch():
    lm = _small(max_epochs=5, max_time=0).fit(TEXT)
    assert len(lm.history_.epochs) == 1 and len(lm.history_.steps) == 1


def test_steps_per_epoch():
    lm = _small(max_epochs=3, steps_per_epoch=2).fit(TEXT)
    assert len(lm.history_.epochs) == 3 and len(lm.history_.steps) == 6


def test_cosine_schedule_anneals_over_the_step_budget():
    lm = _small(max_epochs=2, steps_per_epoch=5, lr_schedule="cosine").fit(TEXT)
    lr = lm.history_.history["lr"]                 # the rate at the start of each epoch
    assert lr[0] == 1e-2 and lr[1] == pytest.approx(1e-2 * (1 + math.cos(math.pi * 5 / 10)) / 2, rel=1e-12)
    # 'auto' with a time budget anneals too; here the step budget runs out first
    auto = _small(max_epochs=2, steps_per_epoch=5, max_time=1e6).fit(TEXT)
    assert auto.history_.history["lr"][1] == pytest.approx(5e-3, rel=1e-4)
    plain = _small(max_epochs=2, steps_per_epoch=5, lr_schedule="constant").fit(TEXT)
    assert plain.history_.history["lr"] == [1e-2, 1e-2]


def test_text_sources(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text(PERIOD * 10, encoding="utf-8")
    (tmp_path / "d" / "sub" / "b.txt").write_text("x" + PERIOD * 10, encoding="utf-8")
    (tmp_path / "d" / "c.md").write_text("zzzz", encoding="utf-8")
    (tmp_path / "d" / ".hidden.txt").write_text("qqqq", encoding="utf-8")
    folder = _small(max_epochs=1).fit(str(tmp_path / "d"), suffixes=".txt")
    assert folder.n_train_chars_ == 2 * len(PERIOD) * 10 + 1 and "z" not in folder.vocab_
    every = _small(max_epochs=1).fit(tmp_path / "d")                    # a Path, every file
    assert "z" in every.vocab_ and "q" not in every.vocab_
    one = _small(max_epochs=1).fit([str(tmp_path / "d" / "a.txt"), "more text here"])
    assert one.n_train_chars_ == len(PERIOD) * 10 + len("more text here")
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"ab\r\ncd\rx" * 10)
    lm = _small(max_epochs=1, bptt=4).fit(crlf)
    assert "\r" not in lm.vocab_ and "\n" in lm.vocab_


def test_bad_files(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"fine line\nsecond line\ncaf\xe9\n")
    with pytest.raises(FileFormatError, match=r"latin1.txt, line 3: not utf-8"):
        _small().fit(bad)
    with pytest.raises(FileNotFoundError, match="no such file"):
        _small().fit(tmp_path / "missing.txt")
    with pytest.raises(FileNotFoundError, match="no such file or folder: corpus/inptu.txt"):
        _small().fit(["corpus/inptu.txt"])             # a mistyped path is not learned as text
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(ValueError, match="has no files"):
        _small().fit(tmp_path / "empty_dir")


def test_bad_input(fitted, tmp_path):
    with pytest.raises(ValueError, match="text is empty"):
        _small().fit("")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="text is empty"):
        _small().fit([str(empty), ""])
    with pytest.raises(ValueError, match=r"fewer than bptt \+ 1 = 23"):
        _small().fit("short text")
    with pytest.raises(TypeError, match="text must be a str"):
        _small().fit(123)
    with pytest.raises(ValueError, match=r"prime has characters never seen in training: \['Q', '€'\]"):
        fitted.generate("Q€", 5)
    with pytest.raises(ValueError, match="at least 2 characters"):
        fitted.score("t")
    with pytest.raises(NotFittedError):
        CharLM().score("abc")
    with pytest.raises(ValueError, match="bptt must be >= 1"):
        _small(bptt=0).fit(TEXT)
    with pytest.raises(ValueError, match="temperature must be in"):
        fitted.generate("the", 5, temperature=-1)


def test_docstring_example_runs():
    res = doctest.testmod(charlm_module)
    assert res.attempted > 0 and res.failed == 0
