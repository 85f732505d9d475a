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

from rnnkit.kernels import gru_ref, rnn_ref

fast = pytest.importorskip("rnnkit.kernels.fast")
from rnnkit.kernels.fast import _pool, gru, rnn  # noqa: E402

# (T, B, H): B * H at least 2 * MIN_CELLS_PER_THREAD so that two threads are used;
# odd batch sizes give ranges of different sizes
SHAPES = [(4, 9, 64), (3, 33, 20), (5, 2, 300), (2, 64, 24)]
POOL = _pool.threads_for(64, 64 * 64) > 1
needs_pool = pytest.mark.skipif(not POOL, reason="OpenBLAS pool with two threads not available here")


def _f32(a):
    return a.astype(np.float32)


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _worst_error(got, want):
    """Largest |got - want| of each array, relative to the array's largest |want|."""
    return [float(np.abs(g - w).max() / max(np.abs(w).max(), 1e-30)) for g, w in zip(got, want)]


def _check(monkeypatch, run, args, d_args, want):
    """Run serial and row-split; both against the float64 ``want``. Returns the row-split arrays."""
    monkeypatch.setenv("RNNKIT_POOL", "0")
    serial = run(args, d_args)
    monkeypatch.setenv("RNNKIT_POOL", "1")
    split = run(args, d_args)
    assert len(want) == len(serial) == len(split)
    for g, w in zip(split, want):
        assert g.shape == w.shape and g.dtype == np.float32
    err_split, err_serial = _worst_error(split, want), _worst_error(serial, want)
    for e_split, e_serial in zip(err_split, err_serial):
        assert e_split <= 1e-5, (err_split, err_serial)
        assert e_split <= 4 * e_serial + 1e-6, (err_split, err_serial)
    return split


def _lengths(rng, T, B, on):
    return np.sort(rng.integers(1, T + 1, B))[::-1].copy() if on else None


def _rnn_run(args, d_args, keep=True):
    x_proj, W_hh, h0, lens, reverse, act = args
    out, h, cache = rnn.rnn_forward(_f32(x_proj), _f32(W_hh), _f32(h0), lens, reverse, act, keep)
    if not keep:
        return [out, h]
    grads = rnn.rnn_backward(_f32(d_args[0]), _f32(d_args[1]), _f32(W_hh), cache)
    return [out, h, cache[0], cache[1], *grads]


def _gru_run(args, d_args, keep=True):
    x_proj, W_hh, b_hn, h0, lens, reverse, reset_after = args
    out, h, cache = gru.gru_forward(_f32(x_proj), _f32(W_hh), _f32(b_hn), _f32(h0), lens, reverse, reset_after, keep)
    if not keep:
        return [out, h]
    grads = gru.gru_backward(_f32(d_args[0]), _f32(d_args[1]), _f32(W_hh), cache)
    return [out, h, *cache[:3], *grads]


def _rnn_case(shape, act, lengths, reverse):
    T, B, H = shape
    rng = _rng("rnn", shape, act, lengths, reverse)
    args = (rng.standard_normal((T, B, H)), rng.standard_normal((H, H)) / np.sqrt(H), rng.standard_normal((B, H)),
            _lengths(rng, T, B, lengths), reverse, act)
    return args, (rng.standard_normal((T, B, H)), rng.standard_normal((B, H)))


def _gru_case(shape, reset_after, lengths, reverse):
    T, B, H = shape
    rng = _rng("gru", shape, reset_after, lengths, reverse)
    args = (rng.standard_normal((T, B, 3 * H)), rng.standard_normal((3 * H, H)) / np.sqrt(H), rng.standard_normal(H),
            rng.standard_normal((B, H)), _lengths(rng, T, B, lengths), reverse, reset_after)
    return args, (rng.standard_normal((T, B, H)), rng.standard_normal((B, H)))


def _check_padding(split, lens, n_grad):
    """Steps past a row's length: output and input gradient exactly zero."""
    out, d_x_proj = split[0], split[n_grad]
    for b in range(out.shape[1]):
        assert not out[lens[b]:, b].any()
        assert not d_x_proj[lens[b]:, b].any()


@needs_pool
@pytest.mark.parametrize("shape,act,lengths,reverse", list(itertools.product(SHAPES, rnn_ref.ACTIVATIONS,
                                                                             (False, True), (False, True))))
def test_row_split_rnn_equals_reference(monkeypatch, shape, act, lengths, reverse):
    T, B, H = shape
    assert _pool.threads_for(B, B * H) > 1
    args, d_args = _rnn_case(shape, act, lengths, reverse)
    out, h, cache = rnn_ref.rnn_forward(*args, True)          # float64
    want = [out, h, cache[0], cache[1], *rnn_ref.rnn_backward(*d_args, args[1], cache)]
    split = _check(monkeypatch, _rnn_run, args, d_args, want)
    if lengths:
        _check_padding(split, args[3], 4)


@needs_pool
@pytest.mark.parametrize("shape,reset_after,lengths,reverse", list(itertools.product(SHAPES, (True, False),
                                                                                     (False, True), (False, True))))
def test_row_split_gru_equals_reference(monkeypatch, shape, reset_after, lengths, reverse):
    T, B, H = shape
    assert _pool.threads_for(B, B * H) > 1
    args, d_args = _gru_case(shape, reset_after, lengths, reverse)
    out, h, cache = gru_ref.gru_forward(*args, True)          # float64
    gates = cache[1].reshape(T, B, 3, H)
    want = [out, h, cache[0], gates, cache[2], *gru_ref.gru_backward(*d_args, args[1], cache)]
    split = _check(monkeypatch, _gru_run, args, d_args, want)
    if lengths:
        _check_padding(split, args[4], 5)


@needs_pool
@pytest.mark.parametrize("act,lengths,reverse", list(itertools.product(rnn_ref.ACTIVATIONS, (False, True),
                                                                       (False, True))))
def test_row_split_rnn_inference_without_cache_equals_cached(monkeypatch, act, lengths, reverse):
    monkeypatch.setenv("RNNKIT_POOL", "1")
    args, d_args = _rnn_case((6, 17, 48), act, lengths, reverse)
    for a, b in zip(_rnn_run(args, d_args, keep=True)[:2], _rnn_run(args, d_args, keep=False)):
        np.testing.assert_array_equal(a, b)


@needs_pool
@pytest.mark.parametrize("reset_after,lengths,reverse", list(itertools.product((True, False), (False, True),
                                                                               (False, True))))
def test_row_split_gru_inference_without_cache_equals_cached(monkeypatch, reset_after, lengths, reverse):
    monkeypatch.setenv("RNNKIT_POOL", "1")
    args, d_args = _gru_case((6, 17, 48), reset_after, lengths, reverse)
    for a, b in zip(_gru_run(args, d_args, keep=True)[:2], _gru_run(args, d_args, keep=False)):
        np.testing.assert_array_equal(a, b)


def test_float64_and_small_batches_take_the_serial_path(monkeypatch):
    """float64 never uses the pool; a batch of one row cannot be split."""
    monkeypatch.setenv("RNNKIT_POOL", "1")
    assert _pool.split_threads(np.float64, 64, 512) == 1
    assert _pool.split_threads(np.float32, 1, 4096) == 1
    args, d_args = _rnn_case((3, 1, 40), "tanh", False, False)
    out, h, cache = rnn_ref.rnn_forward(*args, True)
    got = rnn.rnn_forward(*args, True)
    np.testing.assert_allclose(got[0], out, rtol=1e-12, atol=1e-12)
