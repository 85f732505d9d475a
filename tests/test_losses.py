"""Losses: MSE, L1, Huber, BCEWithLogits, CrossEntropy; reductions, masks, upstream gradients.

PyTorch is the oracle for values and dL/dpred (the class dimension is permuted to torch's
``(N, C, d1)`` layout for per-step targets; masked losses are compared with torch on the
selected elements); finite differences in float64 check every backward.
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


def _ours(crit, pred, target, mask=None, grad=None):
    value = crit(pred, target, mask=mask)
    return value, crit.backward(grad)


def _theirs(torch, tcrit, pred, target, grad=None, perm=None):
    """torch loss value and d/dpred; ``perm`` moves our class-last layout to torch's."""
    tp = torch.tensor(pred, requires_grad=True)
    inp = tp.permute(*perm) if perm else tp
    out = tcrit(inp, target if isinstance(target, torch.Tensor) else torch.from_numpy(target))
    if grad is None:
        out.sum().backward()
    else:
        out.backward(torch.as_tensor(np.asarray(grad), dtype=out.dtype))
    return out.detach().numpy(), tp.grad.numpy()


# -- regression losses ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "HuberLoss"])
def test_regression_losses_match_torch(name, reduction, dtype, rng):
    torch = _torch()
    pred = rng.standard_normal((4, 3, 2)).astype(dtype)
    target = rng.standard_normal((4, 3, 2)).astype(dtype)
    target[0, 0, 0] = pred[0, 0, 0]                    # L1's kink: sign(0) = 0 in both
    kw = {"delta": 0.7} if name == "HuberLoss" else {}
    grad = rng.standard_normal(pred.shape).astype(dtype) if reduction == "none" else 0.5
    value, d = _ours(getattr(nn, name)(reduction=reduction, **kw), pred, target, grad=grad)
    tv, td = _theirs(torch, getattr(torch.nn, name)(reduction=reduction, **kw), pred, target, grad=grad)
    cfg = f"{name} {reduction} {np.dtype(dtype)}"
    tol = RTOL[np.dtype(dtype)]
    if reduction == "none":
        assert isinstance(value, np.ndarray) and value.dtype == dtype
    else:
        assert isinstance(value, float)
    assert d.dtype == dtype
    assert_close("loss", value, tv, tol, cfg)
    assert_close("d_pred", d, td, tol, cfg)


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "HuberLoss"])
def test_regression_masked_matches_torch_on_selected(name, rng):
    torch = _torch()
    T, B, F = 5, 3, 2
    lengths = np.array([5, 2, 3])
    mask = nn.length_mask(lengths, T)                  # (T, B): aligned with the leading dims
    pred, target = rng.standard_normal((2, T, B, F))
    value, d = _ours(getattr(nn, name)(), pred, target, mask=mask)
    tv, td_sel = _theirs(torch, getattr(torch.nn, name)(), pred[mask], target[mask])
    td = np.zeros_like(pred)
    td[mask] = td_sel
    assert_close("loss", value, tv, 1e-12, name)
    assert_close("d_pred", d, td, 1e-12, name)


@pytest.mark.parametrize("name", ["MSELoss", "L1Loss", "HuberLoss", "BCEWithLogitsLoss"])
def test_elementwise_losses_finite_differences(name, rng):
    pred = rng.standard_normal((4, 3, 2))
    target = rng.uniform(0, 1, size=pred.shape) if name == "BCEWithLogitsLoss" else rng.standard_normal(pred.shape)
    kw = {"pos_weight": np.array([2.0, 0.5]), "weight": rng.uniform(0.5, 1.5, (3, 2))} \
        if name == "BCEWithLogitsLoss" else {}
    mask = nn.length_mask([4, 1, 2], 4)
    crit = getattr(nn, name)(**kw)

    def f():
        with rnnkit.no_grad():
            return crit(pred, target, mask=mask)

    crit(pred, target, mask=mask)
    check_fd("d_pred", crit.backward(), f, pred, rng, n=10, config=name)


# -- BCE with logits ------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weights", [False, True])
def test_bce_with_logits_matches_torch(reduction, weights, rng):
    torch = _torch()
    pred = 3 * rng.standard_normal((6, 3))
    target = rng.uniform(0, 1, size=(6, 3))
    target[:2] = np.round(target[:2])
    kw = {"pos_weight": np.array([3.0, 1.0, 0.5]), "weight": rng.uniform(0.5, 2, size=(6, 1))} if weights else {}
    tkw = {k: torch.from_numpy(v) for k, v in kw.items()}
    value, d = _ours(nn.BCEWithLogitsLoss(reduction=reduction, **kw), pred, target)
    tv, td = _theirs(torch, torch.nn.BCEWithLogitsLoss(reduction=reduction, **tkw), pred, target)
    assert_close("loss", value, tv, 1e-12, f"{reduction} weights={weights}")
    assert_close("d_pred", d, td, 1e-12, f"{reduction} weights={weights}")


