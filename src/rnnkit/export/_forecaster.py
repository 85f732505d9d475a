"""A fitted :class:`~rnnkit.estimators.RNNForecaster` as ONNX: its whole forecast in one graph.

The graph continues histories of raw values, exactly as ``est.predict(horizon, y=history)``::

    X (B, T, C) raw history, T >= lags + d              (only its last lags + d steps are read)
    z = log(X)  (when the model took logs)              Log
    repeat ceil(horizon / K) times (K = horizon for strategy='direct', 1 for 'recursive'):
        u = sum_j p_j z_{t-j}  over the last lags steps  (seasonal / first differences)  Slice, Mul, Add
        w = (u - mean) / std   [- mean_t(w) with center]                                  (the fitted scaler)
        w_hat = network(w)     (B, K * C)                ForecastNet: LSTM/GRU/RNN node, h_n, MatMul
        v = w_hat * std + mean [+ mean_t(w)]
        z_{t+k} = v_k - sum_{j>=1} p_j z_{t+k-j}, k < K  (the differencing undone, step by step)
    forecast = exp(z) (or z) of the horizon steps  (B, horizon, C)        output ``prediction``

Nothing is left outside the graph: log, differencing and their inverses are ONNX ops, and the
scaler is an affine map folded beside the network. Not exportable (``UnsupportedModuleError``):
models fitted with covariates, and models fitted on a list of series (their ``predict`` fits a
new scaler to every given history: not a fixed graph). Computed in float32 (rnnkit computes the
transforms in float64): differences are ~1e-6 relative.

``rnnkit.export.check(path, est)`` compares it with ``est.predict`` on histories made from the
training series' last values (randomly perturbed by up to 5%); ``inputs={"X": histories}``
(positive ones for a log model, at least ``lags + d`` steps) checks your own.

Example::

    est = RNNForecaster(horizon=12).fit(y)
    to_onnx(est, "forecaster.onnx")                       # input X (B, T, C), output prediction
    check("forecaster.onnx", est)                         # largest difference, e.g. 1e-5
    check("forecaster.onnx", est, inputs={"X": y[None, -48:, None].astype("float32")})
"""

from __future__ import annotations

import numpy as np

from rnnkit.export._estimators import ExportSpec
from rnnkit.export._modules import UnsupportedModuleError, write, writer
from rnnkit.export._recurrent import emit_recurrent
from rnnkit.models.forecast_net import ForecastEnsemble, ForecastNet

__all__ = ["forecaster_export_spec", "ForecastGraph"]

F32 = np.float32


class ForecastGraph:
    """What the exporter writes for a fitted forecaster (see the module docstring)."""

    def __init__(self, est):
        self.est = est
        self.network = est.model_
        self.transform = est.transforms_[0]
        self.L, self.K, self.horizon = int(est.lags_), int(est._K), int(est.horizon)
        self.C, self.center = int(est.n_features_in_), bool(est.center)


def forecaster_export_spec(est) -> ExportSpec:
    """The :class:`ExportSpec` of a fitted RNNForecaster (raises for what cannot be a fixed graph)."""
    name = type(est).__name__
    if est.n_past_covariates_ or est.n_future_covariates_:
        raise UnsupportedModuleError(f"cannot export this {name}: it was fitted with covariates (export supports "
                                     "models of the series alone)")
    if est.is_list_:
        raise UnsupportedModuleError(f"cannot export this {name}: it was fitted on a list of series, and its predict "
                                     "scales every given history by that history's own statistics (not a fixed graph)")
    graph = ForecastGraph(est)
    need = graph.L + graph.transform.order

    def reference(X, lengths):
        X = np.asarray(X, np.float64)
        if X.ndim != 3 or X.shape[1] < need:
            raise ValueError(f"the exported {name} reads histories X (B, T, {graph.C}) of T >= lags + d = {need} steps "
                             f"(pass them to check(path, est, inputs={{'X': ...}})), got shape {X.shape}")
        one = (lambda x: x[:, 0]) if est.is_1d_ else (lambda x: x)
        return {"prediction": np.stack([np.reshape(est.predict(graph.horizon, y=one(x)), (graph.horizon, graph.C))
                                        for x in X])}

    def feeds(rng, B, T, full):
        """Histories of ``lags + d + T`` steps: the training series' last values, each step
        multiplied by a random factor in [0.95, 1.05] (positive stays positive, for log models)."""
        tail = np.asarray(est.tails_[0], np.float64)[-need:]                       # (lags + d, C)
        base = np.concatenate([np.repeat(tail[:1], T, axis=0), tail])               # (lags + d + T, C)
        return {"X": (base * rng.uniform(0.95, 1.05, size=(B, *base.shape))).astype(F32)}

    return ExportSpec(graph, input_kind="numeric", n_features=graph.C, reference=reference, feeds=feeds)


