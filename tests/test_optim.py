"""Optimizers against torch.optim: same parameters, same gradients, several steps.

Every configuration runs in float64 (agreement to 1e-12 relative) and float32 (1e-6), with
one parameter that has no gradient on some steps (it must be skipped, its state frozen).
The per-parameter state (moments, buffers, step counts) is compared with torch's too, and a
state_dict saved mid-run through JSON + npz must continue exactly like the uninterrupted run.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from optim_cases import CONFIGS, IDS, N_STEPS, SHAPES, make_grads
from rnnkit import nn, optim
from rnnkit.nn.module import Parameter

torch = pytest.importorskip("torch")

TOL = {np.float64: 1e-12, np.float32: 1e-6}


def make_params(dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    data = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [Parameter(d.copy()) for d in data]
    theirs = [torch.tensor(d.copy(), requires_grad=True) for d in data]
    return ours, theirs


def step_ours(opt, params, grads):
    for p, g in zip(params, grads):
        p.grad = None if g is None else g.copy()
    opt.step()


def step_torch(opt, params, grads):
    for p, g in zip(params, grads):
        p.grad = None if g is None else torch.from_numpy(g.copy())
    opt.step()


def assert_close(name, actual, expected, tol, config):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{name} [{config}]: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected))))
    err = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64)))) / scale
    assert err <= tol, f"{name} [{config}]: relative error {err:.3e} > {tol:.0e}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "opts"), CONFIGS, ids=IDS)
def test_matches_torch(name, opts, dtype):
    config = f"{name} {opts} {np.dtype(dtype).name}"
    ours, theirs = make_params(dtype)
    start = [p.data.copy() for p in ours]
    data_ids = [id(p.data) for p in ours]
    opt = getattr(optim, name)(ours, **opts)
    topt = getattr(torch.optim, name)(theirs, **opts)
    for t, grads in enumerate(make_grads(dtype)):
        step_ours(opt, ours, grads)
        step_torch(topt, theirs, grads)
        for i, (p, tp) in enumerate(zip(ours, theirs)):
            assert_close(f"param {i} after step {t + 1}", p.data, tp.detach().numpy(), TOL[dtype], config)
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        assert p.data.dtype == dtype, f"param {i} [{config}]: dtype became {p.data.dtype}"
        assert id(p.data) == data_ids[i], f"param {i} [{config}]: updated out of place"
        assert not np.allclose(p.data, start[i]), f"param {i} [{config}]: did not move"
        tstate = topt.state[tp]
        assert opt.state[p].keys() <= {k for k, v in tstate.items() if v is not None}, config
        for key, value in opt.state[p].items():
            expected = tstate[key].detach().numpy() if hasattr(tstate[key], "detach") else tstate[key]
            assert_close(f"state[{i}][{key!r}]", value, expected, TOL[dtype], config)
    if "step" in opt.state[ours[1]]:
        assert opt.state[ours[1]]["step"] == N_STEPS - 2  # skipped twice


def json_npz_round_trip(state_dict):
    """Save a state_dict as JSON (numbers, lists) + npz (arrays), as a checkpoint would."""
    arrays, meta_state = {}, {}
    for idx, entries in state_dict["state"].items():
        meta_state[idx] = {}
        for key, value in entries.items():
            if isinstance(value, np.ndarray):
                arrays[f"{idx}.{key}"] = value
                meta_state[idx][key] = None
            else:
                meta_state[idx][key] = value
    text = json.dumps({"state": meta_state, "param_groups": state_dict["param_groups"]})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    loaded_arrays = dict(np.load(buf))
    meta = json.loads(text)  # keys come back as strings, tuples as lists
    for idx, entries in meta["state"].items():
        for key in entries:
            if entries[key] is None:
                entries[key] = loaded_arrays[f"{idx}.{key}"]
    return meta


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "opts"), CONFIGS[1::2], ids=IDS[1::2])
def test_state_dict_round_trip_continues_exactly(name, opts, dtype):
    grads = make_grads(dtype)
    ours, _ = make_params(dtype)
    opt = getattr(optim, name)(ours, **opts)
    for g in grads[:4]:
        step_ours(opt, ours, g)
    saved = json_npz_round_trip(opt.state_dict())
    resumed_params = [Parameter(p.data.copy()) for p in ours]
    resumed = getattr(optim, name)(resumed_params, lr=0.123)  # options come from the state_dict
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for g in grads[4:]:
        step_ours(opt, ours, g)
        step_ours(resumed, resumed_params, g)
    for i, (a, b) in enumerate(zip(resumed_params, ours)):
        np.testing.assert_array_equal(a.data, b.data, err_msg=f"param {i} after resume [{name} {opts}]")
        assert a.data.dtype == dtype


def test_state_dict_is_a_copy():
    ours, _ = make_params(np.float64)
    opt = optim.SGD(ours, lr=0.1, momentum=0.9)
    step_ours(opt, ours, make_grads(np.float64)[0])
    sd = opt.state_dict()
    sd["state"][0]["momentum_buffer"][...] = 123.0
    sd["param_groups"][0]["lr"] = 5.0
    assert not np.any(opt.state[ours[0]]["momentum_buffer"] == 123.0)
    assert opt.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_param_groups_with_own_options_match_torch(dtype):
    ours, theirs = make_params(dtype)
    groups = lambda ps: [  # noqa: E731
        {"params": ps[:1]},
        {"params": ps[1:], "lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1, "amsgrad": True},
    ]
    opt = optim.Adam(groups(ours), lr=0.05)
    topt = torch.optim.Adam(groups(theirs), lr=0.05)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.02]
    for g in make_grads(dtype):
        step_ours(opt, ours, g)
        step_torch(topt, theirs, g)
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        assert_close(f"param {i}", p.data, tp.detach().numpy(), TOL[dtype], "Adam two groups")
    assert opt.state_dict()["param_groups"][1]["params"] == [1, 2]


def test_add_param_group_and_named_parameters():
    model = nn.GRU(3, 4)
    opt = optim.SGD(model.named_parameters(), lr=0.1)
    names = [n for n, _ in model.named_parameters()]
    assert opt.param_groups[0]["param_names"] == names
    assert opt.state_dict()["param_groups"][0]["param_names"] == names
    extra = Parameter(np.zeros(2))
    opt.add_param_group({"params": [("extra", extra)], "lr": 0.5})
    extra.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(extra.data, [-0.5, -0.5])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [("again", extra)]})


def test_closure_zero_grad_and_skipping():
    p, q = Parameter(np.ones(3)), Parameter(np.ones(2))
    opt = optim.SGD([p, q], lr=0.5)
    p.grad = np.full(3, 2.0)
    assert opt.step(closure=lambda: 7.5) == 7.5
    np.testing.assert_array_equal(p.data, np.zeros(3))
    np.testing.assert_array_equal(q.data, np.ones(2))  # grad None: untouched
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad, np.zeros(3))
    assert q.grad is None
    opt.zero_grad()
    assert p.grad is None


def test_float64_grad_on_float32_param_keeps_dtype():
    p = Parameter(np.ones(4, np.float32))
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones(4, np.float64)
    opt.step()
    assert p.data.dtype == np.float32 and opt.state[p]["exp_avg"].dtype == np.float32


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda ps: optim.SGD(ps, lr=-0.1), ValueError, "lr"),
        (lambda ps: optim.SGD(ps, lr="0.1"), TypeError, "lr"),
        (lambda ps: optim.SGD(ps, momentum=-0.5), ValueError, "momentum"),
        (lambda ps: optim.SGD(ps, weight_decay=-1.0), ValueError, "weight_decay"),
        (lambda ps: optim.SGD(ps, nesterov=True), ValueError, "nesterov"),
        (lambda ps: optim.SGD(ps, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "nesterov"),
        (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), ValueError, r"betas\[0\]"),
        (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), ValueError, r"betas\[1\]"),
        (lambda ps: optim.Adam(ps, betas=0.9), TypeError, "betas"),
        (lambda ps: optim.Adam(ps, eps=-1e-8), ValueError, "eps"),
        (lambda ps: optim.AdamW(ps, lr=float("nan")), ValueError, "lr"),
        (lambda ps: optim.Adam(ps, amsgrad=1), TypeError, "amsgrad"),
        (lambda ps: optim.RMSprop(ps, alpha=-0.1), ValueError, "alpha"),
        (lambda ps: optim.RMSprop(ps, momentum=-0.1), ValueError, "momentum"),
        (lambda ps: optim.Adagrad(ps, lr_decay=-0.1), ValueError, "lr_decay"),
        (lambda ps: optim.Adagrad(ps, initial_accumulator_value=-1), ValueError, "initial_accumulator_value"),
        (lambda ps: optim.SGD([], lr=0.1), ValueError, "empty"),
        (lambda ps: optim.SGD(iter([]), lr=0.1), ValueError, "empty"),
        (lambda ps: optim.SGD([np.zeros(3)], lr=0.1), TypeError, "Parameter"),
        (lambda ps: optim.SGD(ps[0], lr=0.1), TypeError, "iterable"),
        (lambda ps: optim.SGD(nn.GRU(2, 2), lr=0.1), TypeError, "parameters"),
        (lambda ps: optim.SGD(set(ps), lr=0.1), TypeError, "set"),
        (lambda ps: optim.SGD([ps[0], ps[0]], lr=0.1), ValueError, "more than once"),
        (lambda ps: optim.SGD([{"params": ps[:1]}, {"params": ps[:2]}]), ValueError, "more than one"),
        (lambda ps: optim.SGD([{"params": ps, "betas": (0.9, 0.9)}]), ValueError, "unknown options"),
        (lambda ps: optim.SGD([{"params": ps, "lr": -1.0}]), ValueError, "lr"),
        (lambda ps: optim.SGD([{"lr": 0.1}]), ValueError, "'params'"),
    ],
)
def test_bad_arguments(make, exc, match):
    params = [Parameter(np.zeros(3)), Parameter(np.zeros(2))]
    with pytest.raises(exc, match=match):
        make(params)


def test_bad_grad_and_bad_state_dict():
    p = Parameter(np.zeros(3))
    opt = optim.Adam([p])
    p.grad = np.zeros(4)
    with pytest.raises(ValueError, match="grad shape"):
        opt.step()
    p.grad = np.ones(3)
    opt.step()
    sd = opt.state_dict()
    other = optim.Adam([Parameter(np.zeros(3)), Parameter(np.zeros(1))])
    with pytest.raises(ValueError, match="parameters"):
        other.load_state_dict(sd)
    bad = opt.state_dict()
    bad["state"][0]["exp_avg"] = np.zeros(5)
    with pytest.raises(ValueError, match="shape"):
        optim.Adam([Parameter(np.zeros(3))]).load_state_dict(bad)
    with pytest.raises(ValueError, match="options"):
        optim.SGD([Parameter(np.zeros(3))]).load_state_dict(sd)
    bad = opt.state_dict()
    bad["state"][0]["square_avg"] = np.zeros(3)
    with pytest.raises(ValueError, match="does not keep"):
        optim.Adam([Parameter(np.zeros(3))]).load_state_dict(bad)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.Adam([{"params": [Parameter(np.zeros(3))]}, {"params": [Parameter(np.zeros(3))]}]).load_state_dict(sd)
    fresh = optim.Adam([Parameter(np.zeros(3))], lr=0.5)
    bad = opt.state_dict()
    bad["state"][7] = bad["state"].pop(0)
    with pytest.raises(ValueError, match="no parameter index"):
        fresh.load_state_dict(bad)
    assert fresh.param_groups[0]["lr"] == 0.5 and not fresh.state  # nothing changed on failure
