"""rnnkit.diagnostics: per-step gradients, Jacobian products, gate statistics, plots.

Oracles: PyTorch autograd (``retain_grad`` on every step's state of a torch model unrolled
with the same weights, itself checked against the full ``torch.nn`` layer), central finite
differences through the layer's own forward, ``torch.autograd.functional.jacobian``, and
gate equations written out here in NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import diagnostics as dg
from rnnkit import nn
from rnnkit.nn import init

F64 = np.float64


def make_layer(mode, I=3, H=4, **kw):
    cls = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[mode]
    return cls(I, H, dtype=F64, rng=7, **kw)


def sfx(l, d):
    return f"_l{l}" + ("_reverse" if d else "")


# -- PyTorch oracle: step-by-step unroll with retain_grad -----------------------------------
def torch_unrolled(torch, layer, x, lengths, d_out):
    """dL/dh_t (and dL/dc_t) of every (l, d, t) by torch autograd; L = sum(out * d_out).

    Also returns torch's full layer output (packed when lengths are given) and the unrolled
    output, so the oracle itself is checked against torch.nn.
    """
    mode, L, D = layer.mode, layer.num_layers, layer.num_directions
    H, P = layer.hidden_size, layer.output_size
    T, B, _ = x.shape
    xt = torch.tensor(x)
    mask = torch.ones(T, B, 1, dtype=torch.float64)
    if lengths is not None:
        mask = (torch.arange(T)[:, None] < torch.tensor(lengths)[None, :]).double()[:, :, None]
    kw = {"dtype": torch.float64, "bias": layer.bias}
    merge = {"concat": lambda a, b: torch.cat([a, b], dim=2), "sum": lambda a, b: a + b,
             "mul": lambda a, b: a * b, "ave": lambda a, b: (a + b) / 2}[layer.merge_mode]
    full = {"RNN": lambda I: torch.nn.RNN(I, H, num_layers=L, nonlinearity=layer.nonlinearity,
                                          bidirectional=D == 2, **kw),
            "LSTM": lambda I: torch.nn.LSTM(I, H, num_layers=L, proj_size=layer.proj_size,
                                            bidirectional=D == 2, **kw),
            "GRU": lambda I: torch.nn.GRU(I, H, num_layers=L, bidirectional=D == 2, **kw)}[mode](x.shape[2])
    layer_in = xt
    hs = {}
    cs = {}
    for l in range(L):
        outs = []
        for d in range(D):
            one = {"RNN": lambda I: torch.nn.RNN(I, H, nonlinearity=layer.nonlinearity, **kw),
                   "LSTM": lambda I: torch.nn.LSTM(I, H, proj_size=layer.proj_size, **kw),
                   "GRU": lambda I: torch.nn.GRU(I, H, **kw)}[mode](layer_in.shape[2])
            sd = layer.state_dict()
            one.load_state_dict({k[: k.index("_l")] + "_l0": torch.tensor(v) for k, v in sd.items()
                                 if k.endswith(sfx(l, d))})
            h = torch.zeros(1, B, P, dtype=torch.float64)
            c = torch.zeros(1, B, H, dtype=torch.float64)
            out = [None] * T
            for t in (range(T - 1, -1, -1) if d else range(T)):
                if mode == "LSTM":
                    _, (h_new, c_new) = one(layer_in[t:t + 1], (h, c))
                    c_new.retain_grad()
                    cs[l, d, t] = c_new
                else:
                    _, h_new = one(layer_in[t:t + 1], h)
                h_new.retain_grad()
                hs[l, d, t] = h_new
                m = mask[t][None]
                out[t] = (m * h_new)[0]
                h = torch.where(m > 0, h_new, h)
                if mode == "LSTM":
                    c = torch.where(m > 0, c_new, c)
            outs.append(torch.stack(out))
        layer_in = outs[0] if D == 1 else merge(*outs)
    (layer_in * torch.tensor(d_out)).sum().backward()
    dh = np.full((L, D, T, B, P), np.nan)
    dc = np.full((L, D, T, B, H), np.nan) if mode == "LSTM" else None
    for (l, d, t), h in hs.items():
        dh[l, d, t] = h.grad[0].numpy()
        dh[l, d, t][mask[t, :, 0] == 0] = np.nan                # padded steps: no h_t of their own
        if mode == "LSTM":
            g = cs[l, d, t].grad                            # None: c_t reaches L only via h_t
            dc[l, d, t] = 0.0 if g is None else g[0].numpy()
            dc[l, d, t][mask[t, :, 0] == 0] = np.nan
    if layer.merge_mode != "concat":                        # torch has no merge modes: rnnkit's layer
        return dh, dc, layer_in.detach().numpy(), layer.eval()(x, lengths=lengths)[0]
    full.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    with torch.no_grad():
        if lengths is None:
            ref_out = full(xt)[0]
        else:
            packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
            ref_out = torch.nn.utils.rnn.pad_packed_sequence(full(packed)[0], total_length=T)[0]
    return dh, dc, layer_in.detach().numpy(), ref_out.numpy()


CONFIGS = [
    ("RNN", {}, None, "last"),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}, None, "every"),
    ("LSTM", {}, None, "last"),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 2}, [6, 4, 2], "last"),
    ("GRU", {"bidirectional": True}, [3, 6, 5], "every"),
    ("GRU", {"num_layers": 2}, None, "last"),
    ("GRU", {"num_layers": 2, "bidirectional": True, "merge_mode": "mul"}, [5, 6, 3], "last"),
    ("RNN", {"num_layers": 2, "bidirectional": True, "merge_mode": "ave"}, None, "every"),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "merge_mode": "sum"}, None, "last"),
]


@pytest.mark.parametrize("mode,kw,lengths,loss", CONFIGS)
def test_gradient_flow_matches_torch_autograd(mode, kw, lengths, loss):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    layer = make_layer(mode, **kw)
    T, B = 6, 3
    x = rng.standard_normal((T, B, 3))
    F = layer.output_size * (layer.num_directions if layer.merge_mode == "concat" else 1)
    lens = np.array(lengths) if lengths is not None else None
    if loss == "last":
        d_full = np.zeros((T, B, F))
        last = np.full(B, T - 1) if lens is None else lens - 1
        d_full[last, np.arange(B)] = 1.0
        flow = dg.gradient_flow(layer, x, lengths=lens)
    else:
        d_full = rng.standard_normal((T, B, F))
        flow = dg.gradient_flow(layer, x, lengths=lens, d_out=d_full)
    dh, dc, unrolled_out, torch_out = torch_unrolled(torch, layer, x, lens, d_full)
    config = f"{mode} {kw} lengths={lengths} loss={loss}"
    np.testing.assert_allclose(unrolled_out, torch_out, rtol=1e-10, atol=1e-12,
                               err_msg=f"oracle unroll vs full layer output [{config}]")
    np.testing.assert_array_equal(np.isnan(flow.dh), np.isnan(dh), err_msg=f"padded steps [{config}]")
    ok = ~np.isnan(dh)
    np.testing.assert_allclose(flow.dh[ok], dh[ok], rtol=1e-9, atol=1e-13, err_msg=f"dL/dh_t [{config}]")
    if mode == "LSTM":
        ok = ~np.isnan(dc)
        np.testing.assert_allclose(flow.dc[ok], dc[ok], rtol=1e-9, atol=1e-13, err_msg=f"dL/dc_t [{config}]")
    assert flow.norms.shape == (layer.num_layers, layer.num_directions, T)
    expected_norms = np.nanmean(np.linalg.norm(dh, axis=-1), axis=-1)
    np.testing.assert_allclose(flow.norms, expected_norms, rtol=1e-9, err_msg=f"norms [{config}]")


# -- finite differences through the layer's own (whole-sequence) forward --------------------
@pytest.mark.parametrize("mode,kw", [
    ("RNN", {"nonlinearity": "sigmoid"}),
    ("GRU", {"reset_after": False}),
    ("LSTM", {"proj_size": 2}),
])
def test_gradient_flow_matches_finite_differences(mode, kw):
    """dL/dh_t[k] = (L(h_t + eps e_k) - L(h_t - eps e_k)) / 2 eps, with L = sum(out[T-1])."""
    rng = np.random.default_rng(5)
    layer = make_layer(mode, **kw).eval()
    T, B = 5, 2
    x = rng.standard_normal((T, B, 3))
    flow = dg.gradient_flow(layer, x)
    eps = 1e-6
    for t in (0, 2):
        _, state = layer(x[: t + 1])                        # state after step t
        P = layer.output_size
        for k in range(P):
            vals = []
            for sign in (1, -1):
                if mode == "LSTM":
                    h = state[0].copy()
                    h[0, :, k] += sign * eps
                    out, _ = layer(x[t + 1:], (h, state[1]))
                else:
                    h = state.copy()
                    h[0, :, k] += sign * eps
                    out, _ = layer(x[t + 1:], h)
                vals.append(out[-1].sum(axis=1))            # (B,) each sequence's own loss
            fd = (vals[0] - vals[1]) / (2 * eps)
            np.testing.assert_allclose(flow.dh[0, 0, t, :, k], fd, rtol=1e-6, atol=1e-9,
                                       err_msg=f"{mode} {kw} t={t} k={k}")


# -- Jacobian products against torch.autograd.functional.jacobian ---------------------------
def torch_step_fn(torch, layer):
    P, H = layer.output_size, layer.hidden_size
    kw = {"dtype": torch.float64}
    one = {"RNN": lambda: torch.nn.RNN(3, H, nonlinearity=layer.nonlinearity, **kw),
           "LSTM": lambda: torch.nn.LSTM(3, H, **kw),
           "GRU": lambda: torch.nn.GRU(3, H, **kw)}[layer.mode]()
    one.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})

    def run(xs, s):                                         # s (S,) for one sequence
        if layer.mode == "LSTM":
            h, c = s[:P].reshape(1, 1, P), s[P:].reshape(1, 1, H)
            for x_t in xs:
                _, (h, c) = one(x_t.reshape(1, 1, 3), (h, c))
            return torch.cat([h.reshape(-1), c.reshape(-1)])
        h = s.reshape(1, 1, P)
        for x_t in xs:
            _, h = one(x_t.reshape(1, 1, 3), h)
        return h.reshape(-1)
    return run


@pytest.mark.parametrize("mode", ["RNN", "GRU", "LSTM"])
def test_jacobian_norms_match_torch_jacobian(mode):
    """Sequence b has length T_b; its final state is the one after step T_b - 1."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    layer = make_layer(mode)
    T, B = 5, 3
    lengths = np.array([5, 3, 4])
    x = rng.standard_normal((T, B, 3))
    ours = dg.jacobian_norms(layer, x, lengths=lengths)
    ours_fro = dg.jacobian_norms(layer, x, lengths=lengths, norm="fro")
    ours_h = dg.jacobian_norms(layer, x, lengths=lengths, state="h")
    run = torch_step_fn(torch, layer)
    P = layer.output_size
    expected = np.full((3, T, B), np.nan)
    for b in range(B):
        xs = torch.tensor(x[: lengths[b], b])
        s = torch.zeros(P + (layer.hidden_size if mode == "LSTM" else 0), dtype=torch.float64)
        states = []
        for t in range(lengths[b]):                         # state after step t
            s = run(xs[t:t + 1], s)
            states.append(s.detach())
        for t in range(lengths[b]):
            J = torch.autograd.functional.jacobian(lambda s0, t=t, xs=xs: run(xs[t + 1:], s0), states[t]).numpy()
            expected[0, t, b] = np.linalg.norm(J, 2)
            expected[1, t, b] = np.linalg.norm(J, "fro")
            expected[2, t, b] = np.linalg.norm(J[:P, :P], 2)
    mean = np.nanmean(expected, axis=2)
    np.testing.assert_allclose(ours[0, 0], mean[0], rtol=1e-9, err_msg=f"{mode} spectral")
    np.testing.assert_allclose(ours_fro[0, 0], mean[1], rtol=1e-9, err_msg=f"{mode} Frobenius")
    np.testing.assert_allclose(ours_h[0, 0], mean[2], rtol=1e-9, err_msg=f"{mode} dh/dh block")
    assert ours[0, 0, -1] == pytest.approx(1.0)             # ds_T/ds_T = I


