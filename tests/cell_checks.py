"""Checks shared by the tests of the cell kinds beyond PyTorch's (``tests/test_cell_<kind>.py``).

Each takes the layer class (and the cell class or the kind's name) and the kind's options, and
checks against an outside truth: central finite differences in float64 through the layer
(stacked, bidirectional, lengths, batch_first), the compiled twin against the NumPy reference
(minGRU/minLSTM: both algorithms), the cell against the layer; and that the diagnostics,
saving, export/interop (a refusal naming the class) and a small learning task work.
"""

from __future__ import annotations

import itertools

import numpy as np

import rnnkit
from helpers import check_fd
from kernel_cases import problem, run
from rnnkit import diagnostics

TOL = {np.float32: 2e-5, np.float64: 1e-11}
CASES = list(itertools.product((np.float32, np.float64), (False, True), (False, True), (True, False),
                               ("loop", "scan")))   # dtype, reverse, lengths, bias, algorithm


def layer_gradients_match_finite_differences(layer_cls, backend, **options):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(0)
    layer = layer_cls(3, 4, num_layers=2, bidirectional=True, batch_first=True, dtype=np.float64, rng=1, **options)
    x = rng.standard_normal((3, 5, 3))                           # (B, T, I)
    lengths = np.array([5, 2, 4])
    h0 = rng.standard_normal((4, 3, 4))
    d_out, d_hn = rng.standard_normal((3, 5, 8)), rng.standard_normal((4, 3, 4))
    layer(x, h0, lengths=lengths)
    dx, dh0 = layer.backward(d_out, d_hn)

    def loss():
        with rnnkit.no_grad():
            out, h_n = layer(x, h0, lengths=lengths)
        return float((out * d_out).sum() + (h_n * d_hn).sum())

    cfg = f"{backend} {options}"
    for name, p in layer.named_parameters():
        check_fd(f"grad of {name}", p.grad, loss, p.data, rng, n=5, config=cfg, rtol=1e-7)
    check_fd("dx", dx, loss, x, rng, n=6, config=cfg, rtol=1e-7)
    check_fd("dh0", dh0, loss, h0, rng, n=6, config=cfg, rtol=1e-7)


def compiled_equals_reference(kind, dtype, reverse, with_lengths, bias, algorithm):
    rng = np.random.default_rng([int(reverse), int(with_lengths), int(bias), len(algorithm),
                                 np.dtype(dtype).itemsize])
    p = problem(kind, 7, 4, 5, 6, rng, bias=bias, lengths=with_lengths, algorithm=algorithm).astype(dtype)
    assert p.w.W_hh is None and p.w.b_hh is None
    want = run(p, "numpy", reverse)
    for keep in (True, False):
        got = run(p, "numba", reverse, keep=keep)
        assert set(got) <= set(want), sorted(set(got) - set(want))
        if keep:
            assert set(got) == set(want), sorted(set(want) - set(got))
        for name, v in got.items():
            if want[name] is None or isinstance(want[name], (str, bool)):
                assert v == want[name], name
                continue
            assert v.dtype == dtype, f"{name} {v.dtype}"
            scale = max(1.0, float(np.abs(want[name]).max()))
            err = float(np.abs(v - want[name]).max())
            assert err <= TOL[dtype] * scale, f"{name}: compiled {algorithm} differs from reference by {err:.3g}"


def cell_equals_layer(layer_cls, cell_cls, backend, **options):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(5)
    cell = cell_cls(3, 6, dtype=np.float64, rng=2, **options)
    layer = layer_cls(3, 6, dtype=np.float64, rng=3, **options)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = rng.standard_normal((4, 2, 3))
    out, _ = layer(x)
    h = np.zeros((2, 6))
    for t in range(4):
        h = cell(x[t], h)                                        # training path
        np.testing.assert_allclose(h, out[t], rtol=1e-12, atol=1e-14)
    with rnnkit.no_grad():
        h_eval = cell(x[0])                                      # the kernels' one-step path
    np.testing.assert_allclose(h_eval, out[0], rtol=1e-12, atol=1e-14)
    dx, dh = cell.backward(np.ones((2, 6)))
    assert dx.shape == (2, 3) and dh.shape == (2, 6)