def _forecast_net(g, net: ForecastNet, x: str) -> str:
    """``net(x)`` for ``x (B, W, I)`` without future covariates -> ``(B, K * C)``."""
    _, h_n, _ = emit_recurrent(g, net.rnn, x)                                    # h_n (layers, B, H)
    h = g.gather(h_n, -1, axis=0)                                                # (B, H): the last layer's
    return g.affine(h, net.head.weight.data, net.head.bias.data, hint="head")   # dropout: identity (eval)


@writer(ForecastNet, ForecastEnsemble)
def _network(g, m, x, lengths, where):
    members = m.members if isinstance(m, ForecastEnsemble) else [m]
    if members[0].n_future:
        raise UnsupportedModuleError(f"cannot export {where}: a ForecastNet with future covariates")
    outs = [_forecast_net(g, net, x) for net in members]
    out = outs[0]
    for o in outs[1:]:
        out = g.op("Add", out, o)
    return out if len(outs) == 1 else g.op("Div", out, g.const(F32(len(outs))))


@writer(ForecastGraph)
def _forecast(g, m: ForecastGraph, x, lengths, where):
    tf, L, K, C = m.transform, m.L, m.K, m.C
    p, d = tf.poly, tf.order
    z = g.op("Log", x) if tf.log else x                                         # (B, T, C)
    z = g.op("Slice", z, g.ints([-(L + d)]), g.ints([np.iinfo(np.int64).max]), g.ints([1]))   # (B, L + d, C)
    levels = [g.slice(z, i, i + 1, axis=1) for i in range(L + d)]               # each (B, 1, C)
    mean, std = g.const(tf.mean.astype(F32), "mean"), g.const(tf.std.astype(F32), "std")
    for _ in range(-(-m.horizon // K)):
        win = g.op("Concat", *levels[-(L + d):], axis=1)                        # (B, L + d, C)
        u = g.slice(win, d, L + d, axis=1)                                      # p_0 = 1
        for j in range(1, d + 1):
            if p[j]:
                u = g.op("Add", u, g.op("Mul", g.slice(win, d - j, L + d - j, axis=1), g.const(F32(p[j]))))
        w = g.op("Div", g.op("Sub", u, mean), std)                              # (B, L, C)
        mu = g.reduce("ReduceMean", w, [1], keepdims=1) if m.center else None   # (B, 1, C)
        if mu is not None:
            w = g.op("Sub", w, mu)
        out = g.reshape(write(g, m.network, w, None, f"{where}.network"), [0, K, C])       # (B, K, C)
        if mu is not None:
            out = g.op("Add", out, mu)
        v = g.op("Add", g.op("Mul", out, std), mean)
        for k in range(K):
            new = g.slice(v, k, k + 1, axis=1)                                  # (B, 1, C)
            for j in range(1, d + 1):
                if p[j]:
                    new = g.op("Sub", new, g.op("Mul", levels[-j], g.const(F32(p[j]))))
            levels.append(new)
    f = g.op("Concat", *levels[L + d:L + d + m.horizon], axis=1)                # (B, horizon, C)
    return g.op("Exp", f) if tf.log else f

