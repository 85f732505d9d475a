"""Feed-forward layers: Linear, Embedding, Dropout, activations.

Each backward is checked against central finite differences (float64) and against PyTorch
(same weights; outputs, input gradient and every parameter gradient).
"""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from helpers import RTOL, assert_close, check_fd
from rnnkit import nn


def _torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _tdtype(torch, dtype):
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


# -- Linear ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,bias", [((4, 5), True), ((3, 2, 5), True), ((5,), True), ((2, 3, 5), False)])
def test_linear_matches_torch(dtype, shape, bias, rng):
    torch = _torch()
    fc = nn.Linear(5, 3, bias=bias, dtype=dtype, rng=rng)
    tfc = torch.nn.Linear(5, 3, bias=bias, dtype=_tdtype(torch, dtype))
    tfc.load_state_dict({k: torch.from_numpy(v) for k, v in fc.state_dict().items()})
    x = rng.standard_normal(shape).astype(dtype)
    d = rng.standard_normal(shape[:-1] + (3,)).astype(dtype)
    y = fc(x)
    dx = fc.backward(d)
    tx = torch.tensor(x, requires_grad=True)
    ty = tfc(tx)
    (ty * torch.from_numpy(d)).sum().backward()
    cfg = f"{shape} bias={bias} {np.dtype(dtype)}"
    assert y.dtype == dtype and dx.dtype == dtype
    assert_close("y", y, ty.detach().numpy(), RTOL[np.dtype(dtype)], cfg)
    assert_close("dx", dx, tx.grad.numpy(), RTOL[np.dtype(dtype)], cfg)
    for name, p in fc.named_parameters():
        assert_close(f"grad of {name}", p.grad, dict(tfc.named_parameters())[name].grad.numpy(),
                     RTOL[np.dtype(dtype)], cfg)


def test_linear_finite_differences(rng):
    fc = nn.Linear(4, 3, dtype=np.float64, rng=rng)
    x = rng.standard_normal((2, 3, 4))
    d = rng.standard_normal((2, 3, 3))

    def f():
        with rnnkit.no_grad():
            return np.sum(fc(x) * d)

    fc(x)
    dx = fc.backward(d)
    check_fd("dx", dx, f, x, rng)
    check_fd("weight", fc.weight.grad, f, fc.weight.data, rng)
    check_fd("bias", fc.bias.grad, f, fc.bias.data, rng)


def test_linear_init_names_and_accumulation(rng):
    fc = nn.Linear(16, 4, rng=0)
    assert [n for n, _ in fc.named_parameters()] == ["weight", "bias"]
    assert fc.weight.shape == (4, 16) and fc.bias.shape == (4,)
    assert fc.weight.dtype == np.float32
    assert np.abs(fc.weight.data).max() <= 0.25 and np.abs(fc.bias.data).max() <= 0.25
    np.testing.assert_array_equal(fc.weight.data, nn.Linear(16, 4, rng=0).weight.data)
    # two forwards, backward in reverse order (LIFO): gradients add up
    fc = nn.Linear(3, 2, dtype=np.float64, rng=rng)
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    d1, d2 = rng.standard_normal((4, 2)), rng.standard_normal((5, 2))
    fc(x1)
    fc(x2)
    dx2 = fc.backward(d2)
    dx1 = fc.backward(d1)
    assert dx1.shape == (4, 3) and dx2.shape == (5, 3)
    np.testing.assert_allclose(fc.weight.grad, d1.T @ x1 + d2.T @ x2, rtol=1e-12)
    np.testing.assert_allclose(fc.bias.grad, d1.sum(0) + d2.sum(0), rtol=1e-12)


