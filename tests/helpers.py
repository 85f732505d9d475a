"""Shared test helpers: finite differences, a PyTorch oracle, comparisons that name the tensor.

Other test modules (layers, losses, kernels) may import these::

    from helpers import assert_close, finite_diff_grad, rnnkit_run, torch_reference

Conventions used throughout:

- a *result* is a dict with ``out``, ``h_n`` (``c_n`` for LSTM), ``dx``, ``dh0`` (``dc0``)
  and ``grads`` (``{parameter name: gradient}``); :func:`rnnkit_run` and
  :func:`torch_reference` both return one, so :func:`assert_results_close` compares them;
- the scalar loss behind every backward is ``sum(out * d_out) + sum(h_n * dh_n) (+ sum(c_n * dc_n))``
  so that ``d_out``/``d_state`` are exactly the gradients passed to ``backward``;
- errors are measured relative to the size of the expected tensor:
  ``max|a - b| / max(1, max|b|)`` (absolute for tensors of magnitude below one).
"""

from __future__ import annotations

import zlib

import numpy as np

# Targets from the issue: float32 against torch float32, float64 against torch float64.
RTOL = {np.dtype(np.float32): 3e-5, np.dtype(np.float64): 1e-10}


# -- comparisons ----------------------------------------------------------------------------
def rel_error(actual, expected) -> float:
    """``max|a - b| / max(1, max|b|)``: the error relative to the expected tensor's scale."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    if b.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def assert_close(name: str, actual, expected, rtol: float, config: str = "") -> None:
    """Fail with the tensor's name, the configuration and the error when they differ."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    where = f" [{config}]" if config else ""
    assert actual.shape == expected.shape, (
        f"{name}{where}: shape {actual.shape} != expected {expected.shape}"
    )
    assert np.all(np.isfinite(actual)), f"{name}{where}: non-finite values"
    err = rel_error(actual, expected)
    assert err <= rtol, f"{name}{where}: relative error {err:.3e} > {rtol:.1e}"


def assert_results_close(ours: dict, ref: dict, rtol: float, config: str = "") -> None:
    """Compare two results (see the module docstring) key by key, every parameter gradient too."""
    for key in ("out", "h_n", "c_n", "dx", "dh0", "dc0"):
        if ref.get(key) is not None:
            assert ours.get(key) is not None, f"{key} [{config}]: missing from rnnkit's result"
            assert_close(key, ours[key], ref[key], rtol, config)
    assert list(ours["grads"]) == list(ref["grads"]), (
        f"parameter names [{config}]: {list(ours['grads'])} != {list(ref['grads'])}"
    )
    for name, g in ref["grads"].items():
        assert ours["grads"][name] is not None, f"grad of {name} [{config}]: never set"
        assert_close(f"grad of {name}", ours["grads"][name], g, rtol, config)


def seed_of(*parts) -> int:
    """A stable seed from a configuration (so each parametrized case gets its own data)."""
    return zlib.crc32(repr(parts).encode())


