"""``RNNForecaster``: a recurrent network that forecasts your series, with its transforms inside."""

from __future__ import annotations

import os

import numpy as np

from rnnkit._checks import as_rng, check_bool, check_choice, check_float_range, check_int
from rnnkit.estimators._base import BaseEstimator
from rnnkit.estimators._forecast_history import forecast_starts
from rnnkit.estimators._forecast_input import IMPUTE, as_covariate_list, as_series_list
from rnnkit.estimators._forecast_windows import Covariates, forecast_paths, make_examples, split_examples
from rnnkit.estimators._persist import register_estimator
from rnnkit.estimators._seasonality import detect_season_length
from rnnkit.estimators._training import FitSettings, train_network
from rnnkit.estimators._transforms import DIFFERENCING, SeriesTransform, plan_transform

__all__ = ["RNNForecaster", "member_checkpoint"]

STRATEGIES = ("recursive", "direct")


@register_estimator
class RNNForecaster(BaseEstimator):
    r"""Forecast one series, a multivariate series or many series with an RNN/LSTM/GRU.

    The series goes through invertible transforms fitted on the training data only (log, a
    seasonal and/or first difference, standard scaling: :mod:`rnnkit.estimators._transforms`),
    is cut into windows of ``lags`` past steps, and a :class:`~rnnkit.models.ForecastNet`
    learns the next ``K`` values of the transformed series::

        w = (difference(log(y)) - mean) / std                model space, (T - d, C)
        h_j = cell(x_j, h_{j-1}),  j = 1 .. L                 x_j = [w_j | past cov. | future cov.]  (B, L, I)
        w_hat(t0 .. t0+K-1) = W [h_L | future cov. over the K steps] + b                             (B, K*C)
        y_hat = inverse transforms of w_hat, from the history's last values

    ``strategy='direct'`` (default): ``K = horizon``, one forward gives the whole horizon and a
    forecast of ``h > horizon`` steps continues in blocks of ``horizon`` from its own forecasts.
    ``strategy='recursive'``: ``K = 1``, each forecast step is fed back as the newest lag.
    (Rolling-origin backtests on the tuning series' training parts: the two strategies had the
    same mean error at 20-36 steps; direct varied less between seeds and predicts in one
    forward.)

    Prediction intervals are residual-based (simulated paths, not a quantile loss): each path
    adds to every network output a residual vector drawn at random from the model's errors on
    the held-out validation windows (on the training windows when ``validation_fraction=0``:
    then too narrow) and runs the same forecast; the interval is the paths'
    ``(1 - coverage)/2`` and ``(1 + coverage)/2`` quantiles.

    Args:
        cell: ``'lstm'`` (default), ``'gru'`` or ``'rnn'``.
        hidden_size: ``H`` (32). num_layers: 1. dropout: 0.0 (between layers and before the head).
        lags: ``L``, past steps the network reads (None: ``max(season_length, 12)``).
        horizon: steps to forecast, ``>= 1`` (1): the default ``h`` of :meth:`predict` and of
            :meth:`backtest`, and ``K`` of a direct model.
        strategy: ``'direct'`` (default) or ``'recursive'``.
        season_length: ``m``, the seasonal period of the rules and the seasonal naive baseline
            (None: detected on the training data by
            :func:`~rnnkit.estimators._seasonality.detect_season_length`; 1: no season).
        log: ``'auto'`` (default: when every value is > 0 and the spread grows with the level,
            :func:`~rnnkit.estimators._seasonality.prefers_log`), True or False.
        differencing: ``'auto'`` (default: a seasonal difference when the seasonal strength
            exceeds 0.64, plus a first difference for ``horizon=1`` models; without a seasonal
            one, a first difference when the KPSS test rejects level stationarity at 5%;
            :func:`~rnnkit.estimators._transforms.plan_transform`), ``'none'``, ``'first'``,
            ``'seasonal'``, ``'both'``.
        scale: standardize the differenced series (True).
        center: take each window's targets relative to the window's mean (False).
        fallback: start the output layer at zero, i.e. ``w_hat = 0``: the forecast of the
            transforms alone (with a seasonal difference the seasonal naive forecast plus the
            mean seasonal change, with a first difference the drift forecast), and keep it
            there when no epoch beats it on the validation windows (True; ``fallbacks_`` tells).
        ensemble_size: average this many networks trained from different initialisations (1).
        impute: None (a NaN is an error naming its positions), ``'linear'`` or ``'ffill'``.
        max_epochs (300), batch_size (16), lr (3e-3), clip_grad_norm (1.0),
        weight_decay (0.01, Adam's L2 term: it lowered both tuning scores against 0.0,
            ``benchmarks/results/forecast_tuning.md``),
        patience (30), validation_fraction (0.15: the last windows of each series in time;
            with ``K > 1`` their targets overlap the last training windows'),
        max_time (None: seconds per network), random_state (None), verbose (0): as every rnnkit
        estimator.

    Fitted attributes: ``model_`` (a :class:`~rnnkit.models.ForecastEnsemble`), ``history_`` and
    ``best_epoch_`` (of the first network; ``histories_``, ``best_epochs_`` of all),
    ``n_features_in_`` (C), ``season_length_``, ``lags_``, ``log_``, ``difference_lags_``,
    ``transforms_`` (one per training series), ``residuals_`` ``(N, K, C)``,
    ``validation_forecasts_`` (the K-step forecasts at the validation origins, in the series'
    units, beside the truth), ``validation_indices_`` ``(n_val, 2)``: the series index and
    origin of each validation window (None when ``validation_fraction=0``),
    ``n_past_covariates_``, ``n_future_covariates_``, ``fallbacks_``.

    Example:

    >>> import numpy as np
    >>> t = np.arange(120)
    >>> y = 10 + np.sin(2 * np.pi * t / 12)
    >>> est = RNNForecaster(horizon=6, season_length=12, max_epochs=5, random_state=0).fit(y)
    >>> est.predict().shape
    (6,)
    >>> lower, upper = est.predict_interval(coverage=0.9)
    >>> bool(np.all(lower <= upper))
    True
    """

    def __init__(self, cell="lstm", hidden_size=32, num_layers=1, dropout=0.0, lags=None, horizon=1,
                 strategy="direct", season_length=None, log="auto", differencing="auto", scale=True,
                 center=False, fallback=True, ensemble_size=1, impute=None, max_epochs=300, batch_size=16, lr=3e-3,
                 weight_decay=0.01, clip_grad_norm=1.0, patience=30, validation_fraction=0.15, max_time=None,
                 random_state=None, verbose=0):
        self._store(locals())

    # -- checks -----------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice("cell", self.cell, ("lstm", "gru", "rnn"))
        check_int("hidden_size", self.hidden_size, 1)
        check_int("num_layers", self.num_layers, 1)
        check_float_range("dropout", self.dropout, 0.0, 0.95)
        if self.lags is not None:
            check_int("lags", self.lags, 1)
        check_int("horizon", self.horizon, 1)
        check_choice("strategy", self.strategy, STRATEGIES)
        if self.season_length is not None:
            check_int("season_length", self.season_length, 1)
        if self.log not in ("auto", True, False):
            raise ValueError(f"log must be 'auto', True or False, got {self.log!r}")
        check_choice("differencing", self.differencing, DIFFERENCING)
        check_bool("scale", self.scale)
        check_int("ensemble_size", self.ensemble_size, 1)
        check_bool("center", self.center)
        check_bool("fallback", self.fallback)
        check_choice("impute", self.impute, IMPUTE)
        check_float_range("validation_fraction", self.validation_fraction, 0.0, 0.9)
        FitSettings.from_estimator(self)

    @staticmethod
    def default_lags(season_length: int) -> int:
        """The ``lags=None`` rule: ``max(season_length, 12)``."""
        return max(int(season_length), 12)

    @property
    def _K(self) -> int:
        return self.horizon if self.strategy == "direct" else 1

    # -- fit --------------------------------------------------------------------------------
    def fit(self, y, past_covariates=None, future_covariates=None, checkpoint=None, resume=False) -> RNNForecaster:
        """Learn to forecast ``y``: ``(T,)``, ``(T, C)`` or a list of such series (one model for all).

        ``past_covariates``: ``(T, Cp)`` (a list with a list ``y``) known up to each forecast
        origin only; ``future_covariates``: ``(T, Cf)`` known over the horizon too (calendar
        features, planned prices). Returns ``self``.

        ``checkpoint``: a path written after every epoch (:func:`train_network`); ``resume=True``
        continues the run saved there exactly (give the same data and parameters: the
        transforms, windows, split and initial weights are rebuilt from ``random_state``). With
        ``ensemble_size > 1`` the networks train one after the other, member ``k`` checkpointed
        at :func:`member_checkpoint` ``(checkpoint, k)`` (member 0 at ``checkpoint`` itself): a
        resumed fit takes every finished member from its file, continues the member in progress
        and trains the ones not begun, so it equals the uninterrupted fit (a fit that does not
        resume deletes the member files of an earlier run at the same path first).
        """
        self._check_params()
        check_bool("resume", resume)
        if resume and checkpoint is None:
            raise ValueError("resume=True needs checkpoint=<path of the run's checkpoint>")
        series, is_list, is_1d = as_series_list(y, "y", self.impute)
        past = as_covariate_list(past_covariates, series, is_list, "past_covariates", 0, self.impute)
        fut = as_covariate_list(future_covariates, series, is_list, "future_covariates", 0, self.impute)
        if past is not None and self.strategy == "recursive" and self.horizon > 1:
            raise ValueError("past_covariates need strategy='direct' when horizon > 1: a recursive forecast "
                             "would need their values after the forecast origin")
        if self.season_length is not None:
            m = self.season_length
        else:
            found = [detect_season_length(s[:, c]) for s in series for c in range(s.shape[1])]
            values, counts = np.unique(found, return_counts=True)
            m = int(values[np.argmax(counts)])
        use_log, lags = plan_transform(series, m, self.log, self.differencing, one_step=self.horizon == 1)
        d = int(sum(lags))
        L = self.lags if self.lags is not None else self.default_lags(m)
        need = L + d + self.horizon
        for i, s in enumerate(series):
            if s.shape[0] < need:
                where = f"y[{i}]" if is_list else "y"
                raise ValueError(f"{where} has {s.shape[0]} steps; it needs at least lags + differencing + horizon "
                                 f"= {L} + {d} + {self.horizon} = {need}")
        transforms = [SeriesTransform.fit(s, use_log, lags, self.scale) for s in series]
        self.cov_scalers_ = {k: _column_scaler(v) for k, v in (("past", past), ("future", fut)) if v is not None}
        K = self._K
        examples = []
        for i, (s, tf) in enumerate(zip(series, transforms)):
            cov = Covariates(None if past is None else self.scale_covariates("past", past[i]),
                             None if fut is None else self.scale_covariates("future", fut[i]))
            examples.append(make_examples(tf.to_model(s), d, cov, L, K, self.center))
        X_tr, Y_tr, X_va, Y_va, val_where = split_examples(examples, self.validation_fraction)
        if self.validation_fraction > 0 and X_va.shape[0] == 0:
            raise ValueError("too few windows for a validation set: give a longer series or validation_fraction=0")
        C = series[0].shape[1]
        n_past = 0 if past is None else past[0].shape[1]
        n_fut = 0 if fut is None else fut[0].shape[1]
        rng = as_rng(self.random_state)
        self.model_ = None
        net = self._build_network(C + n_past + n_fut, L, K, C, n_fut, rng)
        val = (X_va, Y_va) if X_va.shape[0] else None
        settings = FitSettings.from_estimator(self)
        if checkpoint is not None and not resume:       # a new run: no member may resume another run's file
            for k in range(1, self.ensemble_size):
                if os.path.exists(member_checkpoint(checkpoint, k)):
                    os.remove(member_checkpoint(checkpoint, k))
        self.histories_, self.best_epochs_ = [], []
        self.fallbacks_ = []
        for k, member in enumerate(getattr(net, "members", [net])):
            out_layer = _output_layer(member) if self.fallback else None
            if out_layer is not None:                   # start from the baseline: w_hat = 0
                out_layer.weight.data[...] = 0.0
                out_layer.bias.data[...] = 0.0
            ckpt = None if checkpoint is None else member_checkpoint(checkpoint, k)
            again = bool(resume) and os.path.exists(ckpt)     # a member not begun yet trains afresh
            hist, keep = train_network(member, (X_tr, Y_tr), val_data=val, settings=settings, loss="mse", rng=rng,
                                       checkpoint=ckpt, resume=again)
            fell_back = out_layer is not None and val is not None and not keep.best < float(np.mean(Y_va ** 2))
            if fell_back:                               # no epoch beat the baseline on the validation windows
                out_layer.weight.data[...] = 0.0
                out_layer.bias.data[...] = 0.0
            self.histories_.append(hist)
            self.best_epochs_.append(keep.best_epoch)
            self.fallbacks_.append(bool(fell_back))
        self.history_, self.best_epoch_ = self.histories_[0], self.best_epochs_[0]
        X_r, Y_r = (X_va, Y_va) if val is not None else (X_tr, Y_tr)
        from rnnkit.train import predict as _predict

        self.residuals_ = (Y_r - _predict(net, X_r)).astype(np.float64).reshape(-1, K, C)
        self.model_ = net
        self.n_features_in_ = C
        self.season_length_, self.lags_, self.log_, self.difference_lags_ = m, L, use_log, tuple(lags)
        self.transforms_ = transforms
        self.n_past_covariates_, self.n_future_covariates_ = n_past, n_fut
        self.is_list_, self.is_1d_ = is_list, is_1d
        keep_rows = L + d
        self.tails_ = [s[-keep_rows:].copy() for s in series]
        self.past_tails_ = None if past is None else [p[-keep_rows:].copy() for p in past]
        self.future_tails_ = None if fut is None else [f[-keep_rows:].copy() for f in fut]
        self.validation_forecasts_ = self._validation_forecasts(series, past, fut, val_where)
        self.validation_indices_ = val_where.astype(np.int64) if val is not None else None
        return self

    def _validation_forecasts(self, series, past, fut, where) -> dict:
        """The model's ``K``-step forecasts at the validation origins, in the series' units."""
        K, C = self._K, self.n_features_in_
        y_true = np.empty((len(where), K, C))
        y_pred = np.empty((len(where), K, C))
        for n, (i, t0) in enumerate(where):
            cov = Covariates(None if past is None else self.scale_covariates("past", past[i][:t0]),
                             None if fut is None else self.scale_covariates("future", fut[i][:t0 + K]))
            tf = self.transforms_[i]
            z = tf.to_level(series[i][:t0])[None]
            y_pred[n] = tf.from_level(forecast_paths(self.model_, tf, z, cov, K, self.lags_, K, center=self.center))[0]
            y_true[n] = series[i][t0:t0 + K]
        return {"series": where[:, 0].copy(), "origin": where[:, 1].copy(), "y_true": y_true, "y_pred": y_pred}

    def _build_network(self, input_size: int, window: int, n_steps: int, n_targets: int, n_future: int, rng):
        """The network to train: a :class:`~rnnkit.models.ForecastEnsemble` of ``ensemble_size``
        :class:`~rnnkit.models.ForecastNet` (a subclass may return another module mapping
        ``(B, window[+n_steps], input_size)`` to ``(B, n_steps * n_targets)``)."""
        from rnnkit.models.forecast_net import ForecastEnsemble

        return ForecastEnsemble(self.ensemble_size, input_size, self.hidden_size, window=window, n_steps=n_steps,
                                n_targets=n_targets, n_future=n_future, cell=self.cell, num_layers=self.num_layers,
                                dropout=self.dropout, rng=rng)

    def scale_covariates(self, kind: str, a: np.ndarray) -> np.ndarray:
        """Covariates ``(T, K)`` standardized by the column scaler fitted at fit (``kind``: 'past'|'future')."""
        mean, std = self.cov_scalers_[kind]
        return (a - mean) / std

    # -- forecasts --------------------------------------------------------------------------
    def _shape(self, arrays, as_list):
        out = [a[..., 0] if self.n_features_in_ == 1 and self.is_1d_ else a for a in arrays]
        return out if as_list else out[0]

    def predict(self, h=None, y=None, past_covariates=None, future_covariates=None):
        """Forecast ``h`` steps (default ``horizon``) after the training series, or after ``y``.

        Returns ``(h,)`` for a 1-D series, ``(h, C)`` for a multivariate one, a list for a list.
        ``y`` (a history to continue, the same layout as at fit) uses the fitted transform of a
        single-series model; a model fitted on a list scales each given series by its own history.
        ``past_covariates`` go with ``y`` (one row per step); ``future_covariates`` cover the
        forecast: ``h`` rows after the training series, or ``len(y) + h`` rows with ``y``.
        """
        h, starts, as_list = forecast_starts(self, h, y, past_covariates, future_covariates, "predict")
        out = []
        for s, tf, cov in starts:
            z = tf.to_level(s)[None]                                           # (1, T0, C)
            out.append(tf.from_level(forecast_paths(self.model_, tf, z, cov, h, self.lags_, self._K,
                                                               center=self.center))[0])
        return self._shape(out, as_list)

    def predict_interval(self, h=None, y=None, coverage=0.9, past_covariates=None, future_covariates=None,
                         n_paths=1000, random_state=None):
        """``(lower, upper)`` of the ``coverage`` prediction interval, each shaped as :meth:`predict`.

        Residual-based (see the class docstring): ``n_paths`` simulated paths; ``random_state``
        (default: the estimator's) seeds the residual draws, so a call is repeatable.
        """
        coverage = check_float_range("coverage", coverage, 0.0, 1.0)
        if not 0.0 < coverage < 1.0:
            raise ValueError(f"coverage must be strictly between 0 and 1, got {coverage}")
        n_paths = check_int("n_paths", n_paths, 2)
        h, starts, as_list = forecast_starts(self, h, y, past_covariates, future_covariates, "predict_interval")
        rng = as_rng(self.random_state if random_state is None else random_state)
        R = self.residuals_
        lo, hi = [], []
        for s, tf, cov in starts:
            z = np.repeat(tf.to_level(s)[None], n_paths, axis=0)                 # (P, T0, C)
            paths = tf.from_level(forecast_paths(self.model_, tf, z, cov, h, self.lags_, self._K,
                                                 noise=lambda b: R[rng.integers(0, R.shape[0], n_paths)],
                                                 center=self.center))
            q = np.quantile(paths, [(1 - coverage) / 2, (1 + coverage) / 2], axis=0)   # (2, h, C)
            lo.append(q[0])
            hi.append(q[1])
        return self._shape(lo, as_list), self._shape(hi, as_list)

    def score(self, y, past_covariates=None, future_covariates=None) -> float:
        """Negative RMSE of the forecast of ``len(y)`` steps after the training series against ``y``
        (higher is better, as scikit-learn expects; ``y``: the values that followed, same layout)."""
        truth, as_list, _ = as_series_list(y, "y")
        h = truth[0].shape[0]
        if any(t.shape[0] != h for t in truth):
            raise ValueError("every series of y must have the same length (the forecast horizon)")
        pred = self.predict(h, past_covariates=past_covariates, future_covariates=future_covariates)
        pred = pred if isinstance(pred, list) else [pred]
        if len(pred) != len(truth):
            raise ValueError(f"y must hold {len(pred)} series (as at fit), got {len(truth)}")
        err = np.concatenate([(np.reshape(p, t.shape) - t).ravel() for p, t in zip(pred, truth)])
        return -float(np.sqrt(np.mean(err ** 2)))

    def backtest(self, y, start, horizon=None, stride=1, refit=False, use_fitted=False, past_covariates=None,
                 future_covariates=None, coverage=None):
        """Rolling-origin evaluation with baselines: see :func:`rnnkit.estimators.backtest`."""
        from rnnkit.estimators.backtest import backtest

        return backtest(self, y, start, horizon=horizon, stride=stride, refit=refit, use_fitted=use_fitted,
                        past_covariates=past_covariates, future_covariates=future_covariates, coverage=coverage)

    def _export_spec(self):
        """What :func:`rnnkit.export.to_onnx` writes: the whole forecast (see :mod:`rnnkit.export._forecaster`)."""
        from rnnkit.export._forecaster import forecaster_export_spec

        return forecaster_export_spec(self)

    # -- saving -----------------------------------------------------------------------------
    def _fitted_state(self) -> dict:
        return {
            "histories": [h.to_dict() for h in self.histories_], "best_epochs": self.best_epochs_,
            "fallbacks": self.fallbacks_,
            "n_features_in": self.n_features_in_,
            "season_length": self.season_length_, "lags": self.lags_, "log": self.log_,
            "difference_lags": list(self.difference_lags_), "transforms": [t.state() for t in self.transforms_],
            "residuals": self.residuals_, "n_past": self.n_past_covariates_, "n_future": self.n_future_covariates_,
            "is_list": self.is_list_, "is_1d": self.is_1d_, "tails": self.tails_, "past_tails": self.past_tails_,
            "future_tails": self.future_tails_, "validation_forecasts": self.validation_forecasts_,
            "validation_indices": self.validation_indices_,
            "cov_scalers": {k: list(v) for k, v in self.cov_scalers_.items()},
        }

    def _set_fitted_state(self, s: dict) -> None:
        from rnnkit.train.history import History

        self.histories_ = [History.from_dict(h) for h in s["histories"]]
        self.best_epochs_ = [int(e) for e in s["best_epochs"]]
        self.history_, self.best_epoch_ = self.histories_[0], self.best_epochs_[0]
        self.fallbacks_ = [bool(f) for f in s["fallbacks"]]
        self.n_features_in_ = s["n_features_in"]
        self.season_length_, self.lags_, self.log_ = s["season_length"], s["lags"], s["log"]
        self.difference_lags_ = tuple(s["difference_lags"])
        self.transforms_ = [SeriesTransform.from_state(t) for t in s["transforms"]]
        self.residuals_ = np.asarray(s["residuals"], np.float64)
        self.n_past_covariates_, self.n_future_covariates_ = s["n_past"], s["n_future"]
        self.is_list_, self.is_1d_ = s["is_list"], s["is_1d"]
        self.tails_ = [np.asarray(t, np.float64) for t in s["tails"]]
        self.past_tails_ = None if s["past_tails"] is None else [np.asarray(t) for t in s["past_tails"]]
        self.future_tails_ = None if s["future_tails"] is None else [np.asarray(t) for t in s["future_tails"]]
        self.cov_scalers_ = {k: (np.asarray(v[0]), np.asarray(v[1])) for k, v in s["cov_scalers"].items()}
        self.validation_forecasts_ = dict(s["validation_forecasts"])
        vi = s.get("validation_indices")
        self.validation_indices_ = None if vi is None else np.asarray(vi, np.int64)


def member_checkpoint(checkpoint, k: int) -> str:
    """The checkpoint path of ensemble member ``k``: ``checkpoint`` itself for member 0, else
    ``checkpoint`` with ``.member<k>`` before its suffix (``run/checkpoint.member1.npz``)."""
    root, ext = os.path.splitext(os.fspath(checkpoint))
    return os.fspath(checkpoint) if k == 0 else f"{root}.member{k}{ext}"


def _output_layer(net):
    """The last :class:`~rnnkit.nn.Linear` of ``net`` (its output layer), or None."""
    from rnnkit.nn.linear import Linear

    layers = [m for m in net.modules() if isinstance(m, Linear)]
    return layers[-1] if layers else None


def _column_scaler(covs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per column over every series' rows (std 1 for a constant column)."""
    allc = np.concatenate(covs)
    std = allc.std(axis=0)
    return allc.mean(axis=0), np.where(std > 0, std, 1.0)
