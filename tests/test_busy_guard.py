"""The busy-machine fallback's decisions (rnnkit.kernels.fast._load.LoadGuard), with an
injected clock and hand-made measurements (no timing): gain = (caller / share) / total,
the estimated serial time over the split's time.
"""

from __future__ import annotations

import pytest

from rnnkit.kernels.fast._load import LoadGuard


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _guard(**kw):
    clock = Clock()
    return LoadGuard(clock=clock, **kw), clock


WIN = dict(caller=1.0, total=1.05, share=0.5)      # gain 1.90: both threads worked
LOSS = dict(caller=1.0, total=1.9, share=0.5)      # gain 1.05: the pool thread was late
AWFUL = dict(caller=1.0, total=4.0, share=0.5)     # gain 0.5: far slower than serial


def test_starts_split_and_winning_dispatches_keep_it():
    g, _ = _guard()
    assert g.mode(7) == "split" and g.split(7)
    for _ in range(50):
        assert g.record(7, **WIN) == "split"


def test_three_losses_in_a_row_fall_back_and_a_win_resets_the_count():
    g, _ = _guard(losses=3)
    assert g.record(1, **LOSS) == "split"
    assert g.record(1, **LOSS) == "split"
    assert g.record(1, **WIN) == "split"            # the count starts again
    assert g.record(1, **LOSS) == "split"
    assert g.record(1, **LOSS) == "split"
    assert g.record(1, **LOSS) == "serial"
    assert not g.split(1)


def test_one_awful_dispatch_falls_back_at_once():
    g, _ = _guard()
    assert g.record(1, **AWFUL) == "serial"


def test_gain_uses_the_callers_share_of_rows():
    g, _ = _guard(losses=1, keep_gain=1.15)
    # caller's 1/4 of the rows took 1.0, so serial ~ 4.0; the split took 2.0: gain 2, a win
    assert g.record(1, caller=1.0, total=2.0, share=0.25) == "split"
    # caller's 3/4 of the rows took 1.0, so serial ~ 1.33; the split took 1.25: gain 1.07, a loss
    assert g.record(1, caller=1.0, total=1.25, share=0.75) == "serial"


def test_hold_then_probe_then_back_to_split_after_winning_probes():
    g, clock = _guard(min_hold=0.25, probes=2)
    g.record(3, **AWFUL)
    clock.t = 0.24
    assert g.mode(3) == "serial"
    clock.t = 0.25
    assert g.mode(3) == "probe" and g.split(3)
    assert g.record(3, **WIN) == "probe"
    assert g.record(3, **WIN) == "split"


def test_failed_probe_doubles_the_hold_up_to_the_cap_and_a_success_resets_it():
    g, clock = _guard(min_hold=0.25, max_hold=1.0, probes=1)
    g.record(3, **AWFUL)                              # serial until 0.25
    holds = []
    for _ in range(4):
        start = clock.t
        while g.mode(3) == "serial":
            clock.t += 2 ** -6          # exact in binary: no drift
        holds.append(clock.t - start)
        assert g.record(3, **LOSS) == "serial"       # the probe loses
    assert holds == [0.25, 0.5, 1.0, 1.0]
    clock.t += 1.0
    assert g.split(3)                                # the hold has ended: a probe
    assert g.record(3, **WIN) == "split"             # the probe wins: hold back to min_hold
    g.record(3, **AWFUL)
    start = clock.t
    while g.mode(3) == "serial":
        clock.t += 2 ** -6          # exact in binary: no drift
    assert clock.t - start == 0.25


def test_buckets_are_independent_and_reset_forgets():
    g, _ = _guard()
    g.record(1, **AWFUL)
    assert not g.split(1) and g.split(2)
    g.reset()
    assert g.split(1)


def test_a_measurement_arriving_while_serial_changes_nothing():
    g, clock = _guard(min_hold=0.25)
    g.record(1, **AWFUL)
    assert g.record(1, **WIN) == "serial"
    clock.t = 0.1
    assert g.mode(1) == "serial"


def test_zero_total_counts_as_a_win():
    g, _ = _guard(losses=1)
    assert g.record(1, caller=0.0, total=0.0, share=0.5) == "split"


@pytest.mark.parametrize("kw", [dict(drop_gain=2.0, keep_gain=1.0), dict(losses=0), dict(probes=0),
                                dict(min_hold=0.0), dict(min_hold=2.0, max_hold=1.0)])
def test_bad_settings_raise(kw):
    with pytest.raises(ValueError, match="LoadGuard: need"):
        LoadGuard(**kw)