def test_bce_is_stable_for_large_logits():
    crit = nn.BCEWithLogitsLoss(reduction="none")
    pred = np.array([-1000.0, 1000.0, -1000.0, 1000.0], np.float32)
    loss = crit(pred, np.array([0.0, 1.0, 1.0, 0.0]))
    np.testing.assert_allclose(loss, [0.0, 0.0, 1000.0, 1000.0])
    np.testing.assert_allclose(crit.backward(), [0.0, 0.0, -1.0, 1.0])


# -- cross-entropy --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_flat_matches_torch(reduction, dtype, rng):
    torch = _torch()
    pred = rng.standard_normal((7, 5)).astype(dtype)
    target = rng.integers(0, 5, size=7)
    grad = rng.standard_normal(7).astype(dtype) if reduction == "none" else None
    value, d = _ours(nn.CrossEntropyLoss(reduction=reduction), pred, target, grad=grad)
    tv, td = _theirs(torch, torch.nn.CrossEntropyLoss(reduction=reduction), pred, target, grad=grad)
    tol = RTOL[np.dtype(dtype)]
    assert d.dtype == dtype
    assert_close("loss", value, tv, tol, reduction)
    assert_close("d_pred", d, td, tol, reduction)


CE_CASES = [
    dict(),
    dict(ignore_index=2),
    dict(ignore_index=-100, weight=True),
    dict(label_smoothing=0.2),
    dict(label_smoothing=0.1, weight=True, ignore_index=-100),
]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", range(len(CE_CASES)))
def test_cross_entropy_per_step_matches_torch(case, reduction, batch_first, rng):
    """Class dim last (T, B, C)/(B, T, C); torch gets it permuted to (N, C, d1)."""
    torch = _torch()
    kw = dict(CE_CASES[case])
    if kw.pop("weight", False):
        kw["weight"] = rng.uniform(0.2, 2.0, size=4)
    shape = (3, 5) if batch_first else (5, 3)           # (B, T) or (T, B)
    pred = 2 * rng.standard_normal(shape + (4,))
    target = rng.integers(0, 4, size=shape)
    target[0, 1] = target[2, 2] = -100                  # ignored by the default ignore_index
    if kw.get("ignore_index", -100) != -100:
        target[target == -100] = 1
    tkw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    value, d = _ours(nn.CrossEntropyLoss(reduction=reduction, **kw), pred, target)
    tv, td = _theirs(torch, torch.nn.CrossEntropyLoss(reduction=reduction, **tkw), pred, target,
                     perm=(0, 2, 1))
    cfg = f"{kw} {reduction} batch_first={batch_first}"
    assert_close("loss", value, tv, 1e-12, cfg)
    assert_close("d_pred", d, td, 1e-12, cfg)


@pytest.mark.parametrize("smoothing,weight", [(0.0, False), (0.3, True)])
def test_cross_entropy_probability_targets_match_torch(smoothing, weight, rng):
    torch = _torch()
    pred = rng.standard_normal((4, 3, 5))
    target = rng.dirichlet(np.ones(5), size=(4, 3))
    kw = {"label_smoothing": smoothing}
    if weight:
        kw["weight"] = rng.uniform(0.5, 2.0, size=5)
    tkw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    value, d = _ours(nn.CrossEntropyLoss(**kw), pred, target)
    tv, td = _theirs(torch, torch.nn.CrossEntropyLoss(**tkw), pred, torch.from_numpy(target).permute(0, 2, 1),
                     perm=(0, 2, 1))
    assert_close("loss", value, tv, 1e-12, str(kw))
    assert_close("d_pred", d, td, 1e-12, str(kw))


def test_cross_entropy_masked_matches_torch_on_selected(rng):
    torch = _torch()
    T, B, C = 6, 4, 3
    lengths = np.array([6, 1, 4, 3])
    mask = nn.length_mask(lengths, T)
    pred = rng.standard_normal((T, B, C))
    target = rng.integers(0, C, size=(T, B))
    target[0, 0] = -100                                  # ignored and masked combine
    weight = np.array([0.5, 1.0, 2.0])
    value, d = _ours(nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1), pred, target, mask=mask)
    tv, td_sel = _theirs(torch, torch.nn.CrossEntropyLoss(weight=torch.from_numpy(weight), label_smoothing=0.1),
                         pred[mask], target[mask])
    td = np.zeros_like(pred)
    td[mask] = td_sel
    assert_close("loss", value, tv, 1e-12)
    assert_close("d_pred", d, td, 1e-12)
    # batch_first mask, 'none': masked-out elements are 0
    crit = nn.CrossEntropyLoss(reduction="none")
    per = crit(pred.transpose(1, 0, 2), target.T, mask=nn.length_mask(lengths, T, batch_first=True))
    assert per.shape == (B, T)
    assert np.all(per[~mask.T] == 0) and np.all(per[mask.T & (target.T != -100)] > 0)


