"""The cells' compiled training step (``kernels/fast/step_train``): its backward against central
finite differences (float64) and PyTorch's cells, gradients added into existing ``grad`` arrays,
and weights changed between steps by every route reaching the next step (nothing is cached)."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from helpers import RTOL, assert_close, check_fd
from rnnkit import nn, optim

B, I, H, T = 3, 4, 5, 3
CASES = {
    "rnn_tanh": ("RNNCell", {"nonlinearity": "tanh"}),
    "rnn_relu": ("RNNCell", {"nonlinearity": "relu"}),
    "rnn_sigmoid": ("RNNCell", {"nonlinearity": "sigmoid"}),
    "gru": ("GRUCell", {}),
    "gru_reset_before": ("GRUCell", {"reset_after": False}),
    "lstm": ("LSTMCell", {}),
}


def make(case, dtype=np.float32, seed=0, **kw):
    name, extra = CASES[case]
    return getattr(nn, name)(I, H, dtype=dtype, rng=seed, **{**extra, **kw})


def is_lstm(cell):
    return isinstance(cell, nn.LSTMCell)


def run(cell, x, s0, d_out):
    """Unroll over x (T, B, I) from s0; backward of loss = sum_t <d_out[t], h_t>; returns
    (loss, dx (T, B, I), d_s0)."""
    lstm = is_lstm(cell)
    s, loss = s0, 0.0
    for t in range(len(x)):
        s = cell(x[t], s)
        loss += float(((s[0] if lstm else s) * d_out[t]).sum())
    dxs, ds = [None] * len(x), None
    for t in reversed(range(len(x))):
        g = d_out[t] if ds is None else (ds[0] if lstm else ds) + d_out[t]
        dxs[t], ds = cell.backward((g, None if ds is None else ds[1]) if lstm else g)
    return loss, np.stack(dxs), ds


def test_the_compiled_step_is_taken():
    rnnkit.set_backend("numba")
    for case in CASES:
        cell = make(case)
        assert cell._train_path(np.dtype(np.float32)) is not None, case
        cell(np.ones((B, I), np.float32))
        assert cell._cache_stack[-1][3] is not None, case      # the step's own backward was kept
    rnnkit.set_backend("numpy")
    assert make("lstm")._train_path(np.dtype(np.float32)) is None      # the reference kernels: the general path


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("case", list(CASES))
def test_step_backward_matches_finite_differences(case, bias):
    rnnkit.set_backend("numba")
    rng = np.random.default_rng(len(case) + 7 * bias)
    cell = make(case, np.float64, seed=3, bias=bias)
    x = rng.standard_normal((T, B, I))
    d_out = rng.standard_normal((T, B, H))
    s0 = tuple(rng.standard_normal((B, H)) for _ in range(2 if is_lstm(cell) else 1))
    s0 = s0 if is_lstm(cell) else s0[0]
    _, dx, ds0 = run(cell, x, s0, d_out)

    def loss():
        with rnnkit.no_grad():
            return run_forward(cell, x, s0, d_out)

    config = f"{case} bias={bias}"
    for name, p in cell.named_parameters():
        check_fd(f"grad of {name}", p.grad, loss, p.data, rng, n=6, config=config, rtol=1e-7)
    check_fd("dx", dx, loss, x, rng, n=6, config=config, rtol=1e-7)
    for k, part in enumerate(s0 if is_lstm(cell) else (s0,)):
        check_fd(f"d state0[{k}]", (ds0 if is_lstm(cell) else (ds0,))[k], loss, part, rng, n=6, config=config,
                 rtol=1e-7)


def run_forward(cell, x, s0, d_out):
    s, loss = s0, 0.0
    for t in range(len(x)):
        s = cell(x[t], s)
        loss += float(((s[0] if is_lstm(cell) else s) * d_out[t]).sum())
    return loss


def torch_twin(torch, cell):
    kw = {"nonlinearity": cell.nonlinearity} if isinstance(cell, nn.RNNCell) else {}
    tc = getattr(torch.nn, type(cell).__name__)(I, H, bias=cell.bias, **kw)
    tc.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in cell.state_dict().items()})
    return tc


def torch_run(torch, tc, x, d_out, lstm):
    tx = torch.tensor(x, requires_grad=True)
    s, loss = None, 0
    for t in range(len(x)):
        s = tc(tx[t], s)
        loss = loss + ((s[0] if lstm else s) * torch.from_numpy(d_out[t])).sum()
    loss.backward()
    grads = {n: p.grad.numpy() for n, p in tc.named_parameters()}
    return (s[0] if lstm else s).detach().numpy(), tx.grad.numpy(), grads


@pytest.mark.parametrize("case", ["rnn_tanh", "rnn_relu", "gru", "lstm"])
def test_gradients_add_into_existing_grads_as_torch(case):
    """A step adds into ``grad`` (by BLAS into a C array, by ``+=`` into any other): two runs
    accumulate twice torch's gradient, whatever layout the grad arrays had."""
    torch = pytest.importorskip("torch")
    rnnkit.set_backend("numba")
    rng = np.random.default_rng(len(case))
    cell = make(case, seed=5)
    tc = torch_twin(torch, cell)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    d_out = rng.standard_normal((T, B, H)).astype(np.float32)
    h_t, dx_t, g_t = torch_run(torch, tc, x, d_out, is_lstm(cell))
    names = [n for n, _ in cell.named_parameters()]
    for k, p in enumerate(cell.parameters()):       # odd ones: Fortran-ordered grads
        p.grad = np.zeros(p.shape, np.float32, order="F" if k % 2 else "C")
    tol = RTOL[np.dtype(np.float32)]
    for _ in range(2):
        _, dx, _ = run(cell, x, None, d_out)
        assert_close("dx", dx, dx_t, tol, case)
    for n in names:
        assert_close(f"grad of {n}", getattr(cell, n).grad, 2 * g_t[n], tol, case)
    s = None
    for t in range(T):
        s = cell(x[t], s)
    assert_close("h_T", s[0] if is_lstm(cell) else s, h_t, tol, case)


