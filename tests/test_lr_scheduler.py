"""Learning-rate schedules against torch.optim.lr_scheduler: the lr of every group, every epoch."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rnnkit import optim
from rnnkit.nn.module import Parameter

torch = pytest.importorskip("torch")

EPOCHS = 35
LRS = (0.1, 0.03)


def make_optimizers():
    """An rnnkit SGD and a torch SGD, each with two groups (lr 0.1 and 0.03)."""
    ours = optim.SGD([{"params": [Parameter(np.zeros(2))]}, {"params": [Parameter(np.zeros(3))], "lr": LRS[1]}],
                     lr=LRS[0])
    theirs = torch.optim.SGD(
        [{"params": [torch.zeros(2, requires_grad=True)]}, {"params": [torch.zeros(3, requires_grad=True)],
                                                            "lr": LRS[1]}],
        lr=LRS[0],
    )
    return ours, theirs


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("StepLR", dict(step_size=1)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=10)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01)),
]
SCHEDULE_IDS = [f"{n}-{o}" for n, o in SCHEDULES]


def assert_lrs(ours, theirs, epoch, config):
    got, want = ours.get_last_lr(), [float(v) for v in theirs.get_last_lr()]
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15), f"epoch {epoch} [{config}]: {got} != {want}"
    assert [g["lr"] for g in ours.optimizer.param_groups] == got


@pytest.mark.parametrize(("name", "opts"), SCHEDULES, ids=SCHEDULE_IDS)
def test_schedule_matches_torch(name, opts):
    opt, topt = make_optimizers()
    sched = getattr(optim, name)(opt, **opts)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **opts)
    assert_lrs(sched, tsched, 0, name)
    seen = set()
    for epoch in range(1, EPOCHS + 1):
        opt.step()
        topt.step()
        sched.step()
        tsched.step()
        assert_lrs(sched, tsched, epoch, f"{name} {opts}")
        seen.add(round(sched.get_last_lr()[0], 12))
    assert len(seen) > 3  # the schedule really moved


@pytest.mark.parametrize(("name", "opts"), SCHEDULES, ids=SCHEDULE_IDS)
def test_resume_with_last_epoch_matches_torch(name, opts):
    opt, topt = make_optimizers()
    for group, tgroup in zip(opt.param_groups, topt.param_groups):
        group["initial_lr"] = tgroup["initial_lr"] = group["lr"] * 2
    sched = getattr(optim, name)(opt, last_epoch=4, **opts)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, last_epoch=4, **opts)
    for epoch in range(5, 20):
        assert_lrs(sched, tsched, epoch, f"resumed {name} {opts}")
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


@pytest.mark.parametrize(("name", "opts"), SCHEDULES, ids=SCHEDULE_IDS)
def test_state_dict_json_round_trip(name, opts):
    opt, _ = make_optimizers()
    sched = getattr(optim, name)(opt, **opts)
    for _ in range(12):
        sched.step()
    saved_sched = json.loads(json.dumps(sched.state_dict()))
    saved_opt = json.loads(json.dumps(opt.state_dict()))
    opt2, _ = make_optimizers()
    sched2 = getattr(optim, name)(opt2, **opts)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    for _ in range(15):
        sched.step()
        sched2.step()
        assert sched2.get_last_lr() == sched.get_last_lr()


def plateau_metrics(seed: int, n: int = 40):
    """Falls, then plateaus with small noise, then falls again, then rises: several reductions."""
    rng = np.random.default_rng(seed)
    parts = [np.linspace(1.0, 0.5, 8), np.full(14, 0.5), np.linspace(0.5, 0.2, 6), np.linspace(0.2, 0.4, n - 28)]
    base = np.concatenate(parts)
    return (base + 1e-5 * rng.standard_normal(n)).tolist()


PLATEAU = [
    dict(),
    dict(patience=2),
    dict(patience=2, factor=0.5, cooldown=3),
    dict(patience=1, threshold=0.01, threshold_mode="abs", min_lr=[0.02, 0.001]),
    dict(mode="max", patience=2, factor=0.3),
    dict(mode="max", patience=0, threshold_mode="abs", threshold=0.0, min_lr=0.005, eps=1e-3),
]


@pytest.mark.parametrize("opts", PLATEAU, ids=[str(o) for o in PLATEAU])
def test_reduce_on_plateau_matches_torch(opts):
    opt, topt = make_optimizers()
    sched = optim.ReduceLROnPlateau(opt, **opts)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **opts)
    metrics = plateau_metrics(0)
    seen = set()
    for epoch, metric in enumerate(metrics, start=1):
        sched.step(metric)
        tsched.step(metric)
        assert_lrs(sched, tsched, epoch, f"ReduceLROnPlateau {opts}")
        assert sched.num_bad_epochs == tsched.num_bad_epochs and sched.best == tsched.best
        seen.add(sched.get_last_lr()[0])
        if epoch == 20:  # save, reload through JSON, carry on with the copy
            opt2, _ = make_optimizers()
            opt2.load_state_dict(json.loads(json.dumps(opt.state_dict())))
            sched2 = optim.ReduceLROnPlateau(opt2)
            sched2.load_state_dict(json.loads(json.dumps(sched.state_dict())))
            sched, opt = sched2, opt2
    assert len(seen) >= 2, f"the lr was never reduced [{opts}]"


def test_reduce_on_plateau_fresh_state_is_strict_json():
    opt, _ = make_optimizers()
    sched = optim.ReduceLROnPlateau(opt, mode="max")
    text = json.dumps(sched.state_dict(), allow_nan=False)
    sched2 = optim.ReduceLROnPlateau(make_optimizers()[0])
    sched2.load_state_dict(json.loads(text))
    assert sched2.best == -math.inf and sched2.mode == "max"


def test_metric_may_be_numpy_scalar():
    opt, _ = make_optimizers()
    sched = optim.ReduceLROnPlateau(opt, patience=0)
    sched.step(np.float32(1.0))
    sched.step(np.array(2.0))
    assert sched.get_last_lr() == pytest.approx([0.01, 0.003])
    with pytest.raises(TypeError, match="metrics"):
        sched.step("loss")


@pytest.mark.parametrize(
    ("make", "exc", "match"),
    [
        (lambda o: optim.StepLR(o, step_size=0), ValueError, "step_size"),
        (lambda o: optim.StepLR(o, step_size=2.5), TypeError, "step_size"),
        (lambda o: optim.StepLR(o, 2, gamma=-0.1), ValueError, "gamma"),
        (lambda o: optim.ExponentialLR(o, gamma="0.9"), TypeError, "gamma"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=5, eta_min=-1.0), ValueError, "eta_min"),
        (lambda o: optim.ExponentialLR(o, 0.9, last_epoch=-2), ValueError, "last_epoch"),
        (lambda o: optim.ExponentialLR(o, 0.9, last_epoch=3), KeyError, "initial_lr"),
        (lambda o: optim.StepLR(object(), 2), TypeError, "optimizer"),
        (lambda o: optim.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
        (lambda o: optim.ReduceLROnPlateau(o, mode="lowest"), ValueError, "mode"),
        (lambda o: optim.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold_mode"),
        (lambda o: optim.ReduceLROnPlateau(o, patience=-1), ValueError, "patience"),
        (lambda o: optim.ReduceLROnPlateau(o, min_lr=[0.0]), ValueError, "min_lr"),
        (lambda o: optim.ReduceLROnPlateau(o, cooldown=1.5), TypeError, "cooldown"),
        (lambda o: optim.StepLR(o, 2).load_state_dict({"gamma": 0.5, "bogus": 1}), ValueError, "bogus"),
    ],
)
def test_bad_arguments(make, exc, match):
    opt, _ = make_optimizers()
    with pytest.raises(exc, match=match):
        make(opt)
