"""The record of each cell kind (rnnkit.kernels.KINDS) and what reads it.

- each record is consistent: gate names per gate block, state names, option defaults and
  checks, a cache with the fields the reference loop fills, a compiled module with the
  contract's three entry points, reported activations that the reference step produces;
- the layers, cells and ``nn.init`` take their shapes, state parts and options from it;
  ``RNNBase(mode=...)`` builds any kind without its class and equals the class;
- the merge modes of ``nn.directions`` (forward and backward) against hand-computed values
  and central finite differences, on outputs (T, B, F) and final states (B, F).
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import rnnkit
from rnnkit import nn
from rnnkit.kernels import KINDS, CellWeights, get_kind, reference
from rnnkit.nn import directions
from rnnkit.nn.rnn_base import RNNBase

LAYERS = {"RNN": (nn.RNN, nn.RNNCell), "GRU": (nn.GRU, nn.GRUCell), "LSTM": (nn.LSTM, nn.LSTMCell)}


@pytest.mark.parametrize("name", list(KINDS))
def test_record_is_consistent(name):
    k = KINDS[name]
    assert get_kind(name) is k and get_kind(k) is k
    assert len(k.gate_names) == k.gates and len(set(k.gate_names)) == k.gates
    assert k.state_names[0] == "h" and len(set(k.state_names)) == len(k.state_names)
    fields = set(k.cache._fields)
    assert {"x", "lengths", "reverse"} <= fields and set(k.options) <= fields
    assert {f"{s}_prev" for s in k.state_names} <= fields, f"{name}: the cache needs <state>_prev"
    assert k.check_options({}) == k.defaults
    for opt, allowed in k.options.items():
        for v in allowed:
            assert k.check_options({opt: v})[opt] == v
    with pytest.raises(TypeError, match=f"{name} got unexpected option"):
        k.check_options({"no_such_option": 1})
    if "numba" in rnnkit.available_backends():
        mod = importlib.import_module(k.compiled)
        assert all(callable(getattr(mod, f)) for f in ("forward", "backward", "step"))


@pytest.mark.parametrize("name", list(KINDS))
def test_reported_activations_come_from_the_reference_step(name):
    k = KINDS[name]
    rng = np.random.default_rng(3)
    B, I, H = 4, 3, 5
    w = CellWeights(rng.standard_normal((k.gates * H, I)), rng.standard_normal((k.gates * H, H)), None, None)
    state = tuple(rng.standard_normal((B, H)) for _ in k.state_names)
    for opts in [dict(zip(k.options, vals)) for vals in zip(*k.options.values())] or [{}]:
        opts = k.check_options(opts)
        new, saved = k.step(reference.project(rng.standard_normal((B, I)), w), state, w, opts)
        report = k.report(new, saved, opts)
        assert [n for n, _ in k.activations(opts)] == list(report)
        for (n, act), v in zip(k.activations(opts), report.values()):
            assert v.shape == (B, H), n
            lo, hi = {"sigmoid": (0, 1), "tanh": (-1, 1), "relu": (0, np.inf)}[act]
            assert (v >= lo).all() and (v <= hi).all(), f"{name} {n}: not in the range of {act}"


def test_option_errors_name_the_option():
    with pytest.raises(ValueError, match="nonlinearity must be one of.*'gelu'"):
        nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(TypeError, match="reset_after must be a bool"):
        nn.GRU(3, 4, reset_after="yes")
    with pytest.raises(TypeError, match="LSTM got unexpected option.*nonlinearity"):
        RNNBase(3, 4, mode="LSTM", nonlinearity="tanh")
    with pytest.raises(ValueError, match="cell kind must be one of"):
        RNNBase(3, 4, mode="IndRNN")


@pytest.mark.parametrize("name", list(KINDS))
def test_layers_and_cells_read_the_record(name):
    layer_cls, cell_cls = LAYERS[name]
    k = KINDS[name]
    layer, cell = layer_cls(3, 5, rng=0), cell_cls(3, 5, rng=0)
    for m in (layer, cell):
        assert m.kind is k and m.options == k.defaults
    assert layer.weight_hh_l0.shape == (k.gates * 5, 5) and cell.weight_ih.shape == (k.gates * 5, 3)
    _, state = layer(np.ones((2, 1, 3), np.float32))
    parts = state if isinstance(state, tuple) else (state,)     # (h_n,) is returned as the array h_n
    assert len(parts) == len(k.state_names) and all(s.shape == (1, 1, 5) for s in parts)
    generic = RNNBase(3, 5, rng=0, mode=name, bidirectional=True)
    typed = layer_cls(3, 5, rng=0, bidirectional=True)
    assert generic.kind is k and list(generic.state_dict()) == list(typed.state_dict())
    x = np.random.default_rng(1).standard_normal((4, 2, 3)).astype(np.float32)
    for a, b in zip(generic(x), typed(x)):
        for p, q in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            np.testing.assert_array_equal(p, q)


def test_forget_bias_follows_the_gate_names():
    lstm, gru = nn.LSTM(3, 4, rng=0), nn.GRU(3, 4, rng=0)
    nn.init.lstm_forget_bias_(lstm, 2.0)
    k = KINDS["LSTM"].gate_names.index("forget")
    assert (lstm.bias_ih_l0.data[4 * k:4 * k + 4] == 2.0).all() and (lstm.bias_hh_l0.data[4 * k:4 * k + 4] == 0).all()
    with pytest.raises(ValueError, match="holds no LSTM layer or cell"):
        nn.init.lstm_forget_bias_(gru)                 # no kind of the GRU has a forget gate


def test_merge_by_hand():
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 5.0]])
    assert directions.merge("concat", [a, b]).tolist() == [[1, 2, 3, 5]]
    assert directions.merge("sum", [a, b]).tolist() == [[4, 7]]
    assert directions.merge("mul", [a, b]).tolist() == [[3, 10]]
    assert directions.merge("ave", [a, b]).tolist() == [[2, 3.5]]
    assert directions.merge("mul", [a]) is a                    # one direction passes through
    assert directions.merged_size("concat", 7, 2) == 14 and directions.merged_size("ave", 7, 2) == 7
    assert directions.suffix(2, 0) == "_l2" and directions.suffix(0, 1) == "_l0_reverse"
    assert list(directions.time_order(3, True)) == [2, 1, 0]


@pytest.mark.parametrize("mode", directions.MERGE_MODES)
@pytest.mark.parametrize("shape", [(3, 2, 4), (2, 4)], ids=["outputs", "final_states"])
def test_merge_backward_matches_finite_differences(mode, shape):
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    w = rng.standard_normal(directions.merge(mode, [a, b]).shape)        # L = sum(w * merge(a, b))
    da, db = directions.merge_backward(mode, w, shape[-1], directions.merge_saved(mode, [a, b]))
    eps = 1e-6
    for part, grad, which in ((a, da, 0), (b, db, 1)):
        for idx in np.ndindex(shape):
            plus, minus = part.copy(), part.copy()
            plus[idx] += eps
            minus[idx] -= eps
            args_p = [plus, b] if which == 0 else [a, plus]
            args_m = [minus, b] if which == 0 else [a, minus]
            fd = ((w * directions.merge(mode, args_p)).sum() - (w * directions.merge(mode, args_m)).sum()) / (2 * eps)
            assert abs(fd - grad[idx]) < 1e-8, f"{mode} d{'ab'[which]}{idx}: {grad[idx]} vs {fd}"
