"""The compiled kernels (rnnkit.kernels.fast) equal the NumPy reference kernels.

Random shapes, every cell kind and option (RNN tanh/relu/sigmoid, GRU reset_after
True/False, LSTM with and without projection), with and without biases, variable lengths,
both directions, float32 and float64, with and without a kept cache, through the one kernel
contract (``implementation(kind, backend).forward/backward``): outputs, final state, every
array of the cache (the same NamedTuple on both backends) and every gradient. Also: the
SIMD exp/sigmoid/tanh against float64 NumPy, the one-step streaming kernel against the
layer path, and the kernels under NUMBA_DISABLE_JIT=1.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

from kernel_cases import assert_same_keys, problem, run
from rnnkit.kernels import KINDS, Grads, implementation

fast = pytest.importorskip("rnnkit.kernels.fast")

TOL = {np.float32: 2e-5, np.float64: 1e-11}
CASES = list(itertools.product((np.float32, np.float64), (False, True), (False, True)))   # dtype, reverse, lengths
OPTIONS = [("RNN", {"nonlinearity": a}, 0) for a in ("tanh", "relu", "sigmoid")] + \
          [("GRU", {"reset_after": r}, 0) for r in (True, False)] + [("LSTM", {}, 0), ("LSTM", {}, 1)]


def _case_id(c):
    dt, rev, ln = c
    return f"{dt.__name__}-{'rev' if rev else 'fwd'}-{'lengths' if ln else 'full'}"


def _opt_id(o):
    kind, opts, proj = o
    return kind + "".join(f"-{v}" for v in opts.values()) + ("-proj" if proj else "")


def _seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


def _assert_close(name, got, want, dtype, cfg):
    if want is None:
        assert got is None, f"{name} should be None ({cfg})"
        return
    assert got.shape == want.shape, f"{name} shape {got.shape} != {want.shape} ({cfg})"
    assert got.dtype == dtype, f"{name} dtype {got.dtype} != {np.dtype(dtype)} ({cfg})"
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got - want).max())
    assert err <= TOL[dtype] * scale, f"{name}: fast differs from reference by {err:.3g} ({cfg})"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("kind_opts", OPTIONS, ids=_opt_id)
def test_fast_equals_reference(case, kind_opts):
    dtype, reverse, with_lengths = case
    kind, opts, proj = kind_opts
    rng = np.random.default_rng(_seed(_opt_id(kind_opts), *map(str, case)))
    T, B, I = int(rng.integers(2, 7)), int(rng.integers(1, 5)), int(rng.integers(1, 6))
    H = int(rng.integers(2, 12))
    P = int(rng.integers(1, H)) if proj else None
    bias = bool(rng.integers(0, 2)) or kind == "LSTM"
    p = problem(kind, T, B, I, H, rng, P=P, bias=bias, lengths=with_lengths, d_state=not reverse, **opts)
    p = p.astype(dtype)
    cfg = f"{_opt_id(kind_opts)} {dtype.__name__} reverse={reverse} lengths={p.lengths} T={T} B={B} I={I} H={H} " \
          f"bias={bias}"
    want = run(p, "numpy", reverse)
    got = run(p, "numba", reverse)
    assert_same_keys(got, want, cfg)
    for name in want:
        _assert_close(name, got[name], want[name], dtype, cfg)
    infer = run(p, "numba", reverse, keep=False)
    for name in infer:
        _assert_close(f"{name} (keep=False)", infer[name], want[name], dtype, cfg)


@pytest.mark.parametrize("kind", list(KINDS))
def test_contract_types_and_bias_free_gradients(kind):
    """Both backends return a Forward and a Grads; without biases db_ih and db_hh are None, and
    the caller's arrays (x, weights, state) are not modified."""
    rng = np.random.default_rng(_seed("contract", kind))
    p = problem(kind, 4, 3, 5, 6, rng, bias=False).astype(np.float32)
    copies = [a.copy() for a in (p.x, p.w.W_ih, p.w.W_hh, *p.state0)]
    for backend in ("numpy", "numba"):
        impl = implementation(kind, backend)
        fwd = impl.forward(p.x, p.w, p.state0, None, False, True, p.options)
        assert len(fwd.state) == len(KINDS[kind].state_names)
        g = impl.backward(p.d_out, p.d_state, p.w, fwd.cache)
        assert isinstance(g, Grads) and g.db_ih is None and g.db_hh is None and g.dW_hr is None, backend
        for name, a, b in zip(("x", "W_ih", "W_hh", "h0", "c0"), (p.x, p.w.W_ih, p.w.W_hh, *p.state0), copies):
            np.testing.assert_array_equal(a, b, err_msg=f"{kind} {backend} modified {name}")
        for name, s in zip(("out", "h_n", "c_n"), (fwd.out, *fwd.state)):
            for field, v in fwd.cache._asdict().items():
                assert not (isinstance(v, np.ndarray) and np.shares_memory(v, s)), \
                    f"{kind} {backend}: cache.{field} shares memory with {name}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_one_step_equals_a_sequence_of_one(kind):
    """``step`` (no cache) equals ``forward`` on a one-step sequence, on both backends."""
    rng = np.random.default_rng(_seed("step", kind))
    for dtype, B in itertools.product((np.float32, np.float64), (1, 5)):
        p = problem(kind, 1, B, 6, 9, rng).astype(dtype)
        for backend in ("numpy", "numba"):
            impl = implementation(kind, backend)
            want = impl.forward(p.x, p.w, p.state0, None, False, False, p.options).state
            got = impl.step(p.x[0], p.state0, p.w, p.options)
            for g, w in zip(got, want):
                assert g.dtype == dtype
                np.testing.assert_allclose(g, w, rtol=0, atol=TOL[dtype] * 4, err_msg=f"{kind} {backend} B={B}")


