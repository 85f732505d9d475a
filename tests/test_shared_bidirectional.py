"""Bidirectional layers whose two directions share one set of weights (``share_directions=True``).

Outside truths: PyTorch's bidirectional layer with the forward weights copied into the
reverse direction (outputs, states, and the sum of the two directions' gradients), central
finite differences in float64 (stacked, lengths, batch_first, every merge mode, both
backends), and onnxruntime on the exported file (ONNX's RNN ops get the weights twice).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import rnnkit
from layer_gradients import check_layer_gradients
from rnnkit import nn
from rnnkit._grad_mode import inference_mode


def test_one_set_of_parameters_per_layer():
    layer = nn.LSTM(3, 4, num_layers=2, bidirectional=True, share_directions=True, rng=0)
    assert [n for n, _ in layer.named_parameters()] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]
    assert layer.weight_ih_l1.shape == (16, 8)       # layer 1 reads both directions, concatenated
    assert layer.parameter_suffix(1, 1) == "_l1"
    assert nn.LSTM(3, 4, bidirectional=True, rng=0).parameter_suffix(0, 1) == "_l0_reverse"
    with pytest.raises(ValueError, match="share_directions=True .* needs bidirectional=True"):
        nn.GRU(3, 4, share_directions=True)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("cls,kw", [(nn.RNN, {"nonlinearity": "relu"}), (nn.LSTM, {}), (nn.LSTM, {"proj_size": 2}),
                                    (nn.GRU, {})])
def test_equals_torch_with_the_weights_copied_and_gradients_summed(backend, cls, kw):
    torch = pytest.importorskip("torch", reason="torch is the oracle here")
    torch.set_num_threads(1)
    rnnkit.set_backend(backend)
    layer = cls(3, 5, num_layers=2, bidirectional=True, share_directions=True, batch_first=True,
                dtype=np.float64, rng=0, **kw)
    P = layer.output_size
    tm = getattr(torch.nn, cls.__name__)(3, 5, num_layers=2, bidirectional=True, batch_first=True,
                                         dtype=torch.float64, **kw)
    state = {n: torch.from_numpy(p.data.copy()) for n, p in layer.named_parameters()}
    tm.load_state_dict({**state, **{n + "_reverse": v for n, v in state.items()}})
    rng = np.random.default_rng(1)
    x, lengths = rng.standard_normal((4, 6, 3)), np.array([6, 3, 5, 1])
    d_out, d_hn = rng.standard_normal((4, 6, 2 * P)), rng.standard_normal((4, 4, P))
    out, s_n = layer(x, lengths=lengths)
    dx, _ = layer.backward(d_out, (d_hn, None) if cls is nn.LSTM else d_hn)

    tx = torch.tensor(x, requires_grad=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=True,
                                                     enforce_sorted=False)
    t_out, t_s = tm(packed)
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True, total_length=6)
    t_h = t_s[0] if cls is nn.LSTM else t_s
    ((t_out * torch.from_numpy(d_out)).sum() + (t_h * torch.from_numpy(d_hn)).sum()).backward()
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s_n[0] if cls is nn.LSTM else s_n, t_h.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    grads = dict(tm.named_parameters())
    for name, p in layer.named_parameters():
        want = grads[name].grad + grads[name + "_reverse"].grad       # one parameter, used by both directions
        np.testing.assert_allclose(p.grad, want.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("backend", rnnkit.available_backends())
@pytest.mark.parametrize("cls,kw", [(nn.GRU, {"merge_mode": "mul", "reset_after": False}),
                                    (nn.LSTM, {"merge_mode": "sum"}), (nn.RNN, {"merge_mode": "ave"}),
                                    (nn.GRU, {"recurrent_dropout": 0.3, "input_dropout": 0.2}),
                                    (nn.LSTM, {"recurrent_dropout": 0.3, "proj_size": 2})])
def test_gradients_match_finite_differences(backend, cls, kw):
    rnnkit.set_backend(backend)
    rng = np.random.default_rng(0)
    layer = cls(3, 4, num_layers=2, bidirectional=True, share_directions=True, batch_first=True,
                dtype=np.float64, rng=np.random.default_rng(1), **kw)
    P = layer.output_size
    x, lengths = rng.standard_normal((3, 5, 3)), np.array([5, 2, 4])
    h0 = rng.standard_normal((4, 3, P))
    state = (h0, rng.standard_normal((4, 3, 4))) if cls is nn.LSTM else h0
    F = 2 * P if layer.merge_mode == "concat" else P
    d_out, d_hn = rng.standard_normal((3, 5, F)), rng.standard_normal((4, 3, P))
    start = copy.deepcopy(layer.rng)

    def run_layer():
        layer.rng = copy.deepcopy(start)             # with dropout: the same masks at every forward
        return layer(x, state, lengths=lengths)

    run_layer.x = x
    check_layer_gradients(layer, run_layer, h0, d_out, d_hn, rng, f"{cls.__name__} {kw} {backend}")


def test_with_recurrent_dropout_both_directions_draw_their_own_mask():
    layer = nn.GRU(2, 6, bidirectional=True, share_directions=True, recurrent_dropout=0.5, rng=0)
    layer(np.ones((3, 4, 2), np.float32))
    (fwd, _), (bwd, _) = layer._peek()[0][0][0]
    assert not np.array_equal(fwd[0].recurrent_mask, bwd[0].recurrent_mask)


def test_save_load_and_repr(tmp_path):
    layer = nn.GRU(3, 4, num_layers=2, bidirectional=True, share_directions=True, rng=0)
    assert repr(layer) == "GRU(3, 4, num_layers=2, bidirectional=True, share_directions=True)"
    rnnkit.save_model(layer, tmp_path / "g.rnnkit")
    back = rnnkit.load_model(tmp_path / "g.rnnkit")
    assert back.share_directions and set(back.state_dict()) == set(layer.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    np.testing.assert_array_equal(back(x)[0], layer(x)[0])
    plain = nn.GRU(3, 4, num_layers=2, bidirectional=True, rng=0)
    with pytest.raises((KeyError, ValueError), match="reverse"):
        layer.load_state_dict(plain.state_dict())    # a file with separate directions does not fit


@pytest.mark.parametrize("cls,kw", [(nn.LSTM, {"num_layers": 2}), (nn.GRU, {"merge_mode": "sum"}),
                                    (nn.LSTM, {"proj_size": 2}), (nn.RNN, {"batch_first": True})])
def test_onnx_export_duplicates_the_weights(tmp_path, cls, kw):
    onnx = pytest.importorskip("onnx", reason="the 'onnx' package is not installed")
    ort = pytest.importorskip("onnxruntime", reason="the 'onnxruntime' package is not installed")
    from rnnkit.export import to_onnx

    layer = cls(3, 5, bidirectional=True, share_directions=True, recurrent_dropout=0.3, rng=0, **kw)
    path = tmp_path / "m.onnx"
    to_onnx(layer, path)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6, 3) if layer.batch_first else (6, 4, 3)).astype(np.float32)
    lens = np.array([6, 2, 5, 3], np.int64)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {"input": x, "lengths": lens})))
    with inference_mode(layer):
        out, _ = layer(x, lengths=lens)
    assert float(np.max(np.abs(got["output"] - out))) <= 1e-5
