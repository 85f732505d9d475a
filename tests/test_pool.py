"""Row-split sequences on OpenBLAS's threads (rnnkit.kernels.fast._pool) and the packed
product they use (rnnkit.kernels.fast._gemm).

The row-split LSTM kernels equal the float64 NumPy reference as closely as the serial
float32 kernels do, with lengths, both directions and a projection, forward and backward;
the packed product equals NumPy's; the pool respects OpenBLAS's thread limit.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnnkit.kernels import lstm_ref

fast = pytest.importorskip("rnnkit.kernels.fast")
from rnnkit.kernels.fast import _pool, lstm  # noqa: E402
from rnnkit.kernels.fast._gemm import gemm_packed, pack  # noqa: E402

# (T, B, H): B * H at least 2 * MIN_CELLS_PER_THREAD so that two threads are used;
# odd batch sizes give ranges of different sizes
SHAPES = [(4, 9, 64), (3, 33, 20), (5, 2, 300), (2, 64, 24)]
POOL = _pool.threads_for(64, 64 * 64) > 1
needs_pool = pytest.mark.skipif(not POOL, reason="OpenBLAS pool with two threads not available here")


def _run(monkeypatch, use_pool, args, d_args):
    monkeypatch.setenv("RNNKIT_POOL", "1" if use_pool else "0")
    f32 = [None if a is None or isinstance(a, (bool, np.bool_)) or a.dtype.kind == "i" else a.astype(np.float32)
           for a in args[:5]]
    bias = args[8].astype(np.float32)
    out, h, c, cache = lstm.lstm_forward(*f32, args[5], args[6], args[7], bias)
    d32 = [a.astype(np.float32) for a in d_args]
    grads = lstm.lstm_backward(*d32, f32[1], f32[2], cache)
    return [out, h, c, *cache[:4], *(g for g in grads if g is not None)]


def _reference(args, d_args):
    x_proj, W_hh, W_hr, h0, c0, lens, reverse, keep, bias = args
    out, h, c, cache = lstm_ref.lstm_forward(x_proj + bias, W_hh, W_hr, h0, c0, lens, reverse, True)
    T, B, _ = x_proj.shape
    gates = cache[2].reshape(T, B, 4, -1)
    grads = lstm_ref.lstm_backward(*d_args, W_hh, W_hr, cache)
    return [out, h, c, cache[0], cache[1], gates, cache[3], *(g for g in grads if g is not None)]


def _worst_error(got, want):
    """Largest |got - want| of each array, relative to the array's largest |want|."""
    return [float(np.abs(g - w).max() / max(np.abs(w).max(), 1e-30)) for g, w in zip(got, want)]


@needs_pool
@pytest.mark.parametrize("shape,lengths,reverse,proj", list(itertools.product(SHAPES, (False, True), (False, True),
                                                                                (False, True))))