def test_simd_math_accuracy():
    from rnnkit.kernels.fast._jit import kernel
    from rnnkit.kernels.fast._vmath import exp, sigmoid, tanh

    @kernel
    def apply(x, out, which):
        for k in range(x.shape[0]):
            out[k] = exp(x[k]) if which == 0 else (sigmoid(x[k]) if which == 1 else tanh(x[k]))

    x = np.concatenate([np.linspace(-80, 80, 200001), np.linspace(-1, 1, 20001),
                        np.logspace(-20, 1, 500), -np.logspace(-20, 1, 500)]).astype(np.float32)
    x64 = x.astype(np.float64)
    for which, ref, max_ulp in ((0, np.exp(x64), 2.0), (1, 1 / (1 + np.exp(-x64)), 3.0), (2, np.tanh(x64), 3.0)):
        out = np.empty_like(x)
        apply(x, out, which)
        ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
        err = np.abs(out - ref) / ulp
        assert err.max() <= max_ulp, f"function {which}: {err.max():.2f} ulp at x={x[err.argmax()]}"
    special = np.array([np.nan, np.inf, -np.inf], np.float32)
    for which, want in ((1, [np.nan, 1.0, 0.0]), (2, [np.nan, 1.0, -1.0])):
        out = np.empty_like(special)
        apply(special, out, which)
        np.testing.assert_allclose(out, want, atol=1e-30, err_msg=f"function {which} on nan/inf")
    out = np.empty_like(special)
    apply(special, out, 0)
    assert np.isnan(out[0]) and out[2] == 0.0 and np.isfinite(out[1]) and out[1] > 3.4e38, f"exp on nan/inf: {out}"


def test_simd_math_tails():
    """float32 exp/sigmoid down to subnormal results, exp up to FLT_MAX, tanh near its clamp
    (|x| ~ 9) and for tiny x, plus a dense random sample; the same ulp bounds as above."""
    from rnnkit.kernels.fast._jit import kernel
    from rnnkit.kernels.fast._vmath import exp, sigmoid, tanh

    @kernel
    def apply(x, out, which):
        for k in range(x.shape[0]):
            out[k] = exp(x[k]) if which == 0 else (sigmoid(x[k]) if which == 1 else tanh(x[k]))

    rng = np.random.default_rng(0)
    tiny = np.logspace(-44, -2, 2001)
    samples = {
        0: [np.linspace(-104, -80, 100001), np.linspace(80, 88.72283, 100001), rng.uniform(-104, 88.72283, 200000)],
        1: [np.linspace(-104, -60, 100001), rng.uniform(-30, 30, 200000), tiny, -tiny],
        2: [np.linspace(8.5, 9.5, 100001), np.linspace(-9.5, -8.5, 100001), rng.uniform(-9.5, 9.5, 200000),
            tiny, -tiny],
    }
    for which, parts in samples.items():
        x = np.concatenate(parts).astype(np.float32)
        x = x[x <= np.float32(88.72283)] if which == 0 else x
        x64 = x.astype(np.float64)
        ref = (np.exp(x64), 1 / (1 + np.exp(-x64)), np.tanh(x64))[which]
        out = np.empty_like(x)
        apply(x, out, which)
        ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
        err = np.abs(out - ref) / ulp
        assert err.max() <= (2.0, 3.0, 3.0)[which], f"function {which}: {err.max():.2f} ulp at x={x[err.argmax()]}"
    big = np.array([9.1, 20.0, 1e30, -9.1, -20.0, -1e30], np.float32)
    out = np.empty_like(big)
    apply(big, out, 2)
    np.testing.assert_array_equal(out, [1, 1, 1, -1, -1, -1])
    apply(big, out, 1)
    assert (out[1:3] == 1).all() and (out[3:5] > 0).all() and out[5] == 0, f"sigmoid at +-9.1, +-20, +-1e30: {out}"


