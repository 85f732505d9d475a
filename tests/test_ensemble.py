"""Ensemble: the average of the members' outputs or class probabilities, its backward by
central finite differences in float64, and saving."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from helpers import check_fd
from rnnkit.models import Ensemble, SequenceModel


def _members(output="mean", n=3, **kw):
    return [SequenceModel(2, 3, 4, cell="gru", output=output, dtype=np.float64, rng=s, **kw) for s in range(n)]


@pytest.mark.parametrize("combine", ["mean", "probability"])
@pytest.mark.parametrize("output", ["last+mean", "sequence"])
def test_ensemble_values_and_finite_differences(combine, output):
    rng = np.random.default_rng(0)
    members = _members(output)
    ens = Ensemble(*members, combine=combine)
    x = rng.standard_normal((3, 5, 2))
    lengths = np.array([5, 2, 4])
    y, state = ens(x, lengths=lengths)
    assert state is None
    outs = [m.eval()(x, lengths=lengths)[0] for m in members]
    ens.train()
    if combine == "mean":
        np.testing.assert_allclose(y, np.mean(outs, axis=0), rtol=1e-12)
    else:
        probs = [np.exp(o) / np.exp(o).sum(axis=-1, keepdims=True) for o in outs]
        np.testing.assert_allclose(np.exp(y), np.mean(probs, axis=0), rtol=1e-12)
    w = rng.standard_normal(y.shape)
    ens.zero_grad()
    dx = ens.backward(w)

    def f():
        out = ens(x, lengths=lengths)[0]
        ens.clear_cache()
        return float(np.sum(out * w))

    cfg = f"{combine} {output}"
    check_fd("dx", dx, f, x, rng, n=8, config=cfg, rtol=1e-5, atol=1e-8)
    for name in ("0.head.weight", "2.rnn.weight_hh_l0"):
        p = dict(ens.named_parameters())[name]
        check_fd(f"grad of {name}", p.grad, f, p.data, rng, n=6, config=cfg, rtol=1e-5, atol=1e-8)


def test_ensemble_saves_and_loads(tmp_path):
    ens = Ensemble(*_members("max", n=2), combine="probability")
    rnnkit.save_model(ens, tmp_path / "e.npz")
    back = rnnkit.load_model(tmp_path / "e.npz")
    assert type(back) is Ensemble and len(back) == 2 and back.combine == "probability"
    x = np.random.default_rng(1).standard_normal((2, 4, 2))
    np.testing.assert_array_equal(back.eval()(x)[0], ens.eval()(x)[0])


def test_ensemble_bad_arguments():
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble()
    with pytest.raises(TypeError, match="members must be modules"):
        Ensemble(np.zeros(3))
    with pytest.raises(ValueError, match="combine must be one of"):
        Ensemble(*_members(n=1), combine="vote")
    a = SequenceModel(2, 3, 4, output="mean", rng=0)
    b = SequenceModel(2, 3, 5, output="mean", rng=0)
    with pytest.raises(ValueError, match="different shapes"):
        Ensemble(a, b)(np.zeros((1, 2, 2)))