def test_linear_errors_and_modes(rng):
    fc = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="input"):
        fc(np.zeros((4, 5)))
    with pytest.raises(TypeError, match="in_features"):
        nn.Linear(2.5, 3)
    with pytest.raises(ValueError, match="out_features"):
        nn.Linear(3, 0)
    with pytest.raises(TypeError, match="input"):
        fc("abc")
    fc(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="d_output"):
        fc.backward(np.zeros((4, 3)))
    fc.backward(np.zeros((4, 2)))      # the rejected gradient kept the forward; this one uses it
    fc.eval()
    fc(np.zeros((4, 3)))
    with pytest.raises(RuntimeError, match="without a matching forward"):
        fc.backward(np.zeros((4, 2)))
    fc.train()
    with rnnkit.no_grad():
        fc(np.zeros((4, 3)))
    with pytest.raises(RuntimeError):
        fc.backward(np.zeros((4, 2)))


# -- Embedding ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_matches_torch(dtype, padding_idx, rng):
    torch = _torch()
    emb = nn.Embedding(7, 4, padding_idx=padding_idx, dtype=dtype, rng=rng)
    if padding_idx is not None:
        np.testing.assert_array_equal(emb.weight.data[padding_idx], 0)
    temb = torch.nn.Embedding(7, 4, padding_idx=padding_idx, dtype=_tdtype(torch, dtype))
    temb.load_state_dict({"weight": torch.from_numpy(emb.weight.data.copy())})
    ids = np.array([[1, 6, 0], [3, 3, 1], [0, 2, 6], [5, 1, 1]])   # (T, B) with repeats
    d = rng.standard_normal((4, 3, 4)).astype(dtype)
    y = emb(ids)
    assert emb.backward(d) is None
    ty = temb(torch.from_numpy(ids))
    (ty * torch.from_numpy(d)).sum().backward()
    cfg = f"padding_idx={padding_idx} {np.dtype(dtype)}"
    assert y.shape == (4, 3, 4) and y.dtype == dtype
    assert_close("y", y, ty.detach().numpy(), RTOL[np.dtype(dtype)], cfg)
    assert_close("grad of weight", emb.weight.grad, temb.weight.grad.numpy(), RTOL[np.dtype(dtype)], cfg)


def test_embedding_finite_differences(rng):
    emb = nn.Embedding(5, 3, padding_idx=2, dtype=np.float64, rng=rng)
    ids = np.array([[0, 4], [4, 4], [1, 0]])
    d = rng.standard_normal((3, 2, 3))

    def f():
        with rnnkit.no_grad():
            return np.sum(emb(ids) * d)

    emb(ids)
    emb.backward(d)
    w = emb.weight.data
    fd_rows = [0, 1, 4, 3]     # used rows (0 and 4 several times) and an unused one
    for r in fd_rows:
        check_fd(f"weight row {r}", emb.weight.grad[r], f, w[r], rng, n=3)
    np.testing.assert_array_equal(emb.weight.grad[2], 0)   # padding row: no gradient


def test_embedding_errors_and_pretrained(rng):
    emb = nn.Embedding(5, 3, rng=rng)
    with pytest.raises(ValueError, match=r"input ids must be in \[0, 4\]"):
        emb(np.array([1, 5]))
    with pytest.raises(ValueError, match="input"):
        emb(np.array([-1, 2]))
    with pytest.raises(TypeError, match="integer"):
        emb(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="integer"):
        emb(np.array([True, False]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 3, padding_idx=5)
    emb([[1, 2]])
    with pytest.raises(ValueError, match="d_output"):
        emb.backward(np.zeros((2, 3)))
    w = rng.standard_normal((6, 2))
    frozen = nn.Embedding.from_pretrained(w)
    assert frozen.dtype == np.float64 and frozen.weight.requires_grad is False
    np.testing.assert_array_equal(frozen(np.array([5, 0])), w[[5, 0]])
    assert frozen.backward(np.ones((2, 2))) is None and frozen.weight.grad is None
    trainable = nn.Embedding.from_pretrained(w, freeze=False)
    trainable(np.array([5, 5]))
    trainable.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(trainable.weight.grad[5], [2.0, 2.0])


# -- Dropout --------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_mask_scale_and_backward(dtype, rng):
    drop = nn.Dropout(0.25, rng=0)
    x = rng.uniform(1.0, 2.0, size=(40, 50)).astype(dtype)
    y = drop(x)
    assert y.dtype == dtype
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-6)
    assert 0.70 < kept.mean() < 0.80            # 2000 draws with p(keep) = 0.75
    d = rng.standard_normal(x.shape).astype(dtype)
    dx = drop.backward(d)
    np.testing.assert_allclose(dx, np.where(kept, d / 0.75, 0), rtol=1e-6)   # the same mask
    np.testing.assert_array_equal(nn.Dropout(0.25, rng=0)(x), y)            # seeded: reproducible