# -- finite differences ---------------------------------------------------------------------
def sample_indices(shape, n: int, rng) -> list[tuple[int, ...]]:
    """Up to ``n`` distinct index tuples into an array of ``shape`` (all of them if fewer)."""
    size = int(np.prod(shape))
    flat = rng.choice(size, size=min(n, size), replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def finite_diff_grad(f, array: np.ndarray, idx_list, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(a + eps e_k) - f(a - eps e_k)) / 2 eps`` at each index.

    ``f()`` takes no arguments and returns a scalar computed from ``array``, which is
    perturbed in place and restored. Use float64 arrays.
    """
    out = np.empty(len(idx_list))
    for k, idx in enumerate(idx_list):
        old = array[idx]
        array[idx] = old + eps
        fp = float(f())
        array[idx] = old - eps
        fm = float(f())
        array[idx] = old
        out[k] = (fp - fm) / (2 * eps)
    return out


def check_fd(name: str, analytic: np.ndarray, f, array: np.ndarray, rng, n: int = 6,
             config: str = "", rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Compare ``analytic`` (the gradient of ``f`` w.r.t. ``array``) with central differences
    at ``n`` random entries."""
    assert analytic is not None, f"{name} [{config}]: no gradient was computed"
    assert analytic.shape == array.shape, f"{name} [{config}]: shape {analytic.shape} != {array.shape}"
    idx = sample_indices(array.shape, n, rng)
    fd = finite_diff_grad(f, array, idx)
    an = np.array([analytic[i] for i in idx])
    bad = np.abs(an - fd) > atol + rtol * np.abs(fd)
    assert not bad.any(), (
        f"{name} [{config}]: analytic {an[bad]} != finite differences {fd[bad]} at {np.array(idx)[bad].tolist()}"
    )


# -- running rnnkit layers ------------------------------------------------------------------
def is_lstm(module) -> bool:
    return getattr(module, "mode", None) == "LSTM"


def scalar_loss(out, state, d_out, d_state) -> float:
    """``sum(out * d_out) + sum(state_k * d_state_k)``; state/d_state are arrays or tuples."""
    total = float(np.sum(np.asarray(out, np.float64) * d_out))
    states = state if isinstance(state, tuple) else (state,)
    ds = d_state if isinstance(d_state, tuple) else (d_state,)
    for s, d in zip(states, ds):
        if d is not None:
            total += float(np.sum(np.asarray(s, np.float64) * d))
    return total


def rnnkit_run(module, x, state=None, lengths=None, d_out=None, d_state=None) -> dict:
    """Forward then backward through an rnnkit layer (after zero_grad); returns a result dict."""
    module.zero_grad()
    out, s_n = module(x, state, lengths=lengths)
    res = {"out": out}
    if is_lstm(module):
        res["h_n"], res["c_n"] = s_n
    else:
        res["h_n"] = s_n
    if d_out is None:
        return res
    dx, ds0 = module.backward(d_out, d_state)
    res["dx"] = dx
    if state is not None:
        if is_lstm(module):
            res["dh0"], res["dc0"] = ds0
        else:
            res["dh0"] = ds0
    res["grads"] = {n: p.grad for n, p in module.named_parameters()}
    return res


def random_problem(module, T: int, B: int, rng, unbatched: bool = False, with_state: bool = True,
                   dtype=None):
    """Random ``x, state, d_out, d_state`` for a layer; B is ignored when ``unbatched``.

    ``d_out`` is random at padded steps too: both rnnkit and torch must ignore it there.
    """
    dtype = np.dtype(dtype or module.dtype)
    LD = module.num_layers * module.num_directions
    P, H = module.output_size, module.hidden_size
    F = P * (module.num_directions if module.merge_mode == "concat" else 1)
    if unbatched:
        x_shape, s_shape, c_shape, o_shape = (T, module.input_size), (LD, P), (LD, H), (T, F)
    else:
        x_shape = (B, T, module.input_size) if module.batch_first else (T, B, module.input_size)
        s_shape, c_shape = (LD, B, P), (LD, B, H)
        o_shape = (B, T, F) if module.batch_first else (T, B, F)

    def draw(shape):
        return rng.standard_normal(shape).astype(dtype)

    x = draw(x_shape)
    state = d_state = None
    if with_state:
        state = (draw(s_shape), draw(c_shape)) if is_lstm(module) else draw(s_shape)
    d_out = draw(o_shape)
    d_state = (draw(s_shape), draw(c_shape)) if is_lstm(module) else draw(s_shape)
    return x, state, d_out, d_state


# -- the PyTorch oracle ---------------------------------------------------------------------
def _torch():
    import torch

    if torch.get_num_threads() > 1:
        torch.set_num_threads(1)   # tiny tensors; avoids oversubscription under pytest -n
    return torch


def torch_twin(module):
    """A torch.nn.RNN/LSTM/GRU with the same configuration and weights as an rnnkit layer."""
    torch = _torch()
    kind = module.mode
    if module.merge_mode != "concat" and module.bidirectional:
        raise ValueError(f"torch has no merge_mode={module.merge_mode!r}")
    if kind == "GRU" and not module.reset_after:
        raise ValueError("torch has no GRU with reset_after=False")
    if kind == "RNN" and module.nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"torch has no RNN with nonlinearity={module.nonlinearity!r}")
    kw = dict(num_layers=module.num_layers, bias=module.bias, batch_first=module.batch_first,
              bidirectional=module.bidirectional)
    if kind == "RNN":
        kw["nonlinearity"] = module.nonlinearity
    if module.proj_size:
        kw["proj_size"] = module.proj_size
    tdtype = torch.float64 if module.dtype == np.float64 else torch.float32
    tm = getattr(torch.nn, kind)(module.input_size, module.hidden_size, dtype=tdtype, **kw)
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in module.state_dict().items()})
    return tm


