"""The load guard inside the row split (rnnkit.kernels.fast._pool.run_rows): while splits do
not pay, the same worker runs on all rows in the calling thread, and its results equal the
two-thread split bit for bit (rows never interact); a split dispatch is measured (the
caller's range within the dispatch, its share of the rows) and reported to the guard.
No timing: the guard is replaced by one with a fixed answer.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from kernel_cases import problem, run

fast = pytest.importorskip("rnnkit.kernels.fast")
from rnnkit.kernels.fast import _pool, _pool_probe  # noqa: E402

POOL = _pool.threads_for(64, 64 * 64) > 1
needs_timed = pytest.mark.skipif(not (POOL and _pool._state["timed"]),
                                 reason="OpenBLAS pool with two threads and measured dispatches not available here")


class FixedGuard:
    """A guard with a fixed answer to ``split`` that keeps what it was asked and told."""

    def __init__(self, split: bool):
        self.answer, self.asked, self.records = split, [], []

    def split(self, bucket):
        self.asked.append(bucket)
        return self.answer

    def record(self, bucket, caller, total, share):
        self.records.append((bucket, caller, total, share))
        return "split"


def _with_guard(monkeypatch, split):
    g = FixedGuard(split)
    monkeypatch.setattr(_pool, "_guard", g)
    monkeypatch.setenv("RNNKIT_POOL", "1")
    return g


CASES = [("LSTM", (5, 9, 64), {}), ("LSTM", (4, 33, 20), {"P": 7}), ("GRU", (5, 9, 64), {}),
         ("GRU", (3, 17, 40), {"reset_after": False}), ("RNN", (5, 9, 64), {}),
         ("RNN", (4, 33, 20), {"nonlinearity": "relu"})]


@needs_timed
@pytest.mark.parametrize("case,lengths,reverse", list(itertools.product(CASES, (False, True), (False, True))))
def test_fallback_on_one_thread_equals_the_split_bit_for_bit(monkeypatch, case, lengths, reverse):
    kind, (T, B, H), options = case
    assert _pool.threads_for(B, B * H) > 1
    rng = np.random.default_rng(abs(hash((case[0], case[1], lengths, reverse))) % 2**32)
    p = problem(kind, T, B, 6, H, rng, lengths=lengths, recurrent=1 / np.sqrt(H), **options).astype(np.float32)
    split_guard = _with_guard(monkeypatch, True)
    split = run(p, "numba", reverse)
    one_guard = _with_guard(monkeypatch, False)
    one = run(p, "numba", reverse)
    assert len(split_guard.records) == 2 and not one_guard.records         # forward and backward measured
    assert len(one_guard.asked) == 2
    assert list(split) == list(one)
    for k in split:
        if split[k] is not None:
            np.testing.assert_array_equal(one[k], split[k], err_msg=k)


@needs_timed
def test_fallback_runs_every_row_in_the_calling_thread(monkeypatch):
    _with_guard(monkeypatch, False)
    rec = np.zeros(8, np.int64)
    _pool.threads_for(6, 6 * 512)
    _pool.run_rows(_pool_probe.probe.address, rec, 6, 2)
    assert rec[1] == 6 and rec[2] == 0 and rec[3] == threading.get_ident()  # one range: all rows, here
    assert not rec[4:].any()                                              # no second range


@needs_timed
def test_split_dispatch_is_measured_with_the_callers_share(monkeypatch):
    g = _with_guard(monkeypatch, True)
    rec = np.zeros(8, np.int64)
    _pool.threads_for(7, 7 * 512)
    _pool.run_rows(_pool_probe.probe.address, rec, 7, 2)
    m0, m1 = int(rec[1]), int(rec[4])
    assert m0 + m1 == 7 and m0 > 0 and m1 > 0 and rec[3] == threading.get_ident()
    [(bucket, caller, total, share)] = g.records
    assert bucket == (_pool_probe.probe.address, (7 * 512).bit_length())
    assert share == m0 / 7
    assert 0 <= caller <= total


@needs_timed
def test_buckets_follow_the_work_size_of_the_last_decision(monkeypatch):
    g = _with_guard(monkeypatch, True)
    rec = np.zeros(8, np.int64)
    for cells in (4 * 512, 4 * 4096):
        _pool.threads_for(4, cells)
        _pool.run_rows(_pool_probe.probe.address, rec, 4, 2)
    addr = _pool_probe.probe.address
    assert g.asked == [(addr, (4 * 512).bit_length()), (addr, (4 * 4096).bit_length())]


def test_serial_switch_bypasses_the_guard(monkeypatch):
    g = _with_guard(monkeypatch, True)
    monkeypatch.setenv("RNNKIT_POOL", "0")
    assert _pool.threads_for(64, 64 * 512) == 1
    p = problem("LSTM", 3, 8, 5, 64, np.random.default_rng(3)).astype(np.float32)
    run(p, "numba", False)
    assert not g.asked and not g.records
