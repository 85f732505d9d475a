"""fit on streams of batches (lists, generators, callables), steps_per_epoch, max_steps, val_every,
stopping inside an epoch; fit_tbptt on packed documents and on pre-cut strips. The expected
numbers come from hand-written training loops and from each sequence run alone."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnkit import nn, no_grad, optim
from rnnkit.models import SequenceModel
from rnnkit.train import Callback, ModelCheckpoint, fit, fit_tbptt, load_checkpoint_model
from test_fit import WeightLog


def model(seed=0, dtype=np.float64, **kw):
    return SequenceModel(2, 5, 1, cell="gru", output="last", dtype=dtype, rng=seed, **kw)


def batch(rng, B=4, T=5):
    x = rng.standard_normal((B, T, 2))
    return x, x[:, :, :1].sum(axis=1) / 3                             # (B, T, 2), (B, 1)


def hand_loop(m, batches, opt=None):
    """The training fit should do: zero_grad, forward, loss, backward, optimizer step (SGD by default)."""
    opt = optim.SGD(m.parameters(), lr=0.05) if opt is None else opt
    crit, losses = nn.MSELoss(), []
    for x, y in batches:
        m.zero_grad()
        pred, _ = m(x)
        losses.append(crit(pred, y))
        m.backward(crit.backward())
        opt.step()
    return losses


def same_weights(a, b):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)


# -- streams of batches -----------------------------------------------------------------------
def test_a_list_of_batches_is_iterated_each_epoch_as_a_hand_loop():
    rng = np.random.default_rng(0)
    batches = [batch(rng) for _ in range(3)]
    m, ref = model(), model()
    hist = fit(m, batches, loss="mse", optimizer=optim.SGD(m.parameters(), lr=0.05), epochs=2, progress=False)
    assert hist.steps == hand_loop(ref, batches * 2)
    same_weights(ref, m)
    assert [e["batches"] for e in hist.epochs] == [3, 3] and all(e["complete"] for e in hist.epochs)


def test_a_generator_gives_fresh_batches_every_step():
    def fresh(seed):
        rng = np.random.default_rng(seed)
        while True:
            yield batch(rng)

    m, ref = model(), model()
    hist = fit(m, fresh(1), loss="mse", optimizer=optim.SGD(m.parameters(), lr=0.05), epochs=3, steps_per_epoch=4,
               progress=False)
    assert hist.steps == hand_loop(ref, itertools.islice(fresh(1), 12))    # one stream shared by the epochs
    assert len(hist) == 3 and [e["batches"] for e in hist.epochs] == [4, 4, 4]
    same_weights(ref, m)


def test_a_callable_gets_the_epoch_number_and_resumes_exactly(tmp_path):
    def per_epoch(epoch):
        rng = np.random.default_rng(100 + epoch)
        return [batch(rng) for _ in range(3)]

    def run(m, epochs, resume=None):
        return fit(m, per_epoch, loss="mse", optimizer=optim.Adam(m.parameters(), lr=1e-2), epochs=epochs,
                   callbacks=[ModelCheckpoint(tmp_path / "s.npz")], progress=False, resume=resume)

    ref = model()
    expected = hand_loop(ref, [b for e in (1, 2, 3, 4) for b in per_epoch(e)], optim.Adam(ref.parameters(), lr=1e-2))
    full = run(model(), 4)
    assert full.steps == expected
    run(model(), 2)
    resumed = run(model(seed=9), 4, resume=tmp_path / "s.npz")
    assert resumed.steps == expected


def test_dict_batches_with_lengths_mask_the_padding():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 6, 2))
    L = np.array([6, 2, 4])
    y = np.cumsum(x[..., :1], axis=1)                                  # (3, 6, 1) per-step targets
    y_junk = y.copy()
    for b, n in enumerate(L):
        y_junk[b, n:] = 1e6
    m = SequenceModel(2, 4, 1, cell="lstm", dtype=np.float64, rng=3)
    hist = fit(m, [{"x": x, "y": y_junk, "lengths": L}], loss="mse", optimizer=optim.SGD(m.parameters(), lr=0.0),
               progress=False)
    with no_grad():
        sq = np.concatenate([((m(x[b:b + 1, :n])[0] - y[b:b + 1, :n]) ** 2).ravel() for b, n in enumerate(L)])
    assert hist.steps[0] == pytest.approx(sq.mean(), rel=1e-12)


def test_a_one_shot_iterator_that_runs_out_ends_training():
    rng = np.random.default_rng(4)
    m = model()
    with pytest.warns(RuntimeWarning, match="no batches for epoch 4"):
        hist = fit(m, iter([batch(rng) for _ in range(7)]), loss="mse", epochs=5, steps_per_epoch=3, progress=False)
    assert [e["batches"] for e in hist.epochs] == [3, 3, 1] and len(hist.steps) == 7
    with pytest.warns(RuntimeWarning, match="one-shot iterator is used up by one pass"):
        hist = fit(model(), iter([batch(rng) for _ in range(2)]), loss="mse", epochs=2, progress=False)
    assert len(hist) == 1


def test_no_batches_at_all_is_refused_before_anything():
    m = model()
    before = m.state_dict()
    with pytest.raises(ValueError, match="gave no batches"):
        fit(m, [], loss="mse", progress=False)
    same_weights_dict(m, before)


def same_weights_dict(m, state):
    for name, p in m.named_parameters():
        np.testing.assert_array_equal(p.data, state[name], err_msg=name)


def test_a_bad_later_batch_is_refused_before_its_step():
    rng = np.random.default_rng(5)
    good = [batch(rng) for _ in range(2)]
    x, y = batch(rng)
    log = WeightLog()
    m = model()
    with pytest.raises(ValueError, match="epoch 1, batch 3: Y must have 4 examples"):
        fit(m, good + [(x, y[:3])], loss="mse", callbacks=[log], progress=False)
    same_weights_dict(m, log.after[-1])
    with pytest.raises(ValueError, match=r"batch 2: lengths\[1\] is 0"):
        fit(model(), [good[0], (x, y, np.array([5, 0, 3, 2]))], loss="mse", progress=False)


def test_the_first_batch_of_a_stream_gets_a_dry_run():
    rng = np.random.default_rng(6)
    m = model()
    before = m.state_dict()
    with pytest.raises(ValueError, match="the first batch: bpc"):     # bpc needs class ids, the targets are reals
        fit(m, [batch(rng)], loss="mse", metrics=["bpc"], progress=False)
    same_weights_dict(m, before)


# -- stopping inside an epoch, validating every N steps -----------------------------------------
def arrays(n=40, seed=7):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5, 2))
    return X, X[:, :, :1].sum(axis=1) / 3


def test_max_steps_stops_inside_an_epoch():
    X, Y = arrays()
    m, ref = model(), model()
    hist = fit(m, (X, Y), loss="mse", optimizer=optim.SGD(m.parameters(), lr=0.05), batch_size=8, shuffle=False,
               max_steps=7, progress=False)
    assert hist.steps == hand_loop(ref, [(X[i:i + 8], Y[i:i + 8]) for i in (0, 8, 16, 24, 32, 0, 8)])
    same_weights(ref, m)
    first, second = hist.epochs
    assert (first["batches"], first["complete"], second["batches"], second["complete"]) == (5, True, 2, False)
    assert second["loss"] == pytest.approx(np.mean(hist.steps[5:]), rel=1e-12)     # the 2 batches it ran


def test_a_callback_stops_inside_an_epoch_and_the_partial_epoch_is_logged_honestly(tmp_path):
    X, Y = arrays()
    Xv, Yv = arrays(6, seed=8)

    class StopAt(Callback):
        def __init__(self):
            self.ended = []

        def on_batch_end(self, trainer, step, logs):
            if step == 3:
                trainer.stop_training = True

        def on_epoch_end(self, trainer, epoch, logs):
            self.ended.append(dict(logs))

    stop = StopAt()
    m = model()
    hist = fit(m, (X, Y), loss="mse", epochs=4, batch_size=8, rng=0, val_data=(Xv, Yv), progress=False,
               callbacks=[stop, ModelCheckpoint(tmp_path / "c.npz")])
    assert len(hist.steps) == 3 and len(hist) == 1
    log = hist.epochs[0]
    assert (log["batches"], log["complete"]) == (3, False) and stop.ended == [log]
    with no_grad():
        m.eval()
        assert log["val_loss"] == pytest.approx(float(np.mean((m(Xv)[0] - Yv) ** 2)), rel=1e-12)   # after step 3
    same_weights(m, load_checkpoint_model(tmp_path / "c.npz"))         # the partial epoch was checkpointed


def test_a_run_resumed_after_max_steps_goes_on_with_the_next_epoch(tmp_path):
    X, Y = arrays()

    def run(m, max_steps, resume=None):
        return fit(m, (X, Y), loss="mse", optimizer=optim.SGD(m.parameters(), lr=0.05), batch_size=8, shuffle=False,
                   max_steps=max_steps, callbacks=[ModelCheckpoint(tmp_path / "m.npz")], progress=False,
                   resume=resume)

    first = model()
    run(first, 7)
    same_weights(first, load_checkpoint_model(tmp_path / "m.npz"))     # written at the partial epoch's end
    resumed = run(model(seed=5), 12, resume=tmp_path / "m.npz")
    assert [(e["epoch"], e["batches"], e["complete"]) for e in resumed.epochs] == [(1, 5, True), (2, 2, False),
                                                                                 (3, 5, True)]
    ref = model()
    batches = [(X[i:i + 8], Y[i:i + 8]) for i in range(0, 40, 8)]
    assert resumed.steps == hand_loop(ref, batches + batches[:2] + batches)   # the rest of epoch 2 is not visited


def test_val_every_logs_validations_with_their_step():
    X, Y = arrays(24)
    Xv, Yv = arrays(5, seed=9)
    hand = {}

    class HandValidation(Callback):
        def on_batch_end(self, trainer, step, logs):
            if step % 2 == 0:
                with no_grad():
                    trainer.model.eval()
                    hand[step] = float(np.mean((trainer.model(Xv)[0] - Yv) ** 2))
                    trainer.model.train()

    m = model()
    hist = fit(m, (X, Y), loss="mse", epochs=2, batch_size=8, rng=0, val_data=(Xv, Yv), val_every=2,
               metrics=["mae"], callbacks=[HandValidation()], progress=False)
    assert [v["step"] for v in hist.validations] == [2, 4, 6]
    assert [v["epoch"] for v in hist.validations] == [1, 2, 2]
    for v in hist.validations:
        assert v["val_loss"] == pytest.approx(hand[v["step"]], rel=1e-12) and "val_mae" in v
    assert hist.epochs[1]["val_loss"] == hist.validations[2]["val_loss"]     # step 6 ends epoch 2: shared


# -- truncated BPTT on documents and strips -------------------------------------------------------
def per_step_errors(m, x, y):
    """Squared errors of one sequence run alone from the zero state: (S,)."""
    with no_grad():
        out, _ = m(x[None])
    return ((out[0] - y) ** 2).ravel()


def test_documents_are_packed_into_streams_with_fresh_states():
    rng = np.random.default_rng(10)
    sizes = [9, 7, 5, 4, 3, 2]
    docs = [rng.standard_normal((s, 2)) for s in sizes]
    tgts = [np.cumsum(d[:, :1], axis=0) * 0.3 for d in docs]
    m = SequenceModel(2, 4, 1, cell="lstm", dtype=np.float64, rng=11)
    hist = fit_tbptt(m, docs, tgts, k=4, batch_size=2, loss="mse", layout="documents",
                     optimizer=optim.SGD(m.parameters(), lr=0.0), progress=False)
    err = [per_step_errors(m, d, t) for d, t in zip(docs, tgts)]
    # longest first to the stream with fewer windows: stream 0 runs docs 0, 3, 4; stream 1 docs 1, 2, 5
    plan = [[(0, 0, 4), (1, 0, 4)], [(0, 4, 8), (1, 4, 7)], [(0, 8, 9), (2, 0, 4)],
            [(3, 0, 4), (2, 4, 5)], [(4, 0, 3), (5, 0, 2)]]
    expected = [np.concatenate([err[d][a:b] for d, a, b in w]).mean() for w in plan]
    np.testing.assert_allclose(hist.steps, expected, rtol=1e-12)
    assert hist["loss"][0] == pytest.approx(np.concatenate(err).mean(), rel=1e-12)


def test_next_step_documents_shorter_than_the_batch():
    ids = [np.array([1, 2, 3]), np.array([4, 1]), np.array([2, 2, 4, 1, 3])]
    m = SequenceModel(3, 4, 5, cell="gru", num_embeddings=5, dtype=np.float64, rng=12)
    hist = fit_tbptt(m, ids, k=8, batch_size=8, loss="cross_entropy", layout="documents",
                     optimizer=optim.SGD(m.parameters(), lr=0.0), val_data=ids[:2], progress=False)
    with no_grad():
        nll = []
        for d in ids:
            logits = m(d[None, :-1])[0][0]                              # (S-1, V)
            z = logits - logits.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            nll.append(-logp[np.arange(len(d) - 1), d[1:]])
    assert len(hist.steps) == 1                                         # the three documents side by side
    assert hist.steps[0] == pytest.approx(np.concatenate(nll).mean(), rel=1e-12)
    assert hist["val_loss"][0] == pytest.approx(np.concatenate(nll[:2]).mean(), rel=1e-12)


def test_strips_are_used_as_given():
    rng = np.random.default_rng(13)
    x = rng.standard_normal((3, 10, 2))                                 # (B, S, I): three streams
    y = np.cumsum(x[..., :1], axis=1) * 0.2
    m = SequenceModel(2, 3, 1, cell="gru", dtype=np.float64, rng=14)
    hist = fit_tbptt(m, x, y, k=4, loss="mse", layout="strips", optimizer=optim.SGD(m.parameters(), lr=0.0),
                     reset_every=2, progress=False)
    with no_grad():
        full = (m(x[:, :8])[0] - y[:, :8]) ** 2                         # windows 0, 1 carry the state
        fresh = (m(x[:, 8:])[0] - y[:, 8:]) ** 2                        # window 2 starts anew (reset_every=2)
    np.testing.assert_allclose(hist.steps, [full[:, :4].mean(), full[:, 4:].mean(), fresh.mean()], rtol=1e-12)


def test_a_split_validation_set_shorter_than_the_batch_works():
    x = np.random.default_rng(15).standard_normal((40, 2))
    y = np.cumsum(x[:, :1], axis=0) * 0.1
    m = SequenceModel(2, 3, 1, cell="rnn", dtype=np.float64, rng=16)
    hist = fit_tbptt(m, x, y, k=5, batch_size=8, loss="mse", val_data=(x[:5], y[:5]),
                     optimizer=optim.SGD(m.parameters(), lr=0.0), progress=False)
    with no_grad():                                                     # 5 steps -> 5 streams of one step
        one = ((m(x[:5, None])[0][:, 0] - y[:5]) ** 2).ravel()
    assert hist["val_loss"][0] == pytest.approx(one.mean(), rel=1e-12)