def test_jacobian_norms_bidirectional_lengths_shape_and_padding():
    layer = make_layer("GRU", num_layers=2, bidirectional=True)
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    jn = dg.jacobian_norms(layer, x, lengths=[6, 3])
    assert jn.shape == (2, 2, 6)
    assert np.all(np.isfinite(jn))                          # every step is real for sequence 0
    np.testing.assert_allclose(jn[:, 1, 0], 1.0)            # reverse direction ends at t=0
    np.testing.assert_allclose(jn[:, 0, -1], 1.0)           # forward direction ends at t=T-1


# -- gate statistics against the equations --------------------------------------------------
def _sig(a):
    return 1 / (1 + np.exp(-a))


def numpy_gates(layer, x):
    """Gate activations of a one-layer LSTM/GRU by the equations; also returns the output."""
    p = {k[:-3]: v for k, v in layer.state_dict().items()}
    H = layer.hidden_size
    T, B, _ = x.shape
    h = np.zeros((B, H))
    c = np.zeros((B, H))
    gates, out = [], []
    for t in range(T):
        gi = x[t] @ p["weight_ih"].T + p["bias_ih"]
        gh = h @ p["weight_hh"].T + p["bias_hh"]
        if layer.mode == "LSTM":
            i, f = _sig(gi[:, :H] + gh[:, :H]), _sig(gi[:, H:2 * H] + gh[:, H:2 * H])
            g, o = np.tanh(gi[:, 2 * H:3 * H] + gh[:, 2 * H:3 * H]), _sig(gi[:, 3 * H:] + gh[:, 3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            gates.append({"input": i, "forget": f, "cell": g, "output": o, "tanh_c": np.tanh(c)})
        else:
            r, z = _sig(gi[:, :H] + gh[:, :H]), _sig(gi[:, H:2 * H] + gh[:, H:2 * H])
            n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            h = (1 - z) * n + z * h
            gates.append({"reset": r, "update": z, "new": n})
        out.append(h)
    return {k: np.stack([g[k] for g in gates]) for k in gates[0]}, np.stack(out)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_gate_stats_match_equations(mode):
    rng = np.random.default_rng(2)
    layer = make_layer(mode, H=5)
    x = 2.0 * rng.standard_normal((8, 4, 3))
    gates, out = numpy_gates(layer, x)
    with_layer, _ = layer.eval()(x)
    np.testing.assert_allclose(out, with_layer, rtol=1e-10, err_msg="test equations vs layer output")
    st = dg.gate_stats(layer, x, bins=10, sigmoid_low=0.2, sigmoid_high=0.8, tanh_threshold=0.5)
    assert set(st) == {f"l0/{k}" for k in gates}
    for k, v in gates.items():
        s = st[f"l0/{k}"]
        assert s.mean == pytest.approx(v.mean(), rel=1e-10), k
        assert s.std == pytest.approx(v.std(), rel=1e-10), k
        np.testing.assert_allclose(s.mean_per_step, v.mean(axis=(1, 2)), rtol=1e-10, err_msg=k)
        if s.kind == "sigmoid":
            lo, hi, rng_ = (v < 0.2).mean(), (v > 0.8).mean(), (0, 1)
        else:
            lo, hi, rng_ = (v < -0.5).mean(), (v > 0.5).mean(), (-1, 1)
        assert (s.frac_low, s.frac_high) == pytest.approx((lo, hi)), k
        np.testing.assert_allclose(s.hist, np.histogram(v, bins=10, range=rng_)[0] / v.size, err_msg=k)
    sat = dg.saturation(layer, x, sigmoid_low=0.2, sigmoid_high=0.8, tanh_threshold=0.5)
    assert sat["l0/forget" if mode == "LSTM" else "l0/update"] == pytest.approx(
        st["l0/forget" if mode == "LSTM" else "l0/update"].saturated)


def test_gate_stats_relu_rnn_and_padding():
    layer = make_layer("RNN", nonlinearity="relu", bidirectional=True)
    x = np.random.default_rng(4).standard_normal((5, 3, 3))
    lengths = np.array([5, 2, 1])
    st = dg.gate_stats(layer, x, lengths=lengths)
    assert set(st) == {"l0/h", "l0_reverse/h"}
    out, _ = layer.eval()(x, lengths=lengths)               # (T, B, 2H), padded steps zero
    valid = np.arange(5)[:, None] < lengths[None, :]
    fwd = out[:, :, :4][valid]                              # real steps only
    s = st["l0/h"]
    assert s.kind == "relu"
    assert s.mean == pytest.approx(fwd.mean(), rel=1e-10)
    assert s.frac_low == pytest.approx((fwd == 0).mean())   # dead units
    assert np.isnan(st["l0/h"].mean_per_step).sum() == 0
    assert s.hist.sum() == pytest.approx(1.0)


# -- vanishing and exploding, visible on seeded examples ------------------------------------
def test_vanishing_tanh_rnn_vs_lstm_with_forget_bias():
    x = np.random.default_rng(0).standard_normal((40, 4, 3))
    rnn = make_layer("RNN", H=16)
    rnn.weight_hh_l0.data *= 0.5                            # small recurrent weights
    lstm = init.lstm_forget_bias_(make_layer("LSTM", H=16), 2.0)
    r_rnn = dg.gradient_flow(rnn, x).first_to_last()
    r_lstm = dg.gradient_flow(lstm, x).first_to_last()
    assert r_rnn < 1e-12                                    # measured ~5e-22: vanished
    assert r_lstm > 1e-3                                    # measured ~4e-2
    assert r_lstm > 1e6 * r_rnn


def test_exploding_relu_rnn_and_state_clipping():
    res = dg.compare_cells(T=40, H=16, seed=1, nonlinearities=("relu",), cells=(),
                           recurrent_scale=6.0, clip=2.0)
    assert set(res) == {"RNN relu", "RNN relu, clip=2"}
    assert res["RNN relu"].first_to_last() > 1e5           # exploded: measured ~4e7
    clipped = res["RNN relu, clip=2"].norms
    assert np.all(clipped <= 2.0 + 1e-12)
    assert np.all(clipped > 1.0)                            # capped, neither exploding nor vanishing


def test_compare_cells_default_shows_gates_help():
    res = dg.compare_cells(T=60, H=16, seed=0, B=4)
    assert list(res) == ["RNN tanh", "RNN relu", "RNN sigmoid", "LSTM", "GRU"]
    ratios = {k: f.first_to_last() for k, f in res.items()}
    assert ratios["LSTM"] > 1e3 * ratios["RNN tanh"]
    assert ratios["RNN sigmoid"] < ratios["RNN tanh"]       # sigmoid' <= 1/4


def test_float32_agrees_with_float64():
    layer = make_layer("LSTM")
    x = np.random.default_rng(8).standard_normal((6, 2, 3))
    f64 = dg.gradient_flow(layer, x)
    f32 = dg.gradient_flow(layer, x.astype(np.float32), dtype=np.float32)
    assert f32.dh.dtype == np.float32
    np.testing.assert_allclose(f32.dh, f64.dh, rtol=1e-4, atol=1e-6)


def test_batch_first_and_unbatched_inputs():
    layer = make_layer("GRU", batch_first=True)
    x = np.random.default_rng(9).standard_normal((2, 5, 3))         # (B, T, I)
    a = dg.gradient_flow(layer, x)
    b = dg.gradient_flow(make_layer("GRU"), x.transpose(1, 0, 2))
    np.testing.assert_allclose(a.dh, b.dh)
    one = dg.gradient_flow(make_layer("GRU"), x[0].copy())          # (T, I)
    np.testing.assert_allclose(one.dh[..., 0, :], b.dh[..., 0, :])


# -- errors ---------------------------------------------------------------------------------
def test_argument_errors():
    layer = make_layer("RNN")
    x = np.zeros((4, 2, 3))
    with pytest.raises(TypeError, match="layer must be"):
        dg.gradient_flow(nn.RNNCell(3, 4), x)
    with pytest.raises(ValueError, match="d_out expected shape"):
        dg.gradient_flow(layer, x, d_out=np.ones((4, 2, 5)))
    with pytest.raises(ValueError, match=r"d_out expected shape \(2, 4\)"):
        dg.gradient_flow(layer, x, d_out=np.ones((2, 5)))
    with pytest.raises(ValueError, match="clip must be"):
        dg.gradient_flow(layer, x, clip=-1.0)
    with pytest.raises(ValueError, match=r"x expected 3 features.*\(4, 2, 7\)"):
        dg.gradient_flow(layer, np.zeros((4, 2, 7)))
    with pytest.raises(ValueError, match="lengths"):
        dg.gradient_flow(layer, x, lengths=[5, 1])
    with pytest.raises(ValueError, match="state must be one of"):
        dg.jacobian_norms(layer, x, state="c")
    with pytest.raises(ValueError, match="sigmoid_low must be below"):
        dg.gate_stats(layer, x, sigmoid_low=0.9, sigmoid_high=0.1)
    with pytest.raises(ValueError, match="nonlinearities"):
        dg.compare_cells(T=5, nonlinearities=("gelu",))


# -- plots ----------------------------------------------------------------------------------
def test_plots_write_png(tmp_path):
    pytest.importorskip("matplotlib")
    res = dg.compare_cells(T=20, H=8, B=2, clip=1.0)
    p1 = dg.plot_gradient_flow(res, tmp_path / "flow.png", title="one panel")
    p2 = dg.plot_gradient_flow({"a": res, "b": {"jac": dg.jacobian_norms(make_layer("GRU"), np.ones((5, 1, 3)))}},
                               tmp_path / "panels.png")
    lstm = init.lstm_forget_bias_(make_layer("LSTM"), 1.0)
    x = np.random.default_rng(1).standard_normal((10, 2, 3))
    p3 = dg.plot_gate_stats({"LSTM": dg.gate_stats(lstm, x), "GRU": dg.gate_stats(make_layer("GRU"), x)},
                            tmp_path / "gates.png")
    for p in (p1, p2, p3):
        data = open(p, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000, p
    with pytest.raises(TypeError, match="GradientFlow"):
        dg.plot_gradient_flow({"bad": [1, 2]}, tmp_path / "bad.png")
