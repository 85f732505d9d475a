"""RNNRegressor: learns, standardises targets inside and inverts them, R^2 as scikit-learn,
padded == unpadded, saves bitwise."""

from __future__ import annotations

import numpy as np
import pytest

import rnnkit
from rnnkit.data import pad_sequences
from rnnkit.estimators import RNNRegressor
from rnnkit.estimators.regressor import r2_score

FAST = dict(hidden_size=8, max_epochs=30, batch_size=16, ensemble_size=1, random_state=0)


def _means(n=160, seed=0, scale=100.0, offset=-40.0):
    """Target: the mean of the first channel (large scale and offset: the scaler must undo them)."""
    g = np.random.default_rng(seed)
    X = [g.normal(size=(int(g.integers(3, 12)), 2)) for _ in range(n)]
    y = np.array([x[:, 0].mean() for x in X]) * scale + offset
    return X, y


@pytest.fixture(scope="module")
def fitted():
    X, y = _means()
    return RNNRegressor(**FAST).fit(X, y), X, y


def test_learns_and_inverts_the_target_scaling(fitted):
    reg, X, y = fitted
    Xt, yt = _means(80, seed=1)
    pred = reg.predict(Xt)
    assert pred.shape == (80,) and pred.dtype == np.float64
    assert reg.score(Xt, yt) > 0.8
    assert abs(pred.mean() - yt.mean()) < 0.2 * yt.std()                         # in the targets' own units
    assert reg.y_mean_.shape == (1,) and reg.y_scale_.shape == (1,)


def test_target_scaler_uses_the_training_part_only():
    X, y = _means(40)
    reg = RNNRegressor(**{**FAST, "max_epochs": 1}, validation_fraction=0.0).fit(X, y)
    np.testing.assert_allclose(reg.y_mean_, [y.mean()], rtol=1e-12)
    np.testing.assert_allclose(reg.y_scale_, [y.std()], rtol=1e-12)
    reg = RNNRegressor(**{**FAST, "max_epochs": 1}, validation_fraction=0.25).fit(X, y)
    assert reg.y_mean_[0] != pytest.approx(y.mean(), rel=1e-9)


def test_multi_output_targets():
    X, y = _means(120)
    Y = np.stack([y, -0.5 * y + 3.0], axis=1)                                     # (N, 2)
    reg = RNNRegressor(**FAST).fit(X, Y)
    assert reg.predict(X[:5]).shape == (5, 2)
    assert reg.score(X, Y) > 0.8


def test_r2_score_against_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is not installed")
    g = np.random.default_rng(0)
    t, p = g.normal(size=(30, 3)), g.normal(size=(30, 3))
    assert r2_score(t, p) == pytest.approx(metrics.r2_score(t, p), rel=1e-12)
    t[:, 1] = 2.0                                                                 # a constant output
    assert r2_score(t, p) == pytest.approx(metrics.r2_score(t, p), rel=1e-12)
    p[:, 1] = 2.0
    assert r2_score(t, p) == pytest.approx(metrics.r2_score(t, p), rel=1e-12)
    assert r2_score(t[:, 0], p[:, 0]) == pytest.approx(metrics.r2_score(t[:, 0], p[:, 0]), rel=1e-12)


def test_r2_score_hand_computed():
    t = np.array([1.0, 2.0, 3.0])
    assert r2_score(t, np.array([1.0, 2.0, 4.0])) == pytest.approx(1 - 1 / 2)


def test_padded_unpadded_and_save_load_bitwise(tmp_path, fitted):
    reg, X, _ = fitted
    ref = reg.predict(X)
    padded, lengths = pad_sequences(X, batch_first=True, max_len=15)
    np.testing.assert_array_equal(reg.predict(padded, lengths=lengths), ref)
    nan_padded, _ = pad_sequences(X, batch_first=True, padding_value=np.nan)
    np.testing.assert_array_equal(reg.predict(nan_padded), ref)
    reg.save(tmp_path / "reg.npz")
    back = rnnkit.load(tmp_path / "reg.npz")
    assert type(back) is RNNRegressor
    np.testing.assert_array_equal(back.predict(X), ref)
    np.testing.assert_array_equal(back.y_scale_, reg.y_scale_)


def test_bad_targets_are_clear_errors(fitted):
    _, X, y = fitted
    bad = y.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match=r"y holds NaN or inf at examples \[7\]"):
        RNNRegressor(**FAST).fit(X, bad)
    with pytest.raises(ValueError, match=r"y must be \(N,\) or \(N, K\) with N = 160"):
        RNNRegressor(**FAST).fit(X, y[:10])
    with pytest.raises(TypeError, match="y must hold numbers"):
        RNNRegressor(**FAST).fit(X[:2], ["a", "b"])


def test_scikit_learn_clone_and_cross_val_score():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    from sklearn.base import clone, is_regressor
    from sklearn.model_selection import cross_val_score

    X, y = _means(40)
    est = RNNRegressor(**{**FAST, "max_epochs": 2})
    assert is_regressor(est) and clone(est).get_params() == est.get_params()
    scores = cross_val_score(est, X, y, cv=2)
    assert scores.shape == (2,) and np.all(np.isfinite(scores))


def _stop_epoch(val_losses, tol: float, patience: int) -> int:
    """The epoch early stopping ends at, by hand: a gain counts when it beats the best counted by > tol."""
    best, wait = np.inf, 0
    for epoch, v in enumerate(val_losses, 1):
        if v < best - tol:
            best, wait = v, 0
        else:
            wait += 1
            if wait > patience:
                return epoch
    return len(val_losses)


def test_tol_counts_only_gains_above_it_and_small_gains_add_up():
    X, y = _means(80)
    params = {**FAST, "max_epochs": 25, "lr_schedule": None}               # patience alters no step
    free = RNNRegressor(**params, patience=100, tol=0.0).fit(X, y).history_.history["val_loss"]
    assert len(free) == 25
    stop = _stop_epoch(free, 0.03, 2)
    assert 4 <= stop < 25                                   # the rule stops this run early, not at once
    assert free[0] - free[1] < 0.03 and free[1] - free[2] < 0.03 and free[0] - free[2] < 0.03 < free[0] - free[3]
    assert RNNRegressor().tol == 1e-3
    tolerant = RNNRegressor(**params, patience=2, tol=0.03).fit(X, y)
    assert tolerant.history_.history["val_loss"] == free[:stop]
    with pytest.raises(ValueError, match="tol"):
        RNNRegressor(**params, patience=2, tol=-1.0).fit(X, y)