def torch_reference(kind, module, x, state, lengths, d_out, d_state, batch_first) -> dict:
    """PyTorch's outputs and gradients for the same computation (a result dict).

    ``module`` is a torch.nn.RNN/LSTM/GRU, or an rnnkit layer (a twin is built with
    :func:`torch_twin`). ``kind`` is 'RNN', 'LSTM' or 'GRU'. Variable lengths go through
    ``pack_padded_sequence(enforce_sorted=False)`` / ``pad_packed_sequence(total_length=T)``.
    ``state``/``d_state`` may be None (zeros); the loss is ``sum(out*d_out) + sum(h_n*dh_n)
    (+ sum(c_n*dc_n))``.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        module = torch_twin(module)
    tdtype = next(module.parameters()).dtype
    module.zero_grad(set_to_none=True)

    def leaf(a):
        return torch.tensor(np.asarray(a), dtype=tdtype, requires_grad=True)

    tx = leaf(x)
    tstate = None
    if state is not None:
        tstate = (leaf(state[0]), leaf(state[1])) if kind == "LSTM" else leaf(state)
    if lengths is not None:
        T = tx.shape[1] if batch_first else tx.shape[0]
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            tx, torch.as_tensor(np.asarray(lengths), dtype=torch.int64), batch_first=batch_first,
            enforce_sorted=False,
        )
        pout, s_n = module(packed, tstate)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(pout, batch_first=batch_first, total_length=T)
    else:
        out, s_n = module(tx, tstate)
    states = s_n if kind == "LSTM" else (s_n,)
    res = {"out": out.detach().numpy().copy(), "h_n": states[0].detach().numpy().copy()}
    if kind == "LSTM":
        res["c_n"] = states[1].detach().numpy().copy()
    if d_out is None:
        return res
    loss = (out * torch.as_tensor(np.asarray(d_out), dtype=tdtype)).sum()
    ds = (d_state if kind == "LSTM" else (d_state,)) if d_state is not None else ()
    for s, d in zip(states, ds):
        if d is not None:
            loss = loss + (s * torch.as_tensor(np.asarray(d), dtype=tdtype)).sum()
    loss.backward()
    res["dx"] = tx.grad.numpy().copy()
    if tstate is not None:
        if kind == "LSTM":
            res["dh0"], res["dc0"] = tstate[0].grad.numpy().copy(), tstate[1].grad.numpy().copy()
        else:
            res["dh0"] = tstate.grad.numpy().copy()
    res["grads"] = {
        n: (p.grad.numpy().copy() if p.grad is not None else np.zeros(tuple(p.shape)))
        for n, p in module.named_parameters()
    }
    return res


def die_after_checkpoint(monkeypatch, epoch: int) -> None:
    """Make every training run raise ``RuntimeError('killed')`` right after ModelCheckpoint wrote
    epoch ``epoch``: a process dying between two epochs, its checkpoint on disk."""
    from rnnkit.train import ModelCheckpoint

    write = ModelCheckpoint.on_epoch_end

    def write_then_die(self, trainer, ep, logs):
        write(self, trainer, ep, logs)
        if trainer.epoch == epoch:
            raise RuntimeError("killed")

    monkeypatch.setattr(ModelCheckpoint, "on_epoch_end", write_then_die)
