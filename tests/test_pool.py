"""Row-parallel step passes on OpenBLAS's threads (rnnkit.kernels.fast._pool).

The parallel LSTM kernels give the same bits as the serial ones (the rows of a step are
split, the arithmetic per element is the same code) and equal the NumPy reference, with
lengths, both directions and a projection; the pool respects OpenBLAS's thread limit.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnkit.kernels import lstm_ref

fast = pytest.importorskip("rnnkit.kernels.fast")
from rnnkit.kernels.fast import _pool, lstm  # noqa: E402

# (T, B, H): B * H at least 2 * MIN_CELLS_PER_THREAD so that two threads are used;
# odd batch sizes give ranges of different sizes
SHAPES = [(4, 9, 64), (3, 33, 20), (5, 2, 300), (2, 64, 24)]
POOL = _pool.threads_for(64, 64 * 64) > 1
needs_pool = pytest.mark.skipif(not POOL, reason="OpenBLAS pool with two threads not available here")


def _run(monkeypatch, use_pool, args, d_args):
    monkeypatch.setenv("RNNKIT_POOL", "1" if use_pool else "0")
    out, h, c, cache = lstm.lstm_forward(*args)
    grads = lstm.lstm_backward(*d_args, args[1], args[2], cache)
    return [out, h, c, *cache[:4], *(g for g in grads if g is not None)]


@needs_pool
@pytest.mark.parametrize("shape,lengths,reverse,proj", list(itertools.product(SHAPES, (False, True), (False, True),
                                                                                (False, True))))
def test_pool_equals_serial_bitwise_and_reference(monkeypatch, shape, lengths, reverse, proj):
    T, B, H = shape
    assert _pool.threads_for(B, B * H) > 1
    rng = np.random.default_rng(abs(hash((shape, lengths, reverse, proj))) % 2**32)
    f32 = np.float32
    P = max(1, H // 3) if proj else H
    x_proj = rng.standard_normal((T, B, 4 * H)).astype(f32)
    W_hh = (rng.standard_normal((4 * H, P)) / np.sqrt(P)).astype(f32)
    W_hr = (rng.standard_normal((P, H)) / np.sqrt(H)).astype(f32) if proj else None
    bias = rng.standard_normal(4 * H).astype(f32)
    h0, c0 = rng.standard_normal((B, P)).astype(f32), rng.standard_normal((B, H)).astype(f32)
    lens = np.sort(rng.integers(1, T + 1, B))[::-1].copy() if lengths else None
    d_out = rng.standard_normal((T, B, P)).astype(f32)
    dh_n, dc_n = rng.standard_normal((B, P)).astype(f32), rng.standard_normal((B, H)).astype(f32)
    args = (x_proj, W_hh, W_hr, h0, c0, lens, reverse, True, bias)
    serial = _run(monkeypatch, False, args, (d_out, dh_n, dc_n))
    parallel = _run(monkeypatch, True, args, (d_out, dh_n, dc_n))
    assert len(serial) == len(parallel)
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)
    want = lstm_ref.lstm_forward(x_proj + bias, W_hh, W_hr, h0, c0, lens, reverse, True)
    for a, b in zip(want[:3], parallel[:3]):
        np.testing.assert_allclose(b, a, rtol=2e-5, atol=2e-5)
    want_grads = lstm_ref.lstm_backward(d_out, dh_n, dc_n, W_hh, W_hr, want[3])
    for a, b in zip((g for g in want_grads if g is not None), parallel[7:]):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(a).max())))


@needs_pool
def test_pool_inference_without_cache_equals_serial(monkeypatch):
    rng = np.random.default_rng(5)
    T, B, H = 6, 17, 48
    x_proj = rng.standard_normal((T, B, 4 * H)).astype(np.float32)
    W_hh = (rng.standard_normal((4 * H, H)) / 7).astype(np.float32)
    h0 = np.zeros((B, H), np.float32)
    res = []
    for use in ("0", "1"):
        monkeypatch.setenv("RNNKIT_POOL", use)
        res.append(lstm.lstm_forward(x_proj, W_hh, None, h0, h0, None, False, False, None)[:3])
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


def test_threads_for_small_work_and_switch(monkeypatch):
    assert _pool.threads_for(1, 10_000) == 1                  # one row cannot be split
    assert _pool.threads_for(64, _pool.MIN_CELLS_PER_THREAD) == 1
    monkeypatch.setenv("RNNKIT_POOL", "0")
    assert _pool.threads_for(64, 64 * 512) == 1


@needs_pool
def test_threads_for_respects_openblas_thread_limit():
    set_threads = _pool._lib.scipy_openblas_set_num_threads64_
    before = _pool._get_threads()
    set_threads(1)
    try:
        assert _pool.threads_for(64, 64 * 512) == 1
    finally:
        set_threads(before)
    assert _pool.threads_for(64, 64 * 512) == min(before, int(_pool._pool_size.value), 64)