def diagnostics_run(layer_cls, gates, kind="sigmoid"):
    layer = layer_cls(3, 5, num_layers=2, bidirectional=True, rng=0)
    x = np.random.default_rng(3).standard_normal((8, 2, 3))
    stats = diagnostics.gate_stats(layer, x, lengths=np.array([8, 5]))
    assert set(stats) == {f"{w}/{g}" for w in ("l0", "l0_reverse", "l1", "l1_reverse") for g in gates}
    assert all(s.kind == kind for s in stats.values())
    flow = diagnostics.gradient_flow(layer, x)
    assert flow.dh.shape == (2, 2, 8, 2, 5) and np.isfinite(flow.dh).all()
    assert diagnostics.jacobian_norms(layer, x).shape == (2, 2, 8)


def save_load_round_trip(layer_cls, tmp_path, **options):
    layer = layer_cls(3, 4, num_layers=2, bidirectional=True, rng=0, **options)
    x = np.random.default_rng(1).standard_normal((5, 2, 3)).astype(np.float32)
    want, _ = layer(x)
    rnnkit.save_model(layer, tmp_path / "m.rnnkit")
    back = rnnkit.load_model(tmp_path / "m.rnnkit")
    assert type(back) is layer_cls and all(getattr(back, k) == v for k, v in options.items())
    got, _ = back(x)
    np.testing.assert_array_equal(got, want)


def long_scan_equals_loop(layer_cls):
    """T = 3000 in float32: the scan (float64 inside) stays within float32 rounding of the loop."""
    rnnkit.set_backend("numba")
    x = np.random.default_rng(4).standard_normal((3000, 2, 3)).astype(np.float32)
    loop = layer_cls(3, 8, algorithm="loop", rng=0)
    par = layer_cls(3, 8, algorithm="scan", rng=0)
    a, _ = loop(x)
    b, _ = par(x)
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    da, _ = loop.backward(np.ones_like(a))
    db, _ = par.backward(np.ones_like(b))
    np.testing.assert_allclose(db, da, rtol=1e-4, atol=1e-4)


def export_and_interop_refuse(layer_cls):
    import pytest

    from rnnkit import nn

    model = nn.Sequential(layer_cls(2, 3, rng=0))
    pytest.importorskip("onnx", reason="onnx is not installed")
    from rnnkit.export import UnsupportedModuleError, to_onnx

    with pytest.raises(UnsupportedModuleError, match=layer_cls.__name__):
        to_onnx(model, "unused.onnx")
    pytest.importorskip("torch", reason="torch is not installed")
    from rnnkit.interop import to_torch

    with pytest.raises(TypeError, match=layer_cls.__name__):
        to_torch(model)


def fit_adding(rnn, rng, T, steps, lr=1e-2, after_step=None) -> float:
    """Train ``rnn`` + a Linear head on the adding problem (batches of 64); the test MSE on 500
    fresh sequences (predicting the mean gives 1/6). ``after_step(rnn)`` runs after each update."""
    from rnnkit import nn
    from rnnkit.datasets import adding_problem
    from rnnkit.optim import Adam

    head = nn.Linear(rnn.hidden_size, 1, rng=7)
    opt = Adam(list(rnn.parameters()) + list(head.parameters()), lr=lr)
    loss = nn.MSELoss()
    for _ in range(steps):
        data = adding_problem(T, 64, rng=rng)
        out, _ = rnn(data.X)
        loss(head(out[-1]), data.y)
        opt.zero_grad()
        d_out = np.zeros_like(out)
        d_out[-1] = head.backward(loss.backward())
        rnn.backward(d_out)
        opt.step()
        if after_step is not None:
            after_step(rnn)
    test = adding_problem(T, 500, seed=99)
    with rnnkit.no_grad():
        out, _ = rnn(test.X)
        return float(np.mean((head(out[-1]) - test.y) ** 2))
