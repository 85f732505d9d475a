"""Optimizer.step_if_finite (the step fit uses): bit-identical to step() (which test_optim checks
against torch.optim), all or nothing when an update would be non-finite, no new arrays on the
normal path; and load_state_dict / scheduler load_state_dict refusing malformed state by name."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from optim_cases import CONFIGS, IDS, SHAPES, make_grads
from rnnkit import optim
from rnnkit.nn.module import Parameter


def params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s).astype(dtype)) for s in SHAPES]


def give(ps, grads):
    for p, g in zip(ps, grads):
        p.grad = None if g is None else g.copy()


def snapshot(opt, ps):
    return [p.data.copy() for p in ps], copy.deepcopy(opt.state_dict())


def assert_same(a, b, what):
    (pa, sa), (pb, sb) = a, b
    for i, (x, y) in enumerate(zip(pa, pb)):
        np.testing.assert_array_equal(x, y, err_msg=f"{what}: param {i}")
    assert sa["param_groups"] == sb["param_groups"], what
    assert sa["state"].keys() == sb["state"].keys(), what
    for k in sa["state"]:
        assert sa["state"][k].keys() == sb["state"][k].keys(), (what, k)
        for n in sa["state"][k]:
            np.testing.assert_array_equal(sa["state"][k][n], sb["state"][k][n], err_msg=f"{what}: state {k} {n}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "opts"), CONFIGS, ids=IDS)
def test_step_if_finite_is_step_bit_for_bit(name, opts, dtype):
    a, b = params(dtype), params(dtype)
    oa, ob = getattr(optim, name)(a, **opts), getattr(optim, name)(b, **opts)
    ids = [id(p.data) for p in b]
    for grads in make_grads(dtype):
        give(a, grads)
        give(b, grads)
        oa.step()
        assert ob.step_if_finite() == []
    assert_same(snapshot(oa, a), snapshot(ob, b), f"{name} {opts}")
    assert [id(p.data) for p in b] == ids                       # the weights are written in place


@pytest.mark.parametrize(("name", "opts"), [c for c in CONFIGS if c[0] in ("SGD", "Adam", "RMSprop", "Adagrad")][::2])
def test_a_non_finite_update_changes_nothing(name, opts):
    ps = params(np.float32)
    opt = getattr(optim, name)(ps, **opts)
    grads = make_grads(np.float32)
    for g in grads[:3]:
        give(ps, g)
        assert opt.step_if_finite() == []
    before = snapshot(opt, ps)
    bad = [g.copy() for g in grads[3]]
    bad[2].flat[1] = np.inf                                     # only the last parameter goes wrong
    give(ps, bad)
    failed = opt.step_if_finite()
    assert failed == [ps[2]]
    assert_same(before, snapshot(opt, ps), f"{name} after a refused step")   # moments and step counts too
    give(ps, grads[3])                                          # and the run goes on as if nothing happened
    assert opt.step_if_finite() == []
    ref = params(np.float32)
    ref_opt = getattr(optim, name)(ref, **opts)
    for g in grads[:4]:
        give(ref, g)
        ref_opt.step()
    assert_same(snapshot(ref_opt, ref), snapshot(opt, ps), f"{name} after the next step")


def test_a_refused_first_step_creates_no_state():
    p = Parameter(np.ones(3, np.float32))
    opt = optim.Adam([p], lr=1e-3)
    p.grad = np.array([1.0, np.nan, 0.0], np.float32)
    assert opt.step_if_finite() == [p]
    assert not opt.state and not opt.state_dict()["state"]
    np.testing.assert_array_equal(p.data, np.ones(3))


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_overflow_of_finite_values_is_caught():
    p = Parameter(np.full(4, 3e38, np.float32))                # finite weights ...
    opt = optim.SGD([p], lr=1.0)
    p.grad = np.full(4, -3e38, np.float32)                     # ... and gradient, but 6e38 overflows float32
    assert opt.step_if_finite() == [p]
    np.testing.assert_array_equal(p.data, np.full(4, 3e38, np.float32))


def test_large_finite_weights_are_not_refused():
    """The fast check sums the new weights; a sum that overflows must not refuse finite values."""
    p = Parameter(np.full(8, 3e38, np.float32))
    opt = optim.SGD([p], lr=1.0)
    p.grad = np.full(8, 1e37, np.float32)
    assert opt.step_if_finite() == []
    np.testing.assert_array_equal(p.data, np.full(8, np.float32(3e38) - np.float32(1e37)))


def test_the_normal_path_reuses_its_arrays():
    ps = params(np.float32)
    opt = optim.Adam(ps, lr=1e-3, amsgrad=True)
    grads = make_grads(np.float32)
    give(ps, grads[0])
    opt.step_if_finite()
    give(ps, grads[1])
    opt.step_if_finite()

    def arrays():
        out = {id(p.data) for p in ps}
        for p in ps:
            out |= {id(v) for v in opt.state.get(p, {}).values() if isinstance(v, np.ndarray)}
            out |= {id(v) for v in opt._spare.get(p, {}).values()}
        return out

    seen = arrays()
    for g in grads[2:]:
        give(ps, g)
        opt.step_if_finite()
        assert arrays() == seen                                 # state and spare arrays trade places, no new ones


# -- malformed state ---------------------------------------------------------------------
def saved_adam():
    p = Parameter(np.zeros(3))
    opt = optim.Adam([p])
    p.grad = np.ones(3)
    opt.step()
    return opt.state_dict()


BAD_STATES = [
    (lambda d: d.__setitem__("param_groups", 3), TypeError, r"state_dict\['param_groups'\] must be a list"),
    (lambda d: d["param_groups"].__setitem__(0, "x"), TypeError, r"param_groups'\]\[0\] must be a dict"),
    (lambda d: d["param_groups"][0].pop("params"), ValueError, r"\[0\] lacks 'params'"),
    (lambda d: d["param_groups"][0].__setitem__("params", ["a"]), TypeError, r"\['params'\]\[0\] must be an integer"),
    (lambda d: d["param_groups"][0].__setitem__("params", 7), TypeError, r"\['params'\] must be a list"),
    (lambda d: d["param_groups"][0].__setitem__("lr", "0.1"), TypeError, r"param_groups'\]\[0\]: lr must be a real"),
    (lambda d: d["param_groups"][0].__setitem__("betas", (0.9,)), TypeError, "betas"),
    (lambda d: d["param_groups"][0].__setitem__("param_names", [1]), ValueError, "param_names"),
    (lambda d: d.__setitem__("state", []), TypeError, r"state_dict\['state'\] must be a dict"),
    (lambda d: d["state"].__setitem__(0, 5), TypeError, r"state'\]\[0\] must be a dict"),
    (lambda d: d["state"][0].__setitem__("step", "x"), TypeError, r"\['step'\] must be an integer step count"),
    (lambda d: d["state"][0].__setitem__("step", 1.5), ValueError, r"\['step'\] must be an integer >= 0"),
    (lambda d: d["state"][0].__setitem__("step", -1), ValueError, r"\['step'\] must be an integer >= 0"),
    (lambda d: d["state"][0].__setitem__("step", np.zeros(2)), TypeError, r"\['step'\] must be a number"),
    (lambda d: d["state"][0].pop("exp_avg"), ValueError, r"lacks \['exp_avg'\]"),
    (lambda d: d["state"][0].__setitem__("exp_avg", ["a", "b", "c"]), TypeError, "must hold real numbers"),
    (lambda d: d["state"][0].__setitem__("exp_avg", {"a": 1}), TypeError, r"\['exp_avg'\] must be an array"),
    (lambda d: d["state"][0].__setitem__("exp_avg", np.array([np.nan, 0, 0])), ValueError, "non-finite"),
    (lambda d: d["state"].__setitem__("zz", {}), ValueError, "no parameter index"),
    (lambda d: d["state"].__setitem__(True, {}), ValueError, "no parameter index"),
]


@pytest.mark.parametrize(("spoil", "exc", "match"), BAD_STATES, ids=[b[2] for b in BAD_STATES])
def test_malformed_optimizer_state_is_refused_by_name(spoil, exc, match):
    bad = saved_adam()
    spoil(bad)
    p = Parameter(np.ones(3))
    opt = optim.Adam([p], lr=0.5)
    with pytest.raises(exc, match=match):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.5 and not opt.state   # nothing changed
    p.grad = np.ones(3)
    opt.step()                                                  # and it still steps


def test_state_dict_from_json_and_from_torch_still_loads():
    torch = pytest.importorskip("torch")
    sd = json.loads(json.dumps({"state": {k: {n: (v.tolist() if isinstance(v, np.ndarray) else v)
                                              for n, v in e.items()} for k, e in saved_adam()["state"].items()},
                                "param_groups": saved_adam()["param_groups"]}))
    opt = optim.Adam([Parameter(np.zeros(3))])
    opt.load_state_dict(sd)
    assert next(iter(opt.state.values()))["step"] == 1
    t = torch.zeros(3, requires_grad=True)
    topt = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    t.grad = torch.ones(3)
    topt.step()
    ours = optim.SGD([Parameter(np.zeros(3))], lr=0.1, momentum=0.9)
    tsd = topt.state_dict()
    tsd["param_groups"][0] = {k: v for k, v in tsd["param_groups"][0].items() if k in ours.defaults or k == "params"}
    ours.load_state_dict(tsd)                                  # tensors where arrays go
    np.testing.assert_array_equal(next(iter(ours.state.values()))["momentum_buffer"], np.ones(3))


BAD_SCHEDULES = [
    (lambda o: optim.StepLR(o, 2), {"step_size": 0}, ValueError, r"state_dict\['step_size'\] must be >= 1"),
    (lambda o: optim.StepLR(o, 2), {"last_epoch": "x"}, TypeError, r"state_dict\['last_epoch'\] must be an integer"),
    (lambda o: optim.StepLR(o, 2), {"base_lrs": [0.1, 0.2]}, ValueError, "one value per parameter group"),
    (lambda o: optim.StepLR(o, 2), {"base_lrs": 0.1}, TypeError, r"state_dict\['base_lrs'\] must be a list"),
    (lambda o: optim.StepLR(o, 2), {"_is_initial": 1}, TypeError, r"state_dict\['_is_initial'\] must be a bool"),
    (lambda o: optim.ExponentialLR(o, 0.9), {"gamma": float("nan")}, ValueError, "gamma'\\] must be finite"),
    (lambda o: optim.CosineAnnealingLR(o, 5), {"T_max": 0}, ValueError, "T_max"),
    (lambda o: optim.StepLR(o, 2), ["last_epoch", 3], TypeError, "state_dict must be a dict"),
    (lambda o: optim.ReduceLROnPlateau(o), {"mode": "x"}, ValueError, r"state_dict\['mode'\] must be one of"),
    (lambda o: optim.ReduceLROnPlateau(o), {"factor": 2.0}, ValueError, r"state_dict\['factor'\]"),
    (lambda o: optim.ReduceLROnPlateau(o), {"best": "x"}, TypeError, r"state_dict\['best'\]"),
    (lambda o: optim.ReduceLROnPlateau(o), {"patience": -1}, ValueError, r"state_dict\['patience'\]"),
    (lambda o: optim.ReduceLROnPlateau(o), {"min_lrs": [0.1, 0.1]}, ValueError, "one value per parameter group"),
]


@pytest.mark.parametrize(("make", "state", "exc", "match"), BAD_SCHEDULES, ids=[b[3] for b in BAD_SCHEDULES])
def test_malformed_scheduler_state_is_refused_by_name(make, state, exc, match):
    opt = optim.SGD([Parameter(np.zeros(2))], lr=0.1)
    sched = make(opt)
    before = sched.state_dict()
    with pytest.raises(exc, match=match):
        sched.load_state_dict(state)
    assert sched.state_dict() == before
    sched.step(1.0) if isinstance(sched, optim.ReduceLROnPlateau) else sched.step()
