"""Many documents packed into ``B`` parallel streams for truncated BPTT, a fresh state for each.

A document of ``S_i`` steps takes ``ceil(S_i / k)`` windows of one stream; the documents are
dealt to the streams longest first, each to the stream with the fewest windows so far, and a
stream runs its documents one after the other::

    stream 0:  doc 3 (w0 w1 w2)  doc 0 (w3)
    stream 1:  doc 1 (w0 w1)     doc 4 (w2 w3)
    stream 2:  doc 2 (w0 w1)     doc 5 (w2)          <- no window w3: the batch shrinks to 2

Every document starts at a window boundary, with ``reset`` set for its stream (the state
of that stream starts from zero there, see :mod:`rnnkit.train.carry`); its last window is
padded, and ``lengths`` gives each stream's real steps, so padded steps count in no loss or
metric. The streams are ordered by their number of windows, so the streams of a window
are always the first ``B'``. This way short documents (fewer steps than ``B``, or than ``k``)
train in parallel instead of each being cut into ``B`` streams of its own; a document much
shorter than ``k`` leaves the rest of its window as padding.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

import numpy as np

__all__ = ["assign_streams", "document_windows", "count_windows"]


def assign_streams(sizes: list[int], B: int, k: int) -> list[list[int]]:
    """Document indices per stream (longest-first to the least loaded), streams by load, largest first."""
    windows = [-(-s // k) for s in sizes]
    order = sorted(range(len(sizes)), key=lambda i: (-windows[i], i))
    heap = [(0, b) for b in range(min(B, len(sizes)))]
    streams: list[list[int]] = [[] for _ in heap]
    for i in order:
        load, b = heapq.heappop(heap)
        streams[b].append(i)
        heapq.heappush(heap, (load + windows[i], b))
    loads = [sum(windows[i] for i in s) for s in streams]
    return [streams[b] for b in sorted(range(len(streams)), key=lambda b: (-loads[b], b))]


def count_windows(sizes: list[int], B: int, k: int) -> int:
    """How many windows (optimizer steps) one pass over the documents takes."""
    windows = [-(-s // k) for s in sizes]
    return max(sum(windows[i] for i in s) for s in assign_streams(sizes, B, k))


def document_windows(pairs: list[tuple[np.ndarray, np.ndarray]], B: int, k: int) -> Iterator[dict]:
    """Yield ``{"x": (B', k', ...), "y": (B', k', ...), "lengths": (B',) or None, "reset": ...}``.

    ``pairs`` are ``(x (S_i, ...), y (S_i, ...))`` per document; ``reset`` is True (every
    stream starts a document), False, or a ``(B',)`` bool array.
    """
    segments = []                         # per stream: (document, start, stop) of each window
    for docs in assign_streams([x.shape[0] for x, _ in pairs], B, k):
        segments.append([(i, s, min(s + k, pairs[i][0].shape[0])) for i in docs
                         for s in range(0, pairs[i][0].shape[0], k)])
    x0, y0 = pairs[0]
    for w in range(len(segments[0])):
        active = [seg[w] for seg in segments if len(seg) > w]    # the first B' streams
        sizes = np.array([stop - start for _, start, stop in active])
        T = int(sizes.max())
        x = np.zeros((len(active), T) + x0.shape[1:], x0.dtype)  # (B', k', ...)
        y = np.zeros((len(active), T) + y0.shape[1:], y0.dtype)
        for b, (i, start, stop) in enumerate(active):
            x[b, : stop - start] = pairs[i][0][start:stop]
            y[b, : stop - start] = pairs[i][1][start:stop]
        reset = np.array([start == 0 for _, start, _ in active])
        yield {"x": x, "y": y, "lengths": None if np.all(sizes == T) else sizes,
               "reset": True if reset.all() else (reset if reset.any() else False)}
