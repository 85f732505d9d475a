"""Row-split vanilla RNN and GRU sequences on OpenBLAS's threads (rnnkit.kernels.fast._pool).

The row-split float32 kernels equal the float64 NumPy reference as closely as the serial
float32 kernels do, for every activation and both GRU reset forms, with lengths and both
directions, forward (outputs, final state, cache) and backward (every gradient); without a
cache (inference) they give the cached outputs.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

from kernel_cases import problem, run
from rnnkit.kernels.rnn_ref import ACTIVATIONS

fast = pytest.importorskip("rnnkit.kernels.fast")
from rnnkit.kernels.fast import _pool  # noqa: E402

# (T, B, H): B * H at least 2 * MIN_CELLS_PER_THREAD so that two threads are used;
# odd batch sizes give ranges of different sizes
SHAPES = [(4, 9, 64), (3, 33, 20), (5, 2, 300), (2, 64, 24)]
POOL = _pool.threads_for(64, 64 * 64) > 1
needs_pool = pytest.mark.skipif(not POOL, reason="OpenBLAS pool with two threads not available here")


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _worst_error(got, want):
    """Largest |got - want| of each array, relative to the array's largest |want|."""
    return {k: float(np.abs(got[k] - want[k]).max() / max(np.abs(want[k]).max(), 1e-30))
            for k in want if want[k] is not None}


def _check(monkeypatch, p, reverse):
    """Serial and row-split float32 against the float64 reference. Returns the row-split arrays."""
    want = run(p, "numpy", reverse)
    p32 = p.astype(np.float32)
    monkeypatch.setenv("RNNKIT_POOL", "0")
    serial = run(p32, "numba", reverse)
    monkeypatch.setenv("RNNKIT_POOL", "1")
    split = run(p32, "numba", reverse)
    assert list(want) == list(serial) == list(split)
    for k, g in split.items():
        assert g is None or (g.shape == want[k].shape and g.dtype == np.float32), k
    err_split, err_serial = _worst_error(split, want), _worst_error(serial, want)
    for k in err_split:
        assert err_split[k] <= 1e-5, (k, err_split, err_serial)
        assert err_split[k] <= 4 * err_serial[k] + 1e-6, (k, err_split, err_serial)
    if p.lengths is not None:                                 # padded steps: zero output and input gradient
        for b in range(p.x.shape[1]):
            assert not split["out"][p.lengths[b]:, b].any()
            assert not split["dx"][p.lengths[b]:, b].any()
    return split


def _case(kind, shape, lengths, key, **options):
    T, B, H = shape
    return problem(kind, T, B, 11, H, _rng(kind, shape, lengths, key), lengths=lengths, recurrent=1 / np.sqrt(H),
                   **options)


@needs_pool
@pytest.mark.parametrize("shape,act,lengths,reverse", list(itertools.product(SHAPES, ACTIVATIONS, (False, True),
                                                                             (False, True))))
def test_row_split_rnn_equals_reference(monkeypatch, shape, act, lengths, reverse):
    T, B, H = shape
    assert _pool.threads_for(B, B * H) > 1
    _check(monkeypatch, _case("RNN", shape, lengths, (act, reverse), nonlinearity=act), reverse)


@needs_pool
@pytest.mark.parametrize("shape,reset_after,lengths,reverse", list(itertools.product(SHAPES, (True, False),
                                                                                     (False, True), (False, True))))
def test_row_split_gru_equals_reference(monkeypatch, shape, reset_after, lengths, reverse):
    T, B, H = shape
    assert _pool.threads_for(B, B * H) > 1
    _check(monkeypatch, _case("GRU", shape, lengths, (reset_after, reverse), reset_after=reset_after), reverse)


@needs_pool
@pytest.mark.parametrize("kind,options,lengths,reverse", [
    (kind, opts, ln, rev) for (kind, opts) in [("RNN", {"nonlinearity": a}) for a in ACTIVATIONS] +
    [("GRU", {"reset_after": r}) for r in (True, False)] for ln, rev in itertools.product((False, True), repeat=2)])
def test_row_split_inference_without_cache_equals_cached(monkeypatch, kind, options, lengths, reverse):
    monkeypatch.setenv("RNNKIT_POOL", "1")
    p = _case(kind, (6, 17, 48), lengths, (reverse, "infer"), **options).astype(np.float32)
    kept, not_kept = run(p, "numba", reverse), run(p, "numba", reverse, keep=False)
    for k in not_kept:
        np.testing.assert_array_equal(kept[k], not_kept[k], err_msg=k)


def test_float64_and_small_batches_take_the_serial_path(monkeypatch):
    """float64 never uses the pool; a batch of one row cannot be split."""
    monkeypatch.setenv("RNNKIT_POOL", "1")
    assert _pool.split_threads(np.float64, 64, 512) == 1
    assert _pool.split_threads(np.float32, 1, 4096) == 1
    p = _case("RNN", (3, 1, 40), False, "serial")
    want, got = run(p, "numpy", False), run(p, "numba", False)
    for k in want:
        if want[k] is None:
            assert got[k] is None, k
        else:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=1e-12, err_msg=k)
