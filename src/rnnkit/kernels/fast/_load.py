"""When a row split stops paying: the decision of :mod:`rnnkit.kernels.fast._pool` to run serially.

A row-split dispatch runs range 0 of the rows in the calling thread and the others on
OpenBLAS's pool threads, and returns when all are done. On an idle machine the ranges end
together; when another process holds a core, the pool thread starts late (it waits for the
scheduler) and the caller waits for it. Each dispatch is measured::

    caller = the time the calling thread spent on its own range (m0 of the rows rows)
    total  = the time of the whole dispatch, in the caller
    gain   = (caller * rows / m0) / total      # estimated serial time / the split's time

``gain`` is about ``nth`` (1.8-1.95 at two threads) when the split works and near or below 1
when the pool thread is late. A :class:`LoadGuard` keeps one decision per work size
(a bucket of ``cells``, the elements of one step):

- *split* (the start): a dispatch with ``gain < keep_gain`` is a loss; ``losses`` losses
  in a row, or one dispatch with ``gain < drop_gain``, switch the bucket to serial.
- *serial* for ``hold`` seconds (no measurement is taken, the kernels run serially and cost
  nothing extra); then *probe*: the next ``probes`` dispatches split again. If they all win,
  the bucket is back to split and its hold is reset to ``min_hold``; if one loses, it is
  serial again for twice the previous hold, at most ``max_hold``.

So a machine that stays busy pays ``probes`` slow dispatches every ``max_hold`` seconds
(a few milliseconds in eight seconds), and a machine that becomes idle again gets its two
threads back within ``max_hold`` seconds. The clock is passed in, so the decisions are
tested without timing anything::

    >>> now = [0.0]
    >>> g = LoadGuard(clock=lambda: now[0])
    >>> [g.record(1, caller=1.0, total=2.0, share=0.5) for _ in range(3)][-1]   # gain 1.0: a loss
    'serial'
    >>> g.split(1), (now.__setitem__(0, 0.3), g.split(1))[1]
    (False, True)
"""

from __future__ import annotations

import threading
import time

__all__ = ["LoadGuard"]


class LoadGuard:
    """Split-or-serial decisions per work-size bucket, from measured dispatches (see module)."""

    def __init__(self, clock=time.monotonic, *, keep_gain: float = 1.15, drop_gain: float = 0.6, losses: int = 3,
                 probes: int = 2, min_hold: float = 0.25, max_hold: float = 8.0):
        if not (drop_gain <= keep_gain and losses >= 1 and probes >= 1 and 0 < min_hold <= max_hold):
            raise ValueError(f"LoadGuard: need drop_gain <= keep_gain, losses >= 1, probes >= 1 and "
                             f"0 < min_hold <= max_hold, got drop_gain={drop_gain}, keep_gain={keep_gain}, "
                             f"losses={losses}, probes={probes}, min_hold={min_hold}, max_hold={max_hold}")
        self.clock = clock
        self.keep_gain, self.drop_gain, self.losses, self.probes = keep_gain, drop_gain, losses, probes
        self.min_hold, self.max_hold = min_hold, max_hold
        self._state: dict[int, list] = {}     # bucket -> [mode, count, serial_until, hold]
        self._lock = threading.Lock()

    def _get(self, bucket: int) -> list:
        s = self._state.get(bucket)
        if s is None:
            s = self._state[bucket] = ["split", 0, 0.0, self.min_hold]
        return s

    def mode(self, bucket: int) -> str:
        """``'split'``, ``'serial'`` or ``'probe'`` (a serial hold has ended) for this bucket now."""
        s = self._get(bucket)
        if s[0] == "serial" and self.clock() >= s[2]:
            with self._lock:
                if s[0] == "serial":
                    s[0], s[1] = "probe", 0
        return s[0]

    def split(self, bucket: int) -> bool:
        """Whether the next dispatch of this bucket should split its rows."""
        return self.mode(bucket) != "serial"

    def record(self, bucket: int, caller: float, total: float, share: float) -> str:
        """One measured split dispatch: the caller's own range took ``caller``, the dispatch
        ``total`` (any unit, the same for both), the caller's range was ``share`` of the rows.
        Returns the bucket's mode after it."""
        gain = (caller / share) / total if total > 0 and share > 0 else float("inf")
        with self._lock:
            s = self._get(bucket)
            if s[0] == "serial":                      # measured by a dispatch that started before the switch
                return s[0]
            if s[0] == "probe":
                if gain < self.keep_gain:
                    self._hold(s, 2 * s[3])
                else:
                    s[1] += 1
                    if s[1] >= self.probes:
                        s[0], s[1], s[3] = "split", 0, self.min_hold
                return s[0]
            if gain < self.drop_gain:
                self._hold(s, s[3])
            elif gain < self.keep_gain:
                s[1] += 1
                if s[1] >= self.losses:
                    self._hold(s, s[3])
            else:
                s[1] = 0
            return s[0]

    def _hold(self, s: list, hold: float) -> None:
        s[3] = min(max(hold, self.min_hold), self.max_hold)
        s[0], s[1], s[2] = "serial", 0, self.clock() + s[3]

    def reset(self) -> None:
        """Forget every decision (all buckets split again)."""
        with self._lock:
            self._state.clear()