def test_row_split_lstm_equals_reference(monkeypatch, shape, lengths, reverse, proj):
    T, B, H = shape
    assert _pool.threads_for(B, B * H) > 1
    rng = np.random.default_rng(abs(hash((shape, lengths, reverse, proj))) % 2**32)
    P = max(1, H // 3) if proj else H
    x_proj = rng.standard_normal((T, B, 4 * H))
    W_hh = rng.standard_normal((4 * H, P)) / np.sqrt(P)
    W_hr = rng.standard_normal((P, H)) / np.sqrt(H) if proj else None
    bias = rng.standard_normal(4 * H)
    h0, c0 = rng.standard_normal((B, P)), rng.standard_normal((B, H))
    lens = np.sort(rng.integers(1, T + 1, B))[::-1].copy() if lengths else None
    d_args = (rng.standard_normal((T, B, P)), rng.standard_normal((B, P)), rng.standard_normal((B, H)))
    args = (x_proj, W_hh, W_hr, h0, c0, lens, reverse, True, bias)
    want = _reference(args, d_args)                           # float64
    serial = _run(monkeypatch, False, args, d_args)
    split = _run(monkeypatch, True, args, d_args)
    assert len(want) == len(serial) == len(split)
    err_split, err_serial = _worst_error(split, want), _worst_error(serial, want)
    for e_split, e_serial in zip(err_split, err_serial):
        assert e_split <= 1e-5, (err_split, err_serial)
        assert e_split <= 4 * e_serial + 1e-6, (err_split, err_serial)
    if lengths:                                               # steps past a row's length: exactly zero
        for b in range(B):
            assert not split[0][lens[b]:, b].any()


@needs_pool
def test_row_split_inference_without_cache_equals_cached(monkeypatch):
    monkeypatch.setenv("RNNKIT_POOL", "1")
    rng = np.random.default_rng(5)
    T, B, H = 6, 17, 48
    x_proj = rng.standard_normal((T, B, 4 * H)).astype(np.float32)
    W_hh = (rng.standard_normal((4 * H, H)) / 7).astype(np.float32)
    h0 = np.zeros((B, H), np.float32)
    kept = lstm.lstm_forward(x_proj, W_hh, None, h0, h0, None, False, True, None)[:3]
    not_kept = lstm.lstm_forward(x_proj, W_hh, None, h0, h0, None, False, False, None)[:3]
    for a, b in zip(kept, not_kept):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("M,K,N", [(1, 1, 1), (1, 3, 5), (6, 5, 16), (7, 13, 40), (13, 64, 256), (33, 100, 70),
                                   (64, 256, 1024), (5, 17, 33)])
def test_packed_product_equals_numpy(M, K, N):
    rng = np.random.default_rng(M * 1000 + K * 10 + N)
    A = rng.standard_normal((M, K + 3)).astype(np.float32)[:, 2:K + 2]       # a row stride != K
    W = rng.standard_normal((K, N)).astype(np.float32)
    C = np.full((M, N + 5), 7.0, np.float32)
    gemm_packed(A, pack(W), C, N, np.empty((6, 16), np.float32))
    want = A.astype(np.float64) @ W.astype(np.float64)
    np.testing.assert_allclose(C[:, :N], want, rtol=1e-5, atol=1e-5 * np.sqrt(K))
    assert (C[:, N:] == 7.0).all()                            # nothing written past column N


def test_threads_for_small_work_and_switch(monkeypatch):
    assert _pool.threads_for(1, 10_000) == 1                  # one row cannot be split
    assert _pool.threads_for(64, _pool.MIN_CELLS_PER_THREAD) == 1
    monkeypatch.setenv("RNNKIT_POOL", "0")
    assert _pool.threads_for(64, 64 * 512) == 1
    monkeypatch.setenv("RNNKIT_POOL", "off")
    with pytest.raises(ValueError, match="RNNKIT_POOL must be '0' .* or '1' .*, got 'off'"):
        _pool.threads_for(64, 64 * 512)


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


@pytest.mark.parametrize("use_pool", ["0", "1"])
@pytest.mark.parametrize("lengths,reverse,proj", [(False, False, False), (True, True, False), (True, False, True)])
def test_input_projection_inside_the_kernel_equals_reference(monkeypatch, use_pool, lengths, reverse, proj):
    """``lstm_forward(None, ..., x=x, W_ih=W_ih)`` and ``lstm_backward(..., W_ih=W_ih)`` (the
    layer's calls) equal the reference given x_proj = x @ W_ih.T (outputs, cache, every
    gradient, dx and db), on the row-split path (projection, dx and db inside the loop) and
    on the serial path."""
    if use_pool == "1" and not POOL:
        pytest.skip("OpenBLAS pool with two threads not available here")
    monkeypatch.setenv("RNNKIT_POOL", use_pool)
    rng = np.random.default_rng(11)
    T, B, I, H = 5, 19, 24, 40
    P = 13 if proj else H
    x = rng.standard_normal((T, B, I))
    W_ih = rng.standard_normal((4 * H, I)) / np.sqrt(I)
    W_hh = rng.standard_normal((4 * H, P)) / np.sqrt(P)
    W_hr = rng.standard_normal((P, H)) / np.sqrt(H) if proj else None
    bias = rng.standard_normal(4 * H)
    h0, c0 = rng.standard_normal((B, P)), rng.standard_normal((B, H))
    lens = np.sort(rng.integers(1, T + 1, B))[::-1].copy() if lengths else None
    want = lstm_ref.lstm_forward(x @ W_ih.T + bias, W_hh, W_hr, h0, c0, lens, reverse, True)
    f32 = [None if a is None else a.astype(np.float32) for a in (W_hh, W_hr, h0, c0, bias, x, W_ih)]
    got = lstm.lstm_forward(None, f32[0], f32[1], f32[2], f32[3], lens, reverse, True, f32[4], x=f32[5],
                            W_ih=f32[6])
    assert (_pool.threads_for(B, B * H) > 1) == (use_pool == "1")
    for g, w in zip(got[:3], want[:3]):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-5 * max(1.0, float(np.abs(w).max())))
    np.testing.assert_allclose(got[3][2], want[3][2].reshape(T, B, 4, H), rtol=0, atol=1e-5)
    d_out = rng.standard_normal((T, B, P))
    want_b = lstm_ref.lstm_backward(d_out, None, None, W_hh, W_hr, want[3], W_ih=W_ih)
    got_b = lstm.lstm_backward(d_out.astype(np.float32), None, None, f32[0], f32[1], got[3], W_ih=f32[6])
    assert len(got_b) == len(want_b) == 8
    want_b = (*want_b[:7], want_b[0].reshape(T * B, -1).T @ x.reshape(T * B, I))    # dW_ih
    for k, (g, w) in enumerate(zip(got_b, want_b)):
        if k == 4 and not proj or k == 7 and use_pool == "0":
            assert g is None                                  # no W_hr; dW_ih left to the layer
            continue
        np.testing.assert_allclose(g, w, rtol=0, atol=2e-5 * max(1.0, float(np.abs(w).max())))


@pytest.mark.parametrize("N,K1,K2", [(1, 1, 0), (37, 5, 3), (64, 16, 48), (50, 7, 0)])
def test_pack_transposed_equals_pack_of_the_concatenation(N, K1, K2):
    from rnnkit.kernels.fast._gemm import pack_transposed

    rng = np.random.default_rng(N + K1 + K2)
    A1 = rng.standard_normal((N, K1)).astype(np.float32)
    A2 = rng.standard_normal((N, K2)).astype(np.float32)
    np.testing.assert_array_equal(pack_transposed(A1, A2), pack(np.concatenate([A1, A2], axis=1).T))
