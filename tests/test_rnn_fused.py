"""The vanilla RNN with the input projection inside the kernel (the contract: the kernel gets x and W_ih).

The compiled forward/backward equal the float64 reference: outputs, final state, cache and
every gradient (dx, dh0, dW_ih, dW_hh, db_ih, db_hh), for all activations, with lengths and in
reverse, on the row-split path (projection, dx and db inside the loop, one GEMM for dW_ih and
dW_hh over the kept ``[x_t | h_{t-1}]``) and on the serial path (float32 with the pool off,
and float64). A float32 layer on the compiled kernels with the pool on equals the float64
layer on the reference kernels.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np
import pytest

import rnnkit
from helpers import assert_results_close, random_problem, rnnkit_run
from kernel_cases import problem, run
from rnnkit import nn
from rnnkit.kernels import implementation, rnn_ref

fast = pytest.importorskip("rnnkit.kernels.fast")
from rnnkit.kernels.fast import _pool  # noqa: E402

POOL = _pool.threads_for(64, 64 * 64) > 1
T, B, I, H = 5, 19, 24, 40
CASES = list(itertools.product(rnn_ref.ACTIVATIONS, [(False, False), (True, True), (True, False)], ["0", "1"]))


def _problem(act, lengths):
    rng = np.random.default_rng(zlib.crc32(repr((act, lengths)).encode()))
    return problem("RNN", T, B, I, H, rng, lengths=lengths, recurrent=1 / np.sqrt(H), nonlinearity=act)


def _close(name, got, want, tol):
    if want is None:
        assert got is None, name
        return
    assert got.shape == want.shape, name
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * max(1.0, float(np.abs(want).max())), err_msg=name)


@pytest.mark.parametrize("act,lr,use_pool", CASES)
def test_input_projection_inside_the_kernel_equals_reference(monkeypatch, act, lr, use_pool):
    lengths, reverse = lr
    if use_pool == "1" and not POOL:
        pytest.skip("OpenBLAS pool with two threads not available here")
    monkeypatch.setenv("RNNKIT_POOL", use_pool)
    p = _problem(act, lengths)
    want = run(p, "numpy", reverse)                           # float64
    p32 = p.astype(np.float32)
    got = run(p32, "numba", reverse)
    assert (_pool.threads_for(B, B * H) > 1) == (use_pool == "1")
    for name in want:
        assert got[name] is None or got[name].dtype == np.float32, name
        _close(name, got[name], want[name], 2e-5)
    impl = implementation("RNN", "numba")
    fwd = impl.forward(p32.x, p32.w, p32.state0, p32.lengths, reverse, True, p32.options)
    if use_pool == "1":                                       # [x_t | h_{t-1}] kept for one dW GEMM
        assert fwd.cache.hx.shape == (T, B, I + H)
        np.testing.assert_array_equal(fwd.cache.hx[:, :, :I], p32.x)
        monkeypatch.setenv("RNNKIT_POOL", "0")               # a row-split cache on the serial backward
        g = impl.backward(p32.d_out, p32.d_state, p32.w, fwd.cache)
        for name, v in zip(("dx", "dW_ih", "dW_hh", "db_ih", "db_hh"), (g.dx, g.dW_ih, g.dW_hh, g.db_ih, g.db_hh)):
            _close(f"{name} (serial backward)", v, want[name], 2e-5)
        monkeypatch.setenv("RNNKIT_POOL", "1")
    else:
        assert fwd.cache.hx is None
    if lengths:                                               # padded steps: zero output and input gradients
        for b in range(B):
            assert not got["out"][p.lengths[b]:, b].any() and not got["dx"][p.lengths[b]:, b].any()
    infer = run(p32, "numba", reverse, keep=False)            # without a cache: the same outputs
    for name in infer:
        np.testing.assert_array_equal(infer[name], got[name], err_msg=name)


@pytest.mark.parametrize("act,lr", list(itertools.product(rnn_ref.ACTIVATIONS, [(False, False), (True, True)])))
def test_float64_takes_the_serial_path(act, lr):
    lengths, reverse = lr
    p = _problem(act, lengths)
    want, got = run(p, "numpy", reverse), run(p, "numba", reverse)
    for name in want:
        _close(name, got[name], want[name], 1e-11)
    np.testing.assert_allclose(want["db_ih"], want["db_hh"])     # both biases see the same gradient


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