@pytest.mark.parametrize("mode", ["RNN", "GRU", "GRU_before", "LSTM"])
@pytest.mark.parametrize("B", [1, 5])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cell_step_equals_layer_path(mode, B, dtype):
    """The streaming path of a cell (eval, no cache) equals its training path."""
    import rnnkit
    from rnnkit import nn

    rng = np.random.default_rng(7)
    kw = {"reset_after": False} if mode == "GRU_before" else {}
    cls = {"RNN": nn.RNNCell, "GRU": nn.GRUCell, "GRU_before": nn.GRUCell, "LSTM": nn.LSTMCell}[mode]
    cell = cls(6, 9, dtype=dtype, rng=rng, **kw)
    x = rng.standard_normal((B, 6)).astype(dtype)
    hx = rng.standard_normal((B, 9)).astype(dtype)
    state = (hx, hx * 0.5) if mode == "LSTM" else hx
    want = cell(x, state)                       # training mode: layer path
    cell._pop()
    with rnnkit.no_grad():
        got = cell(x, state)
    for g, w in zip(want if mode == "LSTM" else (want,), got if mode == "LSTM" else (got,)):
        np.testing.assert_allclose(g, w, rtol=0, atol=TOL[dtype] * 4, err_msg=f"{mode} B={B}")


def test_kernels_run_without_jit():
    code = (
        "import numpy as np\n"
        "from rnnkit.kernels import implementation, CellWeights\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.standard_normal((3, 2, 4)).astype(np.float32); h0 = np.zeros((2, 3), np.float32)\n"
        "L = np.array([3, 2])\n"
        "for kind, G, st, opt in (('LSTM', 4, (h0, h0), {}), ('GRU', 3, (h0,), {'reset_after': False}),\n"
        "                         ('RNN', 1, (h0,), {'nonlinearity': 'tanh'})):\n"
        "    w = CellWeights(rng.standard_normal((G * 3, 4)).astype(np.float32),\n"
        "                    rng.standard_normal((G * 3, 3)).astype(np.float32), None, None)\n"
        "    for rev in (False, True):\n"
        "        a = implementation(kind, 'numba').forward(x, w, st, L, rev, True, opt)\n"
        "        b = implementation(kind, 'numpy').forward(x, w, st, L, rev, True, opt)\n"
        "        assert np.allclose(a.out, b.out, atol=1e-5)\n"
        "        d = implementation(kind, 'numba').backward(np.ones_like(a.out), (None,) * len(st), w, a.cache)\n"
        "        e = implementation(kind, 'numpy').backward(np.ones_like(b.out), (None,) * len(st), w, b.cache)\n"
        "        assert all(np.allclose(p, q, atol=1e-5) for p, q in zip(d[2:4] + (d.dx,), e[2:4] + (e.dx,)))\n"
        "print('ok')\n"
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-2000:]


def test_numba_is_the_default_backend():
    import rnnkit

    if os.environ.get("RNNKIT_BACKEND", "numba") == "numba":
        assert rnnkit.get_backend() == "numba"
    assert "numba" in rnnkit.available_backends()


def test_vmath_coefficients_are_those_the_fit_script_knows_and_refits():
    """tools/fit_vmath.py lists the shipped coefficients of _vmath and refits the exp polynomial
    to the same error (its float32 coefficients within a few ulps of the shipped ones)."""
    import importlib.util

    from rnnkit.kernels.fast import _vmath

    path = os.path.join(os.path.dirname(__file__), os.pardir, "tools", "fit_vmath.py")
    spec = importlib.util.spec_from_file_location("fit_vmath", path)
    fit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fit)
    np.testing.assert_array_equal(np.float32(fit.SHIPPED_EXP), [_vmath._E2, _vmath._E3, _vmath._E4, _vmath._E5,
                                                               _vmath._E6])
    np.testing.assert_array_equal(np.float32(fit.SHIPPED_TANH_R + fit.SHIPPED_TANH_Q),
                                  [_vmath._R1, _vmath._R2, _vmath._R3, _vmath._Q1, _vmath._Q2, _vmath._Q3])
    _, c32 = fit.fit_exp()
    shipped = np.float32(fit.SHIPPED_EXP).astype(np.float64)
    assert fit.exp_error(c32) < 3.3e-9 and fit.exp_error(shipped) < 3.3e-9
    np.testing.assert_allclose(c32, shipped, rtol=5e-4)
