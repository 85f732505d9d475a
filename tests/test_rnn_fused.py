"""The vanilla RNN with the input projection inside the kernel (the layer's call).

``rnn_forward(None, ..., bias, x=x, W_ih=W_ih)`` and ``rnn_backward(..., W_ih=W_ih)`` equal
the float64 reference given ``x_proj = x @ W_ih.T + bias``: outputs, final state, cache and
every gradient (d_x_proj, dh0, dW_hh, dx, db and, when the row-split forward kept
``[x_t | h_{t-1}]``, dW_ih), for all activations, with lengths and in reverse, on the
row-split path (projection, dx and db inside the loop, one GEMM for dW_ih and dW_hh) and on
the serial path (float32 with the pool off, and float64). A float32 layer on the compiled
kernels with the pool on equals the float64 layer on the reference kernels.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import rnnkit
from helpers import assert_results_close, random_problem, rnnkit_run
from rnnkit import nn
from rnnkit.kernels import rnn_ref

fast = pytest.importorskip("rnnkit.kernels.fast")
from rnnkit.kernels.fast import _pool, rnn  # noqa: E402

POOL = _pool.threads_for(64, 64 * 64) > 1
T, B, I, H = 5, 19, 24, 40
CASES = list(itertools.product(rnn_ref.ACTIVATIONS, [(False, False), (True, True), (True, False)], ["0", "1"]))


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _problem(act, lengths, reverse):
    rng = _rng(act, lengths, reverse)
    x = rng.standard_normal((T, B, I))
    W_ih = rng.standard_normal((H, I)) / np.sqrt(I)
    W_hh = rng.standard_normal((H, H)) / np.sqrt(H)
    bias = rng.standard_normal(H)
    h0 = rng.standard_normal((B, H))
    lens = np.sort(rng.integers(1, T + 1, B))[::-1].copy() if lengths else None
    d_out, dh_n = rng.standard_normal((T, B, H)), rng.standard_normal((B, H))
    return x, W_ih, W_hh, bias, h0, lens, d_out, dh_n


def _close(got, want, tol):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("act,lr,use_pool", CASES)
def test_input_projection_inside_the_kernel_equals_reference(monkeypatch, act, lr, use_pool):
    lengths, reverse = lr
    if use_pool == "1" and not POOL:
        pytest.skip("OpenBLAS pool with two threads not available here")
    monkeypatch.setenv("RNNKIT_POOL", use_pool)
    x, W_ih, W_hh, bias, h0, lens, d_out, dh_n = _problem(act, lengths, reverse)
    want = rnn_ref.rnn_forward(x @ W_ih.T + bias, W_hh, h0, lens, reverse, act, True)
    f32 = [a.astype(np.float32) for a in (W_hh, h0, bias, x, W_ih, d_out, dh_n)]
    got = rnn.rnn_forward(None, f32[0], f32[1], lens, reverse, act, True, f32[2], x=f32[3], W_ih=f32[4])
    assert (_pool.threads_for(B, B * H) > 1) == (use_pool == "1")
    for g, w in zip(got[:2], want[:2]):
        _close(g, w, 1e-5)
    _close(got[2][0], want[2][0], 1e-5)                       # h_prev_all (a view of hx_all when fused)
    _close(got[2][1], want[2][1], 1e-5)                       # h_last
    hx_all = got[2][5]
    assert hx_all.shape == (T, B, (I if use_pool == "1" else 0) + H)
    if use_pool == "1":
        np.testing.assert_array_equal(hx_all[:, :, :I], f32[3])   # [x_t | h_{t-1}]

    want_b = rnn_ref.rnn_backward(d_out, dh_n, W_hh, want[2], W_ih=W_ih)
    got_b = rnn.rnn_backward(f32[5], f32[6], f32[0], got[2], W_ih=f32[4])
    assert len(got_b) == len(want_b) == 6 and want_b[5] is None
    want_b = (*want_b[:5], want_b[0].reshape(T * B, H).T @ x.reshape(T * B, I))    # dW_ih
    names = ("d_x_proj", "dh0", "dW_hh", "dx", "db", "dW_ih")
    for name, g, w in zip(names, got_b, want_b):
        if name == "dW_ih" and use_pool == "0":
            assert g is None                                  # left to the layer
            continue
        assert g.dtype == np.float32, name
        _close(g, w, 2e-5)
    if use_pool == "1":                                       # a fused cache on the serial backward (Ix > 0)
        monkeypatch.setenv("RNNKIT_POOL", "0")
        for g, w in zip(rnn.rnn_backward(f32[5], f32[6], f32[0], got[2], W_ih=f32[4]), want_b):
            _close(g, w, 2e-5)
        monkeypatch.setenv("RNNKIT_POOL", "1")
    if lengths:                                               # padded steps: zero output and input gradients
        for b in range(B):
            assert not got[0][lens[b]:, b].any()
            assert not got_b[0][lens[b]:, b].any() and not got_b[3][lens[b]:, b].any()

    # without a cache: the same outputs, nothing kept
    out, h, cache = rnn.rnn_forward(None, f32[0], f32[1], lens, reverse, act, False, f32[2], x=f32[3],
                                    W_ih=f32[4])
    assert cache is None
    np.testing.assert_array_equal(out, got[0])
    np.testing.assert_array_equal(h, got[1])
    # the old call (x_proj given, no bias) still gives the same results
    xp = (f32[3].reshape(T * B, I) @ f32[4].T + f32[2]).reshape(T, B, H)
    old = rnn.rnn_forward(xp, f32[0], f32[1], lens, reverse, act, True)
    for g, w in zip(old[:2], want[:2]):
        _close(g, w, 1e-5)
    old_b = rnn.rnn_backward(f32[5], f32[6], f32[0], old[2])
    assert len(old_b) == 3
    for g, w in zip(old_b, want_b[:3]):
        _close(g, w, 2e-5)


@pytest.mark.parametrize("act,lr", list(itertools.product(rnn_ref.ACTIVATIONS, [(False, False), (True, True)])))
def test_float64_fused_call_takes_the_serial_path(act, lr):
    lengths, reverse = lr
    x, W_ih, W_hh, bias, h0, lens, d_out, dh_n = _problem(act, lengths, reverse)
    want = rnn_ref.rnn_forward(x @ W_ih.T + bias, W_hh, h0, lens, reverse, act, True)
    got = rnn.rnn_forward(None, W_hh, h0, lens, reverse, act, True, bias, x=x, W_ih=W_ih)
    ref = rnn_ref.rnn_forward(None, W_hh, h0, lens, reverse, act, True, bias, x=x, W_ih=W_ih)
    for g, r, w in zip(got[:2], ref[:2], want[:2]):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r, w, rtol=0, atol=1e-12)
    want_b = rnn_ref.rnn_backward(d_out, dh_n, W_hh, want[2], W_ih=W_ih)
    got_b = rnn.rnn_backward(d_out, dh_n, W_hh, got[2], W_ih=W_ih)
    assert got_b[5] is None and want_b[5] is None
    for g, w in zip(got_b[:5], want_b[:5]):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-11 * max(1.0, float(np.abs(w).max())))
    np.testing.assert_allclose(want_b[3], want_b[0] @ W_ih)
    np.testing.assert_allclose(want_b[4], want_b[0].sum(axis=(0, 1)))


@pytest.mark.parametrize("nonlinearity", rnn_ref.ACTIVATIONS)
@pytest.mark.parametrize("use_pool", ["0", "1"])
def test_float32_layer_equals_float64_reference_layer(monkeypatch, nonlinearity, use_pool):
    """Two layers, both directions, bias, unsorted lengths: the layer's fused calls (row-split
    when the pool is on) against the float64 layer on the NumPy reference kernels."""
    if use_pool == "1" and not POOL:
        pytest.skip("OpenBLAS pool with two threads not available here")
    monkeypatch.setenv("RNNKIT_POOL", use_pool)
    seed = zlib.crc32(repr(("layer", nonlinearity)).encode())
    kw = dict(num_layers=2, bidirectional=True, nonlinearity=nonlinearity)
    l32 = nn.RNN(I, H, dtype=np.float32, rng=seed, **kw)
    l64 = nn.RNN(I, H, dtype=np.float64, rng=seed, **kw)
    l64.load_state_dict(l32.state_dict())
    rng = np.random.default_rng(seed)
    x, state, d_out, d_state = random_problem(l64, T, B, rng)
    lengths = rng.integers(1, T + 1, B)
    before = rnnkit.get_backend()
    try:
        rnnkit.set_backend("numpy")
        want = rnnkit_run(l64, x, state, lengths, d_out, d_state)
        rnnkit.set_backend("numba")
        got = rnnkit_run(l32, *(a.astype(np.float32) for a in (x, state)), lengths,
                         *(a.astype(np.float32) for a in (d_out, d_state)))
    finally:
        rnnkit.set_backend(before)
    assert_results_close(got, want, 2e-5, f"RNN {nonlinearity} pool={use_pool}")
