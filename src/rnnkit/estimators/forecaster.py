"""``RNNForecaster``: a recurrent network that forecasts your series, with its transforms inside."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_rng, check_bool, check_choice, check_float_range, check_int
from rnnkit.estimators._base import BaseEstimator, check_is_fitted
from rnnkit.estimators._forecast_input import IMPUTE, as_covariate_list, as_series_list
from rnnkit.estimators._forecast_windows import Covariates, forecast_paths, make_examples
from rnnkit.estimators._persist import register_estimator
from rnnkit.estimators._seasonality import detect_season_length
from rnnkit.estimators._training import FitSettings, train_network
from rnnkit.estimators._transforms import DIFFERENCING, SeriesTransform, plan_transform

__all__ = ["RNNForecaster"]

STRATEGIES = ("recursive", "direct")


@register_estimator
class RNNForecaster(BaseEstimator):
    r"""Forecast one series, a multivariate series or many series with an RNN/LSTM/GRU.

    The series goes through invertible transforms fitted on the training data (log, one
    difference, standard scaling: :mod:`rnnkit.estimators._transforms`), is cut into windows of
    ``lags`` past steps, and a :class:`~rnnkit.models.ForecastNet` learns the next ``K`` values::

        w = scale(difference(log(y)))                      model space, (T - d, C)
        h_t = cell(x_t, h_{t-1}),  t over the lags window   x_t = [w_t | covariates_t]   (B, L, I)
        w_hat(t0 .. t0+K-1) = W [h_L | future covariates over the K steps] + b            (B, K*C)

    ``K = horizon`` with ``strategy='direct'`` (one forward gives the whole horizon), ``K = 1``
    with ``strategy='recursive'`` (each forecast is fed back as the newest lag). A forecast of
    ``h`` steps runs blocks of ``K``: beyond ``horizon`` a direct model continues from its own
    forecasts. Outputs are mapped back through the inverse transforms.

    Prediction intervals are residual-based (simulated paths): each path adds to every network
    output a residual vector drawn at random from the errors of the held-out validation windows
    (training windows when ``validation_fraction=0``: then too narrow) and runs the same
    forecast; the interval is the paths' ``(1 - coverage)/2`` and ``(1 + coverage)/2`` quantiles.

    Args:
        cell: ``'lstm'`` (default), ``'gru'`` or ``'rnn'``.
        hidden_size: ``H`` (32). num_layers: 1. dropout: 0.0 (between layers and before the head).
        lags: ``L``, past steps the network reads (None: ``max(season_length, 12)``... see
            :meth:`default_lags`).
        horizon: steps to forecast, ``>= 1`` (1): the default ``h`` of :meth:`predict`, ``K`` of
            a direct model, and the forecast length of the validation windows.
        strategy: ``'recursive'`` (default) or ``'direct'``.
        season_length: ``m`` of the seasonal rules and baselines (None: detected from the
            training data by :func:`~rnnkit.estimators._seasonality.detect_season_length`; 1: none).
        log: ``'auto'`` (default: for positive, multiplicative series), True, False.
        differencing: ``'auto'`` (default: seasonal if strongly seasonal, else first if not
            level-stationary by KPSS, else none), ``'none'``, ``'first'``, ``'seasonal'``, ``'both'``.
        scale: standardize the differenced series (True).
        linear_skip: add a linear autoregression of the lags to the output (False).
        impute: None (NaN is an error naming its positions), ``'linear'`` or ``'ffill'``.
        max_epochs (300), batch_size (16), lr (3e-3), weight_decay (0.0), clip_grad_norm (1.0),
        patience (30), validation_fraction (0.15: the last windows of each series in time),
        max_time (None), random_state (None), verbose (0): as every rnnkit estimator.

    Fitted attributes: ``model_``, ``history_``, ``best_epoch_``, ``n_features_in_`` (C),
    ``season_length_``, ``lags_``, ``log_``, ``difference_lags_``, ``transforms_`` (one per
    training series), ``residuals_`` ``(N, K, C)``, ``n_past_covariates_``, ``n_future_covariates_``.

    Example::

        >>> import numpy as np
        >>> t = np.arange(120)
        >>> y = 10 + np.sin(2 * np.pi * t / 12)
        >>> est = RNNForecaster(horizon=6, season_length=12, max_epochs=5, random_state=0).fit(y)
        >>> est.predict().shape
        (6,)
    """

    def __init__(self, cell="lstm", hidden_size=32, num_layers=1, dropout=0.0, lags=None, horizon=1,
                 strategy="recursive", season_length=None, log="auto", differencing="auto", scale=True,
                 linear_skip=False, ensemble_size=1, impute=None, max_epochs=300, batch_size=16, lr=3e-3, weight_decay=0.0,
                 clip_grad_norm=1.0, patience=30, validation_fraction=0.15, max_time=None, random_state=None,
                 verbose=0):
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.lags = lags
        self.horizon = horizon
        self.strategy = strategy
        self.season_length = season_length
        self.log = log
        self.differencing = differencing
        self.scale = scale
        self.linear_skip = linear_skip
        self.ensemble_size = ensemble_size
        self.impute = impute
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.clip_grad_norm = clip_grad_norm
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.max_time = max_time
        self.random_state = random_state
        self.verbose = verbose

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
        check_bool("linear_skip", self.linear_skip)
        check_int("ensemble_size", self.ensemble_size, 1)
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
    def fit(self, y, past_covariates=None, future_covariates=None) -> RNNForecaster:
        """Learn to forecast ``y``: ``(T,)``, ``(T, C)`` or a list of such series (one model for all).

        ``past_covariates``: ``(T, Cp)`` (a list with a list ``y``) known up to each forecast
        origin only; ``future_covariates``: ``(T, Cf)`` known over the horizon too (calendar
        features, planned prices). Returns ``self``.
        """
        self._check_params()
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
        use_log, lags = plan_transform(series, m, self.log, self.differencing)
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
        X_tr, Y_tr, X_va, Y_va = [], [], [], []
        for i, (s, tf) in enumerate(zip(series, transforms)):
            cov = Covariates(self._scaled("past", past, i), self._scaled("future", fut, i))
            X, Y = make_examples(tf.to_model(s), d, cov, L, K)
            n_val = int(round(self.validation_fraction * X.shape[0])) if X.shape[0] > 1 else 0
            if self.validation_fraction > 0 and X.shape[0] > 1:
                n_val = max(n_val, 1)
            X_tr.append(X[:X.shape[0] - n_val])
            Y_tr.append(Y[:Y.shape[0] - n_val])
            X_va.append(X[X.shape[0] - n_val:])
            Y_va.append(Y[Y.shape[0] - n_val:])
        X_tr, Y_tr = np.concatenate(X_tr), np.concatenate(Y_tr)
        X_va, Y_va = np.concatenate(X_va), np.concatenate(Y_va)
        if self.validation_fraction > 0 and X_va.shape[0] == 0:
            raise ValueError("too few windows for a validation set: give a longer series or validation_fraction=0")
        C = series[0].shape[1]
        n_past = 0 if past is None else past[0].shape[1]
        n_fut = 0 if fut is None else fut[0].shape[1]
        rng = as_rng(self.random_state)
        from rnnkit.models.forecast_net import ForecastEnsemble

        self.model_ = None
        net = ForecastEnsemble(self.ensemble_size, C + n_past + n_fut, self.hidden_size, window=L, n_steps=K,
                               n_targets=C, n_future=n_fut, cell=self.cell, num_layers=self.num_layers,
                               dropout=self.dropout, linear_skip=self.linear_skip, rng=rng)
        val = (X_va, Y_va) if X_va.shape[0] else None
        settings = FitSettings.from_estimator(self)
        self.histories_, self.best_epochs_ = [], []
        for member in net.members:
            hist, keep = train_network(member, (X_tr, Y_tr), val_data=val, settings=settings, loss="mse", rng=rng)
            self.histories_.append(hist)
            self.best_epochs_.append(keep.best_epoch)
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
        return self

    def _scaled(self, kind: str, covs, i: int):
        if covs is None:
            return None
        mean, std = self.cov_scalers_[kind]
        return (covs[i] - mean) / std

    # -- forecasts --------------------------------------------------------------------------
    def _inputs(self, h, y, past_covariates, future_covariates, what: str):
        """``(h, histories, transforms, covariates, as_list)`` for one forecast call."""
        check_is_fitted(self, what)
        h = self.horizon if h is None else check_int("h", h, 1)
        L, d, K = self.lags_, sum(self.difference_lags_), self._K
        if y is None:
            hist = self.tails_
            tfs = self.transforms_
            as_list = self.is_list_
            past = self.past_tails_
            fut_hist = self.future_tails_
        else:
            hist, as_list, _ = as_series_list(y, "y", self.impute)
            if hist[0].shape[1] != self.n_features_in_:
                raise ValueError(f"y must have {self.n_features_in_} channel(s) as at fit, got {hist[0].shape[1]}")
            for i, s in enumerate(hist):
                if s.shape[0] < L + d:
                    where = f"y[{i}]" if as_list else "y"
                    raise ValueError(f"{where} has {s.shape[0]} steps; a forecast needs lags + differencing = "
                                     f"{L + d}")
                if self.log_ and np.min(s) <= 0:
                    raise ValueError(f"{'y[%d]' % i if as_list else 'y'} must be positive (the model forecasts "
                                     f"log values), got minimum {np.min(s):g}")
            if self.is_list_:
                tfs = [SeriesTransform.fit(s, self.log_, self.difference_lags_, self.scale) for s in hist]
            else:
                tfs = [self.transforms_[0]] * len(hist)
            past = as_covariate_list(past_covariates, hist, as_list, "past_covariates", 0, self.impute,
                                     self.n_past_covariates_ or None)
            fut_hist = None
        n_blocks = -(-h // K)
        if self.n_past_covariates_:
            if y is not None and past is None:
                raise ValueError(f"past_covariates ({self.n_past_covariates_} columns, one row per step of y) are "
                                 "needed: the model was fitted with them")
            if n_blocks > 1:
                raise ValueError(f"h={h} is beyond horizon={self.horizon}: past covariates are unknown after the "
                                 "forecast origin")
        elif past_covariates is not None:
            raise ValueError("past_covariates given, but the model was fitted without them")
        futs = None
        if self.n_future_covariates_:
            if future_covariates is None:
                rows = "h rows" if y is None else "len(y) + h rows"
                raise ValueError(f"future_covariates ({self.n_future_covariates_} columns, {rows}) are needed: the "
                                 "model was fitted with them")
            if y is None:
                new = as_covariate_list(future_covariates, [np.zeros((h, 1))] * len(hist), as_list,
                                        "future_covariates", 0, self.impute, self.n_future_covariates_)
                futs = [np.concatenate([a, b]) for a, b in zip(fut_hist, new)]
            else:
                futs = as_covariate_list(future_covariates, hist, as_list, "future_covariates", h, self.impute,
                                         self.n_future_covariates_)
            pad = n_blocks * K - h                      # a last block beyond h: its rows repeat the last one
            futs = [np.concatenate([f, np.repeat(f[-1:], pad, axis=0)]) for f in futs]
        elif future_covariates is not None:
            raise ValueError("future_covariates given, but the model was fitted without them")
        covs = [Covariates(None if past is None else self._scale_cov("past", past[i]),
                           None if futs is None else self._scale_cov("future", futs[i])) for i in range(len(hist))]
        return h, hist, tfs, covs, as_list

    def _scale_cov(self, kind, a):
        mean, std = self.cov_scalers_[kind]
        return (a - mean) / std

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
        h, hist, tfs, covs, as_list = self._inputs(h, y, past_covariates, future_covariates, "predict")
        out = []
        for s, tf, cov in zip(hist, tfs, covs):
            z = tf.to_level(s)[None]                                           # (1, T0, C)
            out.append(tf.from_level(forecast_paths(self.model_, tf, z, cov, h, self.lags_, self._K))[0])
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
        h, hist, tfs, covs, as_list = self._inputs(h, y, past_covariates, future_covariates, "predict_interval")
        rng = as_rng(self.random_state if random_state is None else random_state)
        R = self.residuals_
        lo, hi = [], []
        for s, tf, cov in zip(hist, tfs, covs):
            z = np.repeat(tf.to_level(s)[None], n_paths, axis=0)                 # (P, T0, C)
            paths = tf.from_level(forecast_paths(self.model_, tf, z, cov, h, self.lags_, self._K,
                                                 noise=lambda b: R[rng.integers(0, R.shape[0], n_paths)]))
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

    # -- saving -----------------------------------------------------------------------------
    def _fitted_state(self) -> dict:
        return {
            "histories": [h.to_dict() for h in self.histories_], "best_epochs": self.best_epochs_,
            "n_features_in": self.n_features_in_,
            "season_length": self.season_length_, "lags": self.lags_, "log": self.log_,
            "difference_lags": list(self.difference_lags_), "transforms": [t.state() for t in self.transforms_],
            "residuals": self.residuals_, "n_past": self.n_past_covariates_, "n_future": self.n_future_covariates_,
            "is_list": self.is_list_, "is_1d": self.is_1d_, "tails": self.tails_, "past_tails": self.past_tails_,
            "future_tails": self.future_tails_,
            "cov_scalers": {k: list(v) for k, v in self.cov_scalers_.items()},
        }

    def _set_fitted_state(self, s: dict) -> None:
        from rnnkit.train.history import History

        self.histories_ = [History.from_dict(h) for h in s["histories"]]
        self.best_epochs_ = [int(e) for e in s["best_epochs"]]
        self.history_, self.best_epoch_ = self.histories_[0], self.best_epochs_[0]
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


def _column_scaler(covs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per column over every series' rows (std 1 for a constant column)."""
    allc = np.concatenate(covs)
    std = allc.std(axis=0)
    return allc.mean(axis=0), np.where(std > 0, std, 1.0)