def test_dropout_eval_extremes_and_errors(rng):
    x = rng.standard_normal((3, 4))
    drop = nn.Dropout(0.5, rng=1)
    drop.eval()
    np.testing.assert_array_equal(drop(x), x)
    drop.train()
    with rnnkit.no_grad():
        y = drop(x)                       # still drops in training mode, keeps nothing
    assert (y == 0).any()
    with pytest.raises(RuntimeError):
        drop.backward(x)
    np.testing.assert_array_equal(nn.Dropout(1.0)(x), 0)
    zero = nn.Dropout(0.0)
    np.testing.assert_array_equal(zero(x), x)
    np.testing.assert_array_equal(zero.backward(2 * x), 2 * x)
    with pytest.raises(ValueError, match="p must be in"):
        nn.Dropout(1.5)
    with pytest.raises(TypeError, match="p must be a number"):
        nn.Dropout("0.5")
    drop(x)
    with pytest.raises(ValueError, match="d_output"):
        drop.backward(np.zeros((4, 3)))


# -- activations ----------------------------------------------------------------------------
ACTS = [("Tanh", "tanh"), ("ReLU", "relu"), ("Sigmoid", "sigmoid"), ("Identity", None)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,tname", ACTS)
def test_activation_matches_torch(name, tname, dtype, rng):
    torch = _torch()
    act = getattr(nn, name)()
    x = rng.standard_normal((3, 2, 5)).astype(dtype)
    x[0, 0, :2] = 0.0                                  # ReLU's kink: PyTorch's gradient there is 0
    d = rng.standard_normal(x.shape).astype(dtype)
    y = act(x)
    dx = act.backward(d)
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch, tname)(tx) if tname else tx * 1
    (ty * torch.from_numpy(d)).sum().backward()
    assert y.dtype == dtype and dx.dtype == dtype
    assert_close("y", y, ty.detach().numpy(), RTOL[np.dtype(dtype)], name)
    assert_close("dx", dx, tx.grad.numpy(), RTOL[np.dtype(dtype)], name)


@pytest.mark.parametrize("name", ["Tanh", "ReLU", "Sigmoid", "Identity"])
def test_activation_finite_differences(name, rng):
    act = getattr(nn, name)()
    x = rng.standard_normal((4, 6))
    x[np.abs(x) < 0.05] = 0.5                            # away from ReLU's kink
    d = rng.standard_normal(x.shape)

    def f():
        with rnnkit.no_grad():
            return np.sum(act(x) * d)

    act(x)
    check_fd("dx", act.backward(d), f, x, rng, n=8, config=name)


def test_sigmoid_is_stable_and_input_casting():
    s = nn.Sigmoid()
    y = s(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(y, [0.0, 0.5, 1.0])
    assert np.isfinite(s.backward(np.ones(3))).all()
    assert nn.Tanh()(np.array([1, 2], dtype=np.int64)).dtype == np.float32   # ints become float32
    with pytest.raises(TypeError, match="input"):
        nn.ReLU()(np.array(["a"]))
    t = nn.Tanh()
    t(np.zeros(3))
    with pytest.raises(ValueError, match="d_output"):
        t.backward(np.zeros(4))
