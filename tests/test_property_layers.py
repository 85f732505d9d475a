"""Property-based tests of the recurrent layers (hypothesis) over configurations, lengths,
dtypes and memory layouts, against PyTorch (float64) and against the layer's own float64 twin.

Properties, for random small configurations (cell kind, layers, directions, projection,
batch_first, bias, lengths) in both backends:

- outputs, final states, the input and state gradients and every parameter gradient equal
  PyTorch's (pack_padded_sequence for lengths);
- a float32 layer agrees with the same weights in float64 to float32 accuracy;
- the memory layout of the input (Fortran order, strided, transposed views, negative strides)
  changes nothing: results are bitwise those of a C-contiguous copy.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnkit
from helpers import RTOL, assert_results_close, random_problem, rnnkit_run, torch_reference
from rnnkit import nn

pytest.importorskip("torch", reason="torch (the oracle of these tests) is not installed")

KINDS = ("rnn_tanh", "rnn_relu", "lstm", "lstm_proj", "gru")


@st.composite
def configs(draw, torch_only: bool = True):
    kind = draw(st.sampled_from(KINDS))
    H = draw(st.integers(2, 5))
    cfg = {
        "kind": kind, "I": draw(st.integers(1, 4)), "H": H, "T": draw(st.integers(1, 5)),
        "B": draw(st.integers(1, 3)), "num_layers": draw(st.integers(1, 2)),
        "bidirectional": draw(st.booleans()), "batch_first": draw(st.booleans()), "bias": draw(st.booleans()),
        "backend": draw(st.sampled_from(["numpy", "numba"])), "seed": draw(st.integers(0, 2**31)),
    }
    cfg["lengths"] = draw(st.none() | st.lists(st.integers(1, cfg["T"]), min_size=cfg["B"], max_size=cfg["B"]))
    if kind == "lstm_proj":
        cfg["proj_size"] = draw(st.integers(1, H - 1))
    if not torch_only and kind == "gru":
        cfg["reset_after"] = draw(st.booleans())
    if not torch_only and cfg["bidirectional"]:
        cfg["merge_mode"] = draw(st.sampled_from(["concat", "sum", "mul", "ave"]))
    return cfg


def _layer(cfg, dtype):
    kind = cfg["kind"]
    cls = {"rnn": nn.RNN, "lst": nn.LSTM, "gru": nn.GRU}[kind[:3]]
    kw = {k: cfg[k] for k in ("num_layers", "bidirectional", "batch_first", "bias", "proj_size", "reset_after",
                              "merge_mode") if k in cfg}
    if kind == "rnn_relu":
        kw["nonlinearity"] = "relu"
    return cls(cfg["I"], cfg["H"], dtype=dtype, rng=cfg["seed"], **kw)


def _problem(cfg, m, dtype):
    rng = np.random.default_rng(cfg["seed"])
    x, state, d_out, d_state = random_problem(m, cfg["T"], cfg["B"], rng, dtype=dtype)
    lengths = None if cfg["lengths"] is None else np.array(cfg["lengths"])
    return x, state, lengths, d_out, d_state


@settings(max_examples=40, deadline=None)
@given(configs())
def test_matches_pytorch(cfg):
    rnnkit.set_backend(cfg["backend"])
    m = _layer(cfg, np.float64)
    x, state, lengths, d_out, d_state = _problem(cfg, m, np.float64)
    ours = rnnkit_run(m, x, state, lengths, d_out, d_state)
    ref = torch_reference(m.mode, m, x, state, lengths, d_out, d_state, cfg["batch_first"])
    assert_results_close(ours, ref, RTOL[np.dtype(np.float64)], str(cfg))


@settings(max_examples=30, deadline=None)
@given(configs(torch_only=False))
def test_float32_agrees_with_the_float64_twin(cfg):
    rnnkit.set_backend(cfg["backend"])
    m32 = _layer(cfg, np.float32)
    m64 = _layer(cfg, np.float64)
    m64.load_state_dict(m32.state_dict())
    x, state, lengths, d_out, d_state = _problem(cfg, m64, np.float64)

    def f32(a):
        return None if a is None else tuple(map(f32, a)) if isinstance(a, tuple) else a.astype(np.float32)

    ours = rnnkit_run(m32, f32(x), f32(state), lengths, f32(d_out), f32(d_state))
    rnnkit.set_backend("numpy")
    ref = rnnkit_run(m64, x, state, lengths, d_out, d_state)
    assert_results_close(ours, ref, RTOL[np.dtype(np.float32)], str(cfg))


LAYOUTS = ("fortran", "strided", "transposed", "reversed")


def _relayout(a: np.ndarray, layout: str) -> np.ndarray:
    """The same values as ``a`` in another memory layout."""
    if layout == "transposed" and a.ndim < 2:
        layout = "strided"
    if layout == "fortran":
        out = np.asfortranarray(a)
    elif layout == "strided":
        big = np.zeros(a.shape[:-1] + (3 * a.shape[-1],), a.dtype)
        big[..., ::3] = a
        out = big[..., ::3]
    elif layout == "transposed":
        out = np.ascontiguousarray(np.swapaxes(a, 0, 1)).swapaxes(0, 1)
    else:
        out = np.ascontiguousarray(a[::-1])[::-1]
    np.testing.assert_array_equal(out, a)
    return out


@settings(max_examples=30, deadline=None)
@given(configs(torch_only=False), st.sampled_from(LAYOUTS), st.sampled_from([np.float32, np.float64]))
def test_memory_layout_changes_nothing(cfg, layout, dtype):
    rnnkit.set_backend(cfg["backend"])
    m = _layer(cfg, dtype)
    x, state, lengths, d_out, d_state = _problem(cfg, m, dtype)
    ref = rnnkit_run(m, x, state, lengths, d_out, d_state)
    ref = {k: ({n: g.copy() for n, g in v.items()} if k == "grads" else v) for k, v in ref.items()}

    def lay(a):
        return None if a is None else tuple(lay(p) for p in a) if isinstance(a, tuple) else _relayout(a, layout)

    ours = rnnkit_run(m, lay(x), lay(state), None if lengths is None else lay(lengths), lay(d_out), lay(d_state))
    for key, want in ref.items():
        if key == "grads":
            for n, g in want.items():
                np.testing.assert_array_equal(ours["grads"][n], g, err_msg=f"{n} {layout} {cfg}")
        else:
            np.testing.assert_array_equal(ours[key], want, err_msg=f"{key} {layout} {cfg}")
