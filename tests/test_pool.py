"""Row-split sequences on OpenBLAS's threads (rnnkit.kernels.fast._pool), the packed product
they use (rnnkit.kernels.fast._gemm) and the declared worker context (rnnkit.kernels.fast._context).

The row-split LSTM kernels equal the float64 NumPy reference as closely as the serial
float32 kernels do, with lengths, both directions and a projection, forward and backward
(the input projection inside the step products, dx and db inside the loop, [dW_ih | dW_hh] in
one GEMM); the packed product equals NumPy's; the pool respects OpenBLAS's thread limit; a
context is checked when it is built and keeps its arrays alive.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

from kernel_cases import problem, run

fast = pytest.importorskip("rnnkit.kernels.fast")
from rnnkit.kernels.fast import _context, _pool  # noqa: E402
from rnnkit.kernels.fast._gemm import gemm_packed, pack  # noqa: E402

# (T, B, H): B * H at least 2 * MIN_CELLS_PER_THREAD so that two threads are used;
# odd batch sizes give ranges of different sizes
SHAPES = [(4, 9, 64), (3, 33, 20), (5, 2, 300), (2, 64, 24)]
POOL = _pool.threads_for(64, 64 * 64) > 1
needs_pool = pytest.mark.skipif(not POOL, reason="OpenBLAS pool with two threads not available here")


def _run(monkeypatch, use_pool, p32, reverse, keep=True):
    monkeypatch.setenv("RNNKIT_POOL", "1" if use_pool else "0")
    return run(p32, "numba", reverse, keep)


def _worst_error(got, want):
    """Largest |got - want| of each array, relative to the array's largest |want|."""
    return {k: float(np.abs(got[k] - want[k]).max() / max(np.abs(want[k]).max(), 1e-30))
            for k in want if want[k] is not None}


@needs_pool
@pytest.mark.parametrize("shape,lengths,reverse,proj", list(itertools.product(SHAPES, (False, True), (False, True),
                                                                                (False, True))))
