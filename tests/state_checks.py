"""Checks for the cell kinds with extra parameters and possibly two state parts (the LayerNorm
LSTM/GRU and the peephole LSTM), complementing ``cell_checks`` (which assumes one state part
and no ``CellWeights.extra``).

Outside truths: central finite differences in float64 through the layer (every parameter, the
input and every initial state part; stacked, bidirectional, lengths, batch_first), the NumPy
reference against the compiled twin (every cache array and every gradient, ``d_extra``
included), and the cell against the layer.
"""

from __future__ import annotations

import numpy as np

import rnnkit
from helpers import check_fd
from rnnkit.kernels import CellWeights, get_kind, implementation

TOL = {np.float32: 2e-5, np.float64: 1e-11}


def _tuple(s):
    return s if isinstance(s, tuple) else (s,)


def layer_gradients_match_finite_differences(layer_cls, backend, bias=True, **options):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(0)
    layer = layer_cls(3, 4, num_layers=2, bidirectional=True, batch_first=True, bias=bias, dtype=np.float64, rng=1,
                      **options)
    n_states = len(layer.kind.state_names)
    x = rng.standard_normal((3, 5, 3))                           # (B, T, I)
    lengths = np.array([5, 2, 4])
    s0 = tuple(rng.standard_normal((4, 3, 4)) for _ in range(n_states))
    d_out = rng.standard_normal((3, 5, 8))
    d_n = tuple(rng.standard_normal((4, 3, 4)) for _ in range(n_states))
    hx = s0 if n_states > 1 else s0[0]
    layer(x, hx, lengths=lengths)
    dx, ds0 = layer.backward(d_out, d_n if n_states > 1 else d_n[0])

    def loss():
        with rnnkit.no_grad():
            out, s_n = layer(x, hx, lengths=lengths)
        return float((out * d_out).sum() + sum((s * d).sum() for s, d in zip(_tuple(s_n), d_n)))

    cfg = f"{backend} bias={bias} {options}"
    for name, p in layer.named_parameters():
        check_fd(f"grad of {name}", p.grad, loss, p.data, rng, n=5, config=cfg, rtol=1e-7)
    check_fd("dx", dx, loss, x, rng, n=6, config=cfg, rtol=1e-7)
    for k, (g, s) in enumerate(zip(_tuple(ds0), s0)):
        check_fd(f"d state0[{k}]", g, loss, s, rng, n=6, config=cfg, rtol=1e-7)


def random_weights(kind, I, H, rng, bias=True, dtype=np.float64) -> CellWeights:
    """Random weights of ``kind`` (standard names in their slots, the rest in ``extra``)."""
    shapes = get_kind(kind).parameter_shapes(I, H, H)
    a = {n: (rng.standard_normal(s) * (1 / np.sqrt(s[-1]) if len(s) == 2 else 0.5)).astype(dtype)
         for n, s in shapes.items() if bias or not n.startswith("bias")}
    std = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
    return CellWeights(*(a.get(n) for n in std), {n: v for n, v in a.items() if n not in std})


def run_all(kind, backend, x, w, s0, lengths, reverse, d_out, d_state, options, keep=True) -> dict:
    """Forward (and backward) on ``backend``: every array of the contract, by name."""
    k = get_kind(kind)
    impl = implementation(k, backend)
    fwd = impl.forward(x, w, s0, lengths, reverse, keep, options)
    got = {"out": fwd.out, **{f"{n}_n": s for n, s in zip(k.state_names, fwd.state)}}
    got.update({f"step.{n}": s for n, s in zip(k.state_names, impl.step(x[0], s0, w, options))})
    if not keep:
        assert fwd.cache is None
        return got
    assert type(fwd.cache) is k.cache
    for field, v in fwd.cache._asdict().items():
        if isinstance(v, np.ndarray) and field not in ("x", "lengths"):
            got[f"cache.{field}"] = v
    g = impl.backward(d_out, d_state, w, fwd.cache)
    for field in ("dx", "dW_ih", "dW_hh", "db_ih", "db_hh", "dW_hr"):
        got[field] = getattr(g, field)
    got.update({f"d{n}0": s for n, s in zip(k.state_names, g.d_state0)})
    got.update({f"d_extra.{n}": v for n, v in (g.d_extra or {}).items()})
    return got


