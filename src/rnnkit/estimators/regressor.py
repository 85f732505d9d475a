"""RNNRegressor: one real vector per sequence (many-to-one regression), scikit-learn conventions."""

from __future__ import annotations

import numpy as np

from rnnkit.estimators._persist import register_estimator
from rnnkit.estimators._rnn_base import RNNSequenceEstimator
from rnnkit.estimators._split import random_split

__all__ = ["RNNRegressor", "r2_score"]


def _as_targets(y, n: int, name: str = "y") -> np.ndarray:
    if hasattr(y, "detach") and hasattr(y, "numpy"):      # a torch tensor
        y = y.detach().cpu().numpy()
    try:
        t = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must hold numbers (regression targets): {err}") from None
    if t.ndim not in (1, 2) or t.shape[0] != n:
        raise ValueError(f"{name} must be (N,) or (N, K) with N = {n} (one target per sequence), got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        bad = np.argwhere(~np.isfinite(t.reshape(n, -1)))[:5, 0].tolist()
        raise ValueError(f"{name} holds NaN or inf at examples {bad}")
    return t


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    r"""Coefficient of determination, averaged over outputs (scikit-learn's ``r2_score``).

    .. math::  R^2_k = 1 - \sum_n (y_{nk} - \hat y_{nk})^2 / \sum_n (y_{nk} - \bar y_k)^2

    An output with zero variance scores 1 if predicted exactly, else 0.
    """
    t = y_true.reshape(len(y_true), -1)
    p = y_pred.reshape(len(y_pred), -1)
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    safe = ss_tot > 0
    r2 = np.where(safe, 1.0 - ss_res / np.where(safe, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return float(r2.mean())


@register_estimator
class RNNRegressor(RNNSequenceEstimator):
    r"""Regress one value (or a vector of ``K``) per sequence with a recurrent network.

    The network is :class:`RNNClassifier`'s with a linear output of ``K`` units, trained
    with the mean squared error on standardised targets::

        z = (y - mean) / std   (per target, fitted in fit)      y_hat = mean + std * network(x)

    ``X`` takes every form :class:`RNNClassifier` takes (lists of ``(T_i, C)`` arrays, padded
    arrays with ``lengths=``, ``(N, T)`` arrays, token sequences); ``y`` is ``(N,)`` (then
    ``predict`` returns ``(N,)``) or ``(N, K)``. ``score`` is :math:`R^2` as in scikit-learn.

    Args:
        cell: ``'gru'`` (default), ``'lstm'`` or ``'rnn'``.
        hidden_size (64), num_layers (1), bidirectional (True), pooling (``'last+mean'``),
        dropout (0.0), input_layers / head_layers (``()``), activation (``'tanh'``),
        embedding_dim (32), input_type (``'auto'``): the network, as in RNNClassifier.
        max_epochs (100), batch_size (32), lr (3e-3), weight_decay (0.0), clip_grad_norm
        (1.0), patience (20), lr_schedule (``'cosine'``), validation_fraction (0.1), refit
        (False), max_time (None), random_state (None), verbose (0): training, as in
        RNNClassifier.
        tol: early stopping counts a drop of the validation loss as a gain only when it
            exceeds ``tol`` (default 1e-3; drops add up until they do). The loss is the MSE
            of the standardised targets, so ``tol`` is a share of the targets' variance (an
            :math:`R^2` gain of 0.001): without it a solved problem trains on for every epoch
            that shaves off a little more (the adding problem: ``examples/regress_adding_problem.py``).

    Fitted attributes: ``y_mean_``, ``y_scale_`` and those of RNNClassifier but ``classes_``.

    Example::

        >>> import numpy as np
        >>> from rnnkit.estimators import RNNRegressor
        >>> g = np.random.default_rng(0)
        >>> X = [g.normal(size=(int(g.integers(4, 10)), 1)) for _ in range(200)]
        >>> y = np.array([x.mean() for x in X])
        >>> reg = RNNRegressor(hidden_size=8, max_epochs=30, random_state=0).fit(X, y)
        >>> reg.predict(X[:3]).shape
        (3,)
        >>> float(reg.score(X, y)) > 0.9
        True
    """

    _estimator_type = "regressor"

    def __init__(self, cell="gru", hidden_size=64, num_layers=1, bidirectional=True, pooling="last+mean",
                 dropout=0.0, input_layers=(), head_layers=(), activation="tanh", embedding_dim=32,
                 input_type="auto", input_noise=0.0, max_epochs=100, batch_size=32, lr=3e-3, weight_decay=0.0,
                 clip_grad_norm=1.0, patience=20, tol=1e-3, lr_schedule="cosine", validation_fraction=0.1,
                 refit=False, ensemble_size=1, max_time=None, random_state=None, verbose=0):
        self._store(locals())

    def _network_output(self) -> str:
        return self.pooling

    def fit(self, X, y, lengths=None, *, checkpoint=None, resume: bool = False) -> RNNRegressor:
        """Fit on sequences ``X`` and targets ``y`` ``(N,)`` or ``(N, K)``; returns ``self``."""
        settings = self._check_settings()
        raw, lens = self._read_raw(X, lengths, fitting=True)
        t = _as_targets(y, len(lens))
        if len(lens) < 2:
            raise ValueError(f"RNNRegressor needs at least 2 sequences, got {len(lens)}")
        splits, seeds = self._splits(lambda rng: random_split(len(lens), self.validation_fraction, rng))
        used = self._used(splits)
        t2 = t.reshape(len(t), -1)                                             # (N, K)
        self.y_mean_ = t2[used].mean(axis=0)
        scale = t2[used].std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        self.y_ndim_ = t.ndim
        self._fit_inputs(raw, lens, used)
        z = ((t2 - self.y_mean_) / self.y_scale_).astype(np.float32)
        self._fit_networks(settings, self._encode(raw, lens), lens, z, splits, seeds, z.shape[1], "mse", "mean",
                           checkpoint=checkpoint, resume=resume)
        return self

    def predict(self, X, lengths=None) -> np.ndarray:
        """Predicted targets: ``(N,)`` when ``fit`` had ``(N,)`` targets, else ``(N, K)``."""
        out = self._forward(*self._inputs(X, lengths)).astype(np.float64) * self.y_scale_ + self.y_mean_
        return out[:, 0] if self.y_ndim_ == 1 else out

    def score(self, X, y, lengths=None) -> float:
        """:math:`R^2` of the predictions (averaged over targets), as scikit-learn's ``score``."""
        pred = self.predict(X, lengths)
        return r2_score(_as_targets(y, len(pred)), pred)

    def _fitted_state(self) -> dict:
        return {**self._base_state(), "y_mean": self.y_mean_, "y_scale": self.y_scale_, "y_ndim": self.y_ndim_}

    def _set_fitted_state(self, state: dict) -> None:
        self._set_base_state(state)
        self.y_mean_ = np.asarray(state["y_mean"], np.float64)
        self.y_scale_ = np.asarray(state["y_scale"], np.float64)
        self.y_ndim_ = int(state["y_ndim"])
