"""The compiled kernels (rnnkit.kernels.fast) equal the NumPy reference kernels.

Random shapes, every cell kind and option (RNN tanh/relu/sigmoid, GRU reset_after
True/False, LSTM with and without projection), variable lengths, both directions,
float32 and float64, with and without a kept cache. Also: the SIMD exp/sigmoid/tanh
against float64 NumPy, the one-step streaming kernel against the layer path, and the
kernels under NUMBA_DISABLE_JIT=1.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

from rnnkit.kernels import gru_ref, lstm_ref, rnn_ref

fast = pytest.importorskip("rnnkit.kernels.fast")
F = fast.KERNELS

TOL = {np.float32: 2e-5, np.float64: 1e-11}
CASES = list(itertools.product((np.float32, np.float64), (False, True), (False, True)))   # dtype, reverse, lengths


def _case_id(c):
    dt, rev, ln = c
    return f"{dt.__name__}-{'rev' if rev else 'fwd'}-{'lengths' if ln else 'full'}"


def _seed(*parts) -> int:
    return zlib.crc32(repr(parts).encode())


def _setup(rng, dtype, with_lengths):
    T, B = int(rng.integers(2, 7)), int(rng.integers(1, 5))
    H = int(rng.integers(1, 12))
    lengths = None
    if with_lengths:
        lengths = rng.integers(1, T + 1, size=B).astype(np.int64)
        lengths[0] = T - 1 if T > 1 else 1      # at least one padded sequence
    return T, B, H, lengths, (lambda *s: rng.standard_normal(s).astype(dtype))


def _assert_close(name, got, want, dtype, cfg):
    if want is None:
        assert got is None, f"{name} should be None ({cfg})"
        return
    assert got.shape == want.shape, f"{name} shape {got.shape} != {want.shape} ({cfg})"
    scale = max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got - want).max())
    assert err <= TOL[dtype] * scale, f"{name}: fast differs from reference by {err:.3g} ({cfg})"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_rnn_fast_equals_reference(case, activation):
    dtype, reverse, with_lengths = case
    rng = np.random.default_rng(_seed(activation, *map(str, case)))
    T, B, H, lengths, r = _setup(rng, dtype, with_lengths)
    x_proj, W, h0 = r(T, B, H), r(H, H) * 0.5, r(B, H)
    cfg = f"rnn {activation} {dtype.__name__} reverse={reverse} lengths={lengths} T={T} B={B} H={H}"
    want = rnn_ref.rnn_forward(x_proj, W, h0, lengths, reverse, activation, True)
    got = F.rnn_forward(x_proj, W, h0, lengths, reverse, activation, True)
    for name, g, w in zip(("out", "h_n"), got[:2], want[:2]):
        _assert_close(name, g, w, dtype, cfg)
    infer = F.rnn_forward(x_proj, W, h0, lengths, reverse, activation, False)
    assert infer[2] is None
    _assert_close("out (keep=False)", infer[0], want[0], dtype, cfg)
    d_out, dh_n = r(T, B, H), r(B, H)
    for name, g, w in zip(("d_x_proj", "dh0", "dW_hh"), F.rnn_backward(d_out, dh_n, W, got[2]),
                          rnn_ref.rnn_backward(d_out, dh_n, W, want[2])):
        _assert_close(name, g, w, dtype, cfg)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_fast_equals_reference(case, reset_after):
    dtype, reverse, with_lengths = case
    rng = np.random.default_rng(_seed(reset_after, *map(str, case)))
    T, B, H, lengths, r = _setup(rng, dtype, with_lengths)
    x_proj, W, b_hn, h0 = r(T, B, 3 * H), r(3 * H, H) * 0.5, r(H), r(B, H)
    cfg = f"gru reset_after={reset_after} {dtype.__name__} reverse={reverse} lengths={lengths} T={T} B={B} H={H}"
    want = gru_ref.gru_forward(x_proj, W, b_hn, h0, lengths, reverse, reset_after, True)
    got = F.gru_forward(x_proj, W, b_hn, h0, lengths, reverse, reset_after, True)
    for name, g, w in zip(("out", "h_n"), got[:2], want[:2]):
        _assert_close(name, g, w, dtype, cfg)
    infer = F.gru_forward(x_proj, W, b_hn, h0, lengths, reverse, reset_after, False)
    assert infer[2] is None
    _assert_close("h_n (keep=False)", infer[1], want[1], dtype, cfg)
    d_out, dh_n = r(T, B, H), (r(B, H) if reverse else None)
    for name, g, w in zip(("d_x_proj", "dh0", "dW_hh", "db_hn"), F.gru_backward(d_out, dh_n, W, got[2]),
                          gru_ref.gru_backward(d_out, dh_n, W, want[2])):
        _assert_close(name, g, w, dtype, cfg)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@pytest.mark.parametrize("proj", [False, True])
def test_lstm_fast_equals_reference(case, proj):
    dtype, reverse, with_lengths = case
    rng = np.random.default_rng(_seed(proj, *map(str, case)))
    T, B, H, lengths, r = _setup(rng, dtype, with_lengths)
    H = max(H, 2)
    P = int(rng.integers(1, H)) if proj else H
    x_proj, W, h0, c0 = r(T, B, 4 * H), r(4 * H, P) * 0.5, r(B, P), r(B, H)
    W_hr = r(P, H) * 0.5 if proj else None
    cfg = f"lstm proj={P if proj else 0} {dtype.__name__} reverse={reverse} lengths={lengths} T={T} B={B} H={H}"
    want = lstm_ref.lstm_forward(x_proj, W, W_hr, h0, c0, lengths, reverse, True)
    got = F.lstm_forward(x_proj, W, W_hr, h0, c0, lengths, reverse, True)
    for name, g, w in zip(("out", "h_n", "c_n"), got[:3], want[:3]):
        _assert_close(name, g, w, dtype, cfg)
    infer = F.lstm_forward(x_proj, W, W_hr, h0, c0, lengths, reverse, False)
    assert infer[3] is None
    _assert_close("out (keep=False)", infer[0], want[0], dtype, cfg)
    d_out, dh_n, dc_n = r(T, B, P), r(B, P), (r(B, H) if reverse else None)
    names = ("d_x_proj", "dh0", "dc0", "dW_hh", "dW_hr")
    for name, g, w in zip(names, F.lstm_backward(d_out, dh_n, dc_n, W, W_hr, got[3]),
                          lstm_ref.lstm_backward(d_out, dh_n, dc_n, W, W_hr, want[3])):
        _assert_close(name, g, w, dtype, cfg)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_lstm_bias_argument_equals_bias_added_to_x_proj(case):
    """``bias`` given to the LSTM kernels (added in the gate pass) == the bias added to x_proj first."""
    dtype, reverse, with_lengths = case
    rng = np.random.default_rng(_seed("lstm-bias", *map(str, case)))
    T, B, H, lengths, r = _setup(rng, dtype, with_lengths)
    x_proj, W, h0, c0, bias = r(T, B, 4 * H), r(4 * H, H) * 0.5, r(B, H), r(B, H), r(4 * H)
    cfg = f"lstm bias {dtype.__name__} reverse={reverse} lengths={lengths} T={T} B={B} H={H}"
    want = lstm_ref.lstm_forward(x_proj + bias, W, None, h0, c0, lengths, reverse, True)
    ref_b = lstm_ref.lstm_forward(x_proj, W, None, h0, c0, lengths, reverse, True, bias)
    for name, g, w in zip(("out", "h_n", "c_n"), ref_b[:3], want[:3]):
        np.testing.assert_array_equal(g, w, err_msg=f"reference {name} {cfg}")
    for keep in (False, True):
        got = F.lstm_forward(x_proj, W, None, h0, c0, lengths, reverse, keep, bias)
        for name, g, w in zip(("out", "h_n", "c_n"), got[:3], want[:3]):
            _assert_close(f"{name} keep={keep}", g, w, dtype, cfg)
    d_out = r(T, B, H)
    for name, g, w in zip(("d_x_proj", "dh0", "dc0", "dW_hh"), F.lstm_backward(d_out, None, None, W, None, got[3]),
                          lstm_ref.lstm_backward(d_out, None, None, W, None, want[3])):
        _assert_close(name, g, w, dtype, cfg)


def test_fast_kernels_do_not_modify_inputs(rng):
    x_proj = rng.standard_normal((4, 3, 20)).astype(np.float32)
    W, h0, c0 = (rng.standard_normal(s).astype(np.float32) for s in ((20, 5), (3, 5), (3, 5)))
    copies = [a.copy() for a in (x_proj, W, h0, c0)]
    F.lstm_forward(x_proj, W, None, h0, c0, None, False, True)
    for name, a, b in zip(("x_proj", "W_hh", "h0", "c0"), (x_proj, W, h0, c0), copies):
        np.testing.assert_array_equal(a, b, err_msg=f"lstm_forward modified {name}")


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
        "from rnnkit.kernels import lstm_ref, gru_ref\n"
        "from rnnkit.kernels.fast import KERNELS as F\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.standard_normal((3, 2, 12)).astype(np.float32); W = rng.standard_normal((12, 3)).astype(np.float32)\n"
        "h0 = np.zeros((2, 3), np.float32); L = np.array([3, 2])\n"
        "a = F.lstm_forward(x, W, None, h0, h0, L, True, True)\n"
        "b = lstm_ref.lstm_forward(x, W, None, h0, h0, L, True, True)\n"
        "assert np.allclose(a[0], b[0], atol=1e-5)\n"
        "d = F.lstm_backward(np.ones_like(a[0]), None, None, W, None, a[3])\n"
        "e = lstm_ref.lstm_backward(np.ones_like(b[0]), None, None, W, None, b[3])\n"
        "assert all(np.allclose(p, q, atol=1e-5) for p, q in zip(d[:4], e[:4]))\n"
        "g = F.gru_forward(x[..., :9], W[:9], np.zeros(3, np.float32), h0, None, False, False, True)\n"
        "assert np.allclose(g[0], gru_ref.gru_forward(x[..., :9], W[:9], np.zeros(3, np.float32), h0, None,"
        " False, False, False)[0], atol=1e-5)\n"
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
