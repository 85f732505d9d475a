"""Gradient clipping against torch.nn.utils.clip_grad_norm_ / clip_grad_value_."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnnkit import optim
from rnnkit.nn.module import Parameter

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (6,), (2, 2, 3), (5,)]
TOL = {np.float64: 1e-12, np.float32: 1e-6}


def make_pair(dtype, seed: int = 0, scale: float = 1.0):
    """Parameters with gradients in rnnkit and torch; the third has grad None."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for i, shape in enumerate(SHAPES):
        p = Parameter(np.zeros(shape, dtype))
        tp = torch.zeros(shape, dtype=torch.float64 if dtype == np.float64 else torch.float32, requires_grad=True)
        if i != 2:
            g = (scale * rng.standard_normal(shape)).astype(dtype)
            p.grad = g.copy()
            tp.grad = torch.from_numpy(g.copy())
        ours.append(p)
        theirs.append(tp)
    return ours, theirs


def assert_grads_equal(ours, theirs, tol, config):
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        if tp.grad is None:
            assert p.grad is None, f"grad {i} [{config}]: should stay None"
            continue
        want = tp.grad.numpy()
        assert p.grad.dtype == want.dtype, f"grad {i} [{config}]: dtype {p.grad.dtype}"
        np.testing.assert_allclose(p.grad, want, rtol=tol, atol=tol * np.max(np.abs(want)),
                                   err_msg=f"grad {i} [{config}]")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1, float("inf"), "inf", 0.5, 3.0, -math.inf, 0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    config = f"norm_type={norm_type} max_norm={max_norm} {np.dtype(dtype).name}"
    ours, theirs = make_pair(dtype)
    before = [None if p.grad is None else p.grad.copy() for p in ours]
    total = optim.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, float)
    assert total == pytest.approx(ttotal.item(), rel=TOL[dtype]), config
    assert_grads_equal(ours, theirs, TOL[dtype], config)
    clipped = total > max_norm
    changed = any(b is not None and not np.array_equal(b, p.grad) for b, p in zip(before, ours))
    if clipped:
        assert changed, config
    if clipped and float(norm_type) != 0:  # the "0-norm" counts non-zeros: scaling keeps it
        # the clipped gradients now have (almost exactly) norm max_norm
        assert optim.get_total_norm([p.grad for p in ours if p.grad is not None], norm_type) == pytest.approx(
            max_norm, rel=1e-5
        )


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_gradients(bad):
    ours, theirs = make_pair(np.float64)
    ours[0].grad[1, 1] = bad
    theirs[0].grad[1, 1] = bad
    with pytest.raises(RuntimeError, match="non-finite"):
        optim.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    total = optim.clip_grad_norm_(ours, 1.0)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, 1.0).item()
    assert (math.isnan(total) and math.isnan(ttotal)) or total == ttotal
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        if tp.grad is not None:
            np.testing.assert_array_equal(p.grad, tp.grad.numpy(), err_msg=f"grad {i} with a {bad} entry")


def test_no_gradients_and_single_parameter():
    p = Parameter(np.ones(3))
    assert optim.clip_grad_norm_([p], 1.0) == 0.0
    assert optim.clip_grad_norm_([], 1.0) == 0.0
    p.grad = np.array([3.0, 4.0, 0.0])
    assert optim.clip_grad_norm_(p, 1.0) == 5.0
    np.testing.assert_allclose(p.grad, np.array([3.0, 4.0, 0.0]) / (5.0 + 1e-6))


def test_clip_grads_with_norm_and_get_total_norm_match_torch():
    ours, theirs = make_pair(np.float64, seed=3)
    total = optim.get_total_norm([p.grad for p in ours if p.grad is not None], 3.0)
    ttotal = torch.nn.utils.get_total_norm([tp.grad for tp in theirs if tp.grad is not None], 3.0)
    assert total == pytest.approx(ttotal.item(), rel=1e-12)
    optim.clip_grads_with_norm_(ours, 0.7, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 0.7, ttotal)
    assert_grads_equal(ours, theirs, 1e-12, "clip_grads_with_norm_")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("clip_value", [0.3, 1, 10.0])
def test_clip_grad_value_matches_torch(dtype, clip_value):
    ours, theirs = make_pair(dtype, seed=1, scale=2.0)
    assert optim.clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    assert_grads_equal(ours, theirs, 0.0, f"clip_value={clip_value}")
    assert max(np.max(np.abs(p.grad)) for p in ours if p.grad is not None) <= clip_value


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda ps: optim.clip_grad_norm_(ps, -1.0), ValueError, "max_norm"),
        (lambda ps: optim.clip_grad_norm_(ps, "1"), TypeError, "max_norm"),
        (lambda ps: optim.clip_grad_norm_(ps, 1.0, norm_type="two"), TypeError, "norm_type"),
        (lambda ps: optim.clip_grad_norm_(ps, 1.0, norm_type=math.nan), ValueError, "norm_type"),
        (lambda ps: optim.clip_grad_norm_([ps[0], np.ones(3)], 1.0), TypeError, r"parameters\[1\]"),
        (lambda ps: optim.clip_grad_norm_(np.ones(3), 1.0), TypeError, "parameters"),
        (lambda ps: optim.clip_grad_value_(ps, -0.5), ValueError, "clip_value"),
        (lambda ps: optim.clip_grad_value_(ps, None), TypeError, "clip_value"),
    ],
)
def test_bad_arguments(call, exc, match):
    ours, _ = make_pair(np.float64)
    with pytest.raises(exc, match=match):
        call(ours)