def _routes():
    """(name, change(cell)) for every way a user or the library changes a cell's weights."""

    def opt_step(cell):
        for p in cell.parameters():
            p.grad = np.full_like(p.data, 0.5)
        optim.SGD(cell.parameters(), lr=0.3).step()

    def load(cell):
        cell.load_state_dict({k: v * 1.5 for k, v in cell.state_dict().items()})

    def to64(cell):
        cell.to(np.float64)                    # new arrays (of another dtype), then written in place
        cell.weight_hh.data *= 0.5

    def assign(cell):
        cell.weight_hh = nn.Parameter(cell.weight_hh.data[::-1].copy())

    def write_in_place(cell):
        cell.weight_ih.data[:] *= -1.0

    def new_data(cell):
        cell.bias_hh.data = cell.bias_hh.data + 1.0

    def non_contiguous(cell):
        cell.weight_ih.data = np.asfortranarray(cell.weight_ih.data * 2.0)

    return [(f.__name__, f) for f in (opt_step, load, to64, assign, write_in_place, new_data, non_contiguous)]


@pytest.mark.parametrize("route", [r[0] for r in _routes()])
@pytest.mark.parametrize("case", ["rnn_tanh", "gru", "lstm"])
def test_weights_changed_between_steps_are_used(case, route):
    torch = pytest.importorskip("torch")
    rnnkit.set_backend("numba")
    change = dict(_routes())[route]
    rng = np.random.default_rng(len(case) + len(route))
    cell = make(case, seed=2)
    x = rng.standard_normal((2, B, I)).astype(np.float32)
    lstm = is_lstm(cell)
    s1 = cell(x[0])
    before = cell(x[1], s1)
    cell.clear_cache()
    change(cell)
    after = cell(x[1], s1)                                   # the same input and state, new weights
    tc = torch_twin(torch, cell)
    with torch.no_grad():
        ts = tuple(torch.from_numpy(np.asarray(a, np.float32)) for a in (s1 if lstm else (s1,)))
        want = tc(torch.from_numpy(x[1]), ts if lstm else ts[0])
    got, old = (after[0], before[0]) if lstm else (after, before)
    want = (want[0] if lstm else want).numpy()
    assert not np.allclose(got, old), f"{case} {route}: the output did not change"
    assert got.dtype == cell.dtype, (got.dtype, cell.dtype)
    tol = RTOL[np.dtype(np.float32)]
    assert_close("h after the change", np.asarray(got, np.float32), want, tol, f"{case} {route}")
    # and its backward uses the new weights too (against torch's gradient of sum(h'))
    dx, _ = cell.backward((np.ones_like(got), None) if lstm else np.ones_like(got))
    tx = torch.tensor(x[1], requires_grad=True)
    out = tc(tx, tuple(a.clone() for a in ts) if lstm else ts[0].clone())
    (out[0] if lstm else out).sum().backward()
    assert_close("dx after the change", np.asarray(dx, np.float32), tx.grad.numpy(), tol, f"{case} {route}")


@pytest.mark.parametrize("case", ["rnn_tanh", "gru", "lstm"])
def test_unbatched_and_single_row_steps(case):
    rnnkit.set_backend("numba")
    cell = make(case, np.float64, seed=4)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((T, 1, I))
    d_out = rng.standard_normal((T, 1, H))
    loss_b, dx_b, ds_b = run(cell, x, None, d_out)
    grads_b = {n: p.grad.copy() for n, p in cell.named_parameters()}
    cell.zero_grad()
    loss_u, dx_u, ds_u = run(cell, x[:, 0], None, d_out[:, 0])      # (I,) inputs, (H,) states
    assert dx_u.shape == (T, I)
    np.testing.assert_allclose(loss_u, loss_b, rtol=1e-12)
    np.testing.assert_allclose(dx_u, dx_b[:, 0], rtol=1e-12, atol=1e-14)
    for n, p in cell.named_parameters():
        np.testing.assert_allclose(p.grad, grads_b[n], rtol=1e-12, atol=1e-14, err_msg=n)
    rng2 = np.random.default_rng(12)
    check_fd("dx (B=1)", dx_b, lambda: _no_grad_loss(cell, x, d_out), x, rng2, n=6, config=case, rtol=1e-7)


def _no_grad_loss(cell, x, d_out):
    with rnnkit.no_grad():
        return run_forward(cell, x, None, d_out)


def test_frozen_parameter_gets_no_gradient():
    rnnkit.set_backend("numba")
    cell = make("lstm")
    cell.weight_hh.requires_grad = False
    run(cell, np.ones((T, B, I), np.float32), None, np.ones((T, B, H), np.float32))
    assert cell.weight_hh.grad is None
    assert cell.weight_ih.grad is not None and np.all(np.isfinite(cell.weight_ih.grad))