@pytest.mark.parametrize("kw", [dict(), dict(label_smoothing=0.2, weight=np.array([1.0, 0.3, 2.0, 1.5]))])
def test_cross_entropy_finite_differences(kw, rng):
    pred = rng.standard_normal((3, 2, 4))
    target = rng.integers(0, 4, size=(3, 2))
    target[1, 1] = -100
    mask = nn.length_mask([3, 2], 3)
    crit = nn.CrossEntropyLoss(**kw)

    def f():
        with rnnkit.no_grad():
            return crit(pred, target, mask=mask)

    crit(pred, target, mask=mask)
    check_fd("d_pred", crit.backward(), f, pred, rng, n=12, config=str(kw))
    soft = rng.dirichlet(np.ones(4), size=(3, 2))
    crit(pred, soft)
    check_fd("d_pred (probabilities)", crit.backward(), lambda: nn.CrossEntropyLoss(**kw).eval()(pred, soft),
             pred, rng, n=8, config=str(kw))


def test_cross_entropy_stable_and_unbatched():
    crit = nn.CrossEntropyLoss()
    pred = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]], np.float32)
    assert crit(pred, np.array([0, 1])) == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(crit.backward()).all()
    assert crit(pred, np.array([2, 1])) == pytest.approx(1000.0, rel=1e-6)
    crit.backward()
    v = crit(np.log(np.array([0.2, 0.8])), np.array(1))       # unbatched (C,) with a 0-d target
    assert v == pytest.approx(-np.log(0.8))
    np.testing.assert_allclose(crit.backward(), [0.2, -0.2], rtol=1e-6)


# -- reduction, LIFO, modes, errors ---------------------------------------------------------
def test_upstream_gradient_lifo_and_eval(rng):
    crit = nn.MSELoss()
    p1, t1 = rng.standard_normal((2, 3, 2))
    p2, t2 = rng.standard_normal((2, 4, 2))
    crit(p1, t1)
    crit(p2, t2)
    np.testing.assert_allclose(crit.backward(3.0), 3.0 * 2 * (p2 - t2) / p2.size)
    np.testing.assert_allclose(crit.backward(np.array(1.0)), 2 * (p1 - t1) / p1.size)
    with pytest.raises(RuntimeError, match="without a matching forward"):
        crit.backward()
    crit.eval()
    assert isinstance(crit(p1, t1), float)
    with pytest.raises(RuntimeError):
        crit.backward()
    none = nn.MSELoss(reduction="none")
    none(p1, t1)
    np.testing.assert_allclose(none.backward(), 2 * (p1 - t1))   # default: like loss.sum().backward()
    none(p1, t1)
    with pytest.raises(ValueError, match="grad"):
        none.backward(np.ones(3))
    crit.train()
    crit(p1, t1)
    with pytest.raises(ValueError, match="grad"):
        crit.backward(np.ones(2))


def test_all_masked_mean_is_nan_with_zero_gradient():
    crit = nn.CrossEntropyLoss()
    pred = np.zeros((2, 3))
    assert np.isnan(crit(pred, np.array([0, 1]), mask=np.array([False, False])))
    np.testing.assert_array_equal(crit.backward(), 0)


def test_length_mask():
    np.testing.assert_array_equal(nn.length_mask([3, 1], 4),
                                  [[True, True], [True, False], [True, False], [False, False]])
    np.testing.assert_array_equal(nn.length_mask(np.array([2, 0]), 2, batch_first=True),
                                  [[True, True], [False, False]])
    with pytest.raises(ValueError, match="lengths"):
        nn.length_mask([5], 4)
    with pytest.raises(TypeError, match="lengths"):
        nn.length_mask([1.5], 4)
    with pytest.raises(ValueError, match="lengths"):
        nn.length_mask([[1]], 4)


def test_loss_argument_errors():
    pred = np.zeros((3, 4))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="target"):
        nn.MSELoss()(pred, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="target"):
        nn.CrossEntropyLoss()(pred, np.zeros(4, dtype=int))
    with pytest.raises(TypeError, match="target class ids must be integers"):
        nn.CrossEntropyLoss()(pred, np.zeros(3))
    with pytest.raises(ValueError, match=r"target class ids must be in \[0, 3\]"):
        nn.CrossEntropyLoss()(pred, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="target class ids"):
        nn.CrossEntropyLoss()(pred, np.array([0, -1, 1]))
    with pytest.raises(TypeError, match="must be float"):
        nn.CrossEntropyLoss()(pred, np.zeros((3, 4), dtype=int))
    with pytest.raises(ValueError, match="weight"):
        nn.CrossEntropyLoss(weight=np.ones(3))(pred, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(TypeError, match="ignore_index"):
        nn.CrossEntropyLoss(ignore_index=0.5)
    with pytest.raises(TypeError, match="mask"):
        nn.MSELoss()(pred, pred, mask=np.ones((3, 4)))
    with pytest.raises(ValueError, match="mask"):
        nn.MSELoss()(pred, pred, mask=np.ones(4, bool))
    with pytest.raises(ValueError, match="target values must be in"):
        nn.BCEWithLogitsLoss()(pred, np.full((3, 4), 2.0))
    with pytest.raises(ValueError, match="pos_weight"):
        nn.BCEWithLogitsLoss(pos_weight=np.ones(3))(pred, np.zeros((3, 4)))
    with pytest.raises(TypeError, match="input"):
        nn.L1Loss()("x", pred)
    with pytest.raises(ValueError, match="delta"):
        nn.HuberLoss(delta=0.0)