def compiled_equals_reference(kind, dtype, reverse, with_lengths, bias, **options):
    k = get_kind(kind)
    rng = np.random.default_rng([int(reverse), int(with_lengths), int(bias), np.dtype(dtype).itemsize])
    T, B, I, H = 6, 4, 5, 7
    w = random_weights(kind, I, H, rng, bias, dtype)
    x = rng.standard_normal((T, B, I)).astype(dtype)
    s0 = tuple(rng.standard_normal((B, H)).astype(dtype) for _ in k.state_names)
    lengths = np.array([T - 1, T, 2, 1]) if with_lengths else None
    d_out = rng.standard_normal((T, B, H)).astype(dtype)
    d_state = tuple(rng.standard_normal((B, H)).astype(dtype) for _ in k.state_names)
    opts = k.check_options(options)
    want = run_all(k, "numpy", x, w, s0, lengths, reverse, d_out, d_state, opts)
    assert {f"d_extra.{n}" for n in w.extra} <= set(want), "the reference returned no gradient for some extra"
    for keep in (True, False):
        got = run_all(k, "numba", x, w, s0, lengths, reverse, d_out, d_state, opts, keep=keep)
        assert set(got) == set(want) if keep else set(got) <= set(want), sorted(set(got) ^ set(want))
        for name, v in got.items():
            if want[name] is None:
                assert v is None, name
                continue
            assert v.dtype == dtype, f"{name} {v.dtype}"
            assert v.shape == want[name].shape, f"{name} {v.shape} != {want[name].shape}"
            scale = max(1.0, float(np.abs(want[name]).max()))
            err = float(np.abs(v - want[name]).max())
            assert err <= TOL[dtype] * scale, f"{name}: compiled differs from reference by {err:.3g}"


def cell_equals_layer(layer_cls, cell_cls, backend, **options):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(5)
    cell = cell_cls(3, 6, dtype=np.float64, rng=2, **options)
    layer = layer_cls(3, 6, dtype=np.float64, rng=3, **options)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    n_states = len(cell.kind.state_names)
    x = rng.standard_normal((4, 2, 3))
    out, _ = layer(x)
    s = tuple(np.zeros((2, 6)) for _ in range(n_states))
    for t in range(4):
        s = _tuple(cell(x[t], s if n_states > 1 else s[0]))        # training path
        np.testing.assert_allclose(s[0], out[t], rtol=1e-12, atol=1e-14)
    with rnnkit.no_grad():
        s_eval = _tuple(cell(x[0]))                                  # the kernels' one-step path
    np.testing.assert_allclose(s_eval[0], out[0], rtol=1e-12, atol=1e-14)
    ones = tuple(np.ones((2, 6)) for _ in range(n_states))
    dx, ds = cell.backward(ones if n_states > 1 else ones[0])
    assert dx.shape == (2, 3) and all(d.shape == (2, 6) for d in _tuple(ds))


def diagnostics_run(layer_cls, **options):
    """gate_stats reports every activation the record names, with its kind; gradient_flow and
    jacobian_norms run through the stacked, bidirectional layer."""
    from rnnkit import diagnostics

    layer = layer_cls(3, 5, num_layers=2, bidirectional=True, rng=0, **options)
    acts = dict(layer.kind.activations(layer.options))
    x = np.random.default_rng(3).standard_normal((8, 2, 3))
    stats = diagnostics.gate_stats(layer, x, lengths=np.array([8, 5]))
    assert set(stats) == {f"{w}/{g}" for w in ("l0", "l0_reverse", "l1", "l1_reverse") for g in acts}
    assert all(s.kind == acts[name.split("/")[1]] for name, s in stats.items())
    flow = diagnostics.gradient_flow(layer, x)
    assert flow.dh.shape == (2, 2, 8, 2, 5) and np.isfinite(flow.dh).all()
    assert diagnostics.jacobian_norms(layer, x).shape == (2, 2, 8)