def test_row_split_lstm_equals_reference(monkeypatch, shape, lengths, reverse, proj):
    T, B, H = shape
    assert _pool.threads_for(B, B * H) > 1
    rng = np.random.default_rng(abs(hash((shape, lengths, reverse, proj))) % 2**32)
    P = max(1, H // 3) if proj else None
    p = problem("LSTM", T, B, 7, H, rng, P=P, lengths=lengths, recurrent=1 / np.sqrt(P or H))
    want = run(p, "numpy", reverse)                           # float64
    p32 = p.astype(np.float32)
    serial = _run(monkeypatch, False, p32, reverse)
    split = _run(monkeypatch, True, p32, reverse)
    assert list(want) == list(serial) == list(split)
    err_split, err_serial = _worst_error(split, want), _worst_error(serial, want)
    for k in err_split:
        assert err_split[k] <= 1e-5, (k, err_split, err_serial)
        assert err_split[k] <= 4 * err_serial[k] + 1e-6, (k, err_split, err_serial)
    if lengths:                                               # steps past a row's length: exactly zero
        for b in range(B):
            assert not split["out"][p.lengths[b]:, b].any()
            assert not split["dx"][p.lengths[b]:, b].any()


@needs_pool
def test_row_split_inference_without_cache_equals_cached(monkeypatch):
    rng = np.random.default_rng(5)
    p = problem("LSTM", 6, 17, 5, 48, rng, recurrent=1 / 7).astype(np.float32)
    kept = _run(monkeypatch, True, p, False)
    not_kept = _run(monkeypatch, True, p, False, keep=False)
    for k in not_kept:
        np.testing.assert_array_equal(kept[k], not_kept[k], err_msg=k)


@needs_pool
@pytest.mark.parametrize("kind", ["RNN", "LSTM"])
def test_row_split_forward_keeps_x_beside_h(monkeypatch, kind):
    """The row-split RNN/LSTM forward keeps ``hx = [x_t | h_{t-1}]`` (h_prev is a view of it, for
    the one [dW_ih | dW_hh] GEMM); the serial forward keeps no hx; a row-split cache also goes
    through the serial backward."""
    from rnnkit.kernels import implementation

    rng = np.random.default_rng(11)
    p = problem(kind, 5, 19, 24, 40, rng).astype(np.float32)
    impl = implementation(kind, "numba")
    monkeypatch.setenv("RNNKIT_POOL", "1")
    fwd = impl.forward(p.x, p.w, p.state0, None, False, True, p.options)
    np.testing.assert_array_equal(fwd.cache.hx[:, :, :24], p.x)
    assert np.shares_memory(fwd.cache.h_prev, fwd.cache.hx)
    split = impl.backward(p.d_out, p.d_state, p.w, fwd.cache)
    monkeypatch.setenv("RNNKIT_POOL", "0")
    serial_bwd = impl.backward(p.d_out, p.d_state, p.w, fwd.cache)
    for name, a, b in zip(split._fields, split, serial_bwd):
        for x, y in zip(a, b) if isinstance(a, tuple) else ((a, b),):
            if x is not None:
                np.testing.assert_allclose(x, y, rtol=0, atol=2e-5 * max(1.0, float(np.abs(y).max())), err_msg=name)
    assert impl.forward(p.x, p.w, p.state0, None, False, True, p.options).cache.hx is None


@pytest.mark.parametrize("M,K,N", [(1, 1, 1), (1, 3, 5), (6, 5, 16), (7, 13, 40), (13, 64, 256), (33, 100, 70),
                                   (64, 256, 1024), (5, 17, 33)])
def test_packed_product_equals_numpy(M, K, N):
    rng = np.random.default_rng(M * 1000 + K * 10 + N)
    A = rng.standard_normal((M, K + 3)).astype(np.float32)[:, 2:K + 2]       # a row stride != K
    W = rng.standard_normal((K, N)).astype(np.float32)
    C = np.full((M, N + 5), 7.0, np.float32)
    gemm_packed(A, pack(W), C, N)
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


@pytest.mark.parametrize("N,K1,K2", [(1, 1, 0), (37, 5, 3), (64, 16, 48), (50, 7, 0)])
def test_pack_transposed_equals_pack_of_the_concatenation(N, K1, K2):
    from rnnkit.kernels.fast._gemm import pack_transposed

    rng = np.random.default_rng(N + K1 + K2)
    A1 = rng.standard_normal((N, K1)).astype(np.float32)
    A2 = rng.standard_normal((N, K2)).astype(np.float32)
    np.testing.assert_array_equal(pack_transposed(A1, A2), pack(np.concatenate([A1, A2], axis=1).T))


def _layout():
    flags = tuple(f"f{k}" for k in range(20))                  # more flags than the old fixed 15 slots
    return _context.Layout("test", flags=flags, arrays=(("a", _context.F32, 2), ("lens", _context.I64, 1)))


def test_context_layout_slots_and_build():
    L = _layout()
    S = L.slots
    assert S.shift == 0 and S.size == L.size == 1 + 20 + (1 + 2) + (1 + 1)
    slots = [getattr(S, f) for f in L.flags] + [S.a, S.lens]
    assert len(set(slots)) == len(slots) and min(slots) == 1
    a, lens = np.arange(6, dtype=np.float32).reshape(2, 3), np.array([4, 5], np.int64)
    ctx = L.build(3, a=a, lens=lens, **{f"f{k}": k + 100 for k in range(20)})
    assert ctx[0] == 3 and [int(ctx[getattr(S, f"f{k}")]) for k in range(20)] == list(range(100, 120))
    assert ctx[S.a] == a.ctypes.data and list(ctx[S.a + 1:S.a + 3]) == [2, 3]
    assert ctx[S.lens] == lens.ctypes.data and ctx[S.lens + 1] == 2
    assert ctx.refs[0] is a and ctx.refs[1] is lens          # the context keeps its arrays alive


def test_context_build_errors():
    L = _layout()
    flags = {f"f{k}": 0 for k in range(20)}
    a, lens = np.zeros((2, 3), np.float32), np.zeros(2, np.int64)
    with pytest.raises(ValueError, match=r"missing \['lens'\], unexpected \['b'\]"):
        L.build(0, a=a, b=lens, **flags)
    with pytest.raises(TypeError, match="array a must be a float32 ndarray, got float64"):
        L.build(0, a=a.astype(np.float64), lens=lens, **flags)
    with pytest.raises(ValueError, match="array a must be 2-D and C-contiguous"):
        L.build(0, a=np.zeros((4, 6), np.float32)[:, ::2], lens=lens, **flags)
    with pytest.raises(ValueError, match="array lens must be 1-D"):
        L.build(0, a=a, lens=lens[None], **flags)
    with pytest.raises(TypeError, match="flag f3 must be an int or bool, got float"):
        L.build(0, a=a, lens=lens, **{**flags, "f3": 1.5})
    with pytest.raises(ValueError, match="repeated or reserved: size, x"):
        _context.Layout("bad", flags=("x", "size"), arrays=(("x", _context.F32, 1),))


def test_pool_probe_does_not_import_pool():
    """The self-test worker needs only the context declarations: no import circle."""
    code = ("import sys; import rnnkit.kernels.fast._pool_probe; "
            "print('rnnkit.kernels.fast._pool' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "False", res.stderr[-2000:]
