"""Fitted estimators as ONNX: what ``fit`` learned beyond the weights folded into the graph.

An estimator tells the exporter what it does around its network through :class:`ExportSpec`
(its ``_export_spec()`` method, or an adapter here for the estimators that predate it)::

    raw X (B, T, C) -> z = (X - mean) / scale, 0 at padded steps        (the fitted scaler; affine)
      | token ids (B, T) -> the Embedding; or raw tokens (B, T) -> ids    (LabelEncoder; unknown -> 0)
    -> network(z, lengths)                                                (SequenceModel, ...)
    -> y = out * y_scale + y_mean                                         (target scaling; affine)
    -> softmax over the last axis -> proba;  classes[argmax] -> label     (classifiers, taggers)

Graph inputs: ``X`` (``(B, T, C)`` float32, ``(B, T)`` int64 ids or strings) and ``lengths``
``(B,)`` int64; outputs ``prediction`` (regressors) or ``proba`` and ``label`` (classifiers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rnnkit.export._modules import UnsupportedModuleError, write
from rnnkit.export._recurrent import Lengths
from rnnkit.export._signatures import _lengths_choice
from rnnkit.models import CharRNN, SequenceModel
from rnnkit.nn.module import Module

__all__ = ["ExportSpec", "EstimatorSignature"]

F32, I64 = np.float32, np.int64


@dataclass
class ExportSpec:
    """What a fitted estimator computes around its network, for :func:`rnnkit.export.to_onnx`.

    Attributes:
        network: the fitted network (``est.model_``); a SequenceModel is called as
            ``network(z, lengths=lengths)[0]``, any other exportable module as ``network(z)``.
        input_kind: ``'numeric'`` (float ``(B, T, C)``), ``'ids'`` (int64 ``(B, T)``) or
            ``'tokens'`` (the raw tokens, mapped to ids by ``vocabulary``).
        n_features: ``C`` for numeric inputs.
        input_mean, input_scale: ``(C,)``; the network sees ``(X - mean) / scale``, 0 at padded steps.
        vocabulary: the tokens of ids ``1..V`` (id 0: unknown and padding), for ``'tokens'``.
        output_mean, output_scale: ``(K,)``; the prediction is ``out * scale + mean``.
        squeeze: drop the last axis of the prediction (a regressor fitted on ``(N,)`` targets).
        classes: the labels of the output columns: the graph gives ``proba`` (softmax) and ``label``.
        reference: ``reference(X, lengths) -> {output name: array}``, what the estimator predicts
            on the same raw inputs (for :func:`rnnkit.export.check`).
        feeds: ``feeds(rng, B, T, full) -> {input name: array}``, the default inputs of
            :func:`rnnkit.export.check` (None: random values of ``T`` steps, as below).
    """

    network: Module
    input_kind: str = "numeric"
    n_features: int | None = None
    input_mean: np.ndarray | None = None
    input_scale: np.ndarray | None = None
    vocabulary: list | None = None
    output_mean: np.ndarray | None = None
    output_scale: np.ndarray | None = None
    squeeze: bool = False
    classes: np.ndarray | None = None
    reference: Callable | None = field(default=None, repr=False)
    feeds: Callable | None = field(default=None, repr=False)


# -- adapters for the sequence estimators (RNNClassifier, RNNRegressor, RNNTagger) -------------
def _softmax(z):
    z = np.asarray(z, np.float64)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


# estimators whose string handling (vocabularies, sampling, beam search) has no ONNX form here
_NETWORK_ONLY = {"CharLM": "its character vocabulary and sampling loop",
                 "RNNSeq2Seq": "its token vocabularies and beam search"}


def _sequence_estimator_spec(est) -> ExportSpec:
    """The ExportSpec of an estimator built on ``RNNSequenceEstimator`` (read from its fitted attributes)."""
    kind = type(est).__name__
    tokens = est.input_kind_ == "tokens"
    spec = ExportSpec(est.model_, input_kind="tokens" if tokens else "numeric", n_features=est.n_features_in_)
    if tokens:
        spec.vocabulary = list(est.vocab_.tokens)
    else:
        spec.input_mean, spec.input_scale = est.scaler_.mean, est.scaler_.scale

    def network_out(X, lengths):
        data, lens = est._inputs(X, lengths)
        return est._forward(data, lens)

    if kind == "RNNRegressor":
        spec.output_mean, spec.output_scale, spec.squeeze = est.y_mean_, est.y_scale_, est.y_ndim_ == 1
        spec.reference = lambda X, lengths: {"prediction": est.predict(X, lengths)}
    elif kind == "RNNClassifier":
        spec.classes = est.classes_
        spec.reference = lambda X, lengths: {"proba": est.predict_proba(X, lengths),
                                             "label": est.predict(X, lengths)}
    elif kind == "RNNTagger":                       # per step; padded steps as the network gives them
        spec.classes = est.classes_

        def tagger_reference(X, lengths):
            p = _softmax(network_out(X, lengths))
            return {"proba": p, "label": est.classes_[p.argmax(axis=-1)]}

        spec.reference = tagger_reference
    else:
        raise UnsupportedModuleError(f"cannot export a {kind}: it has no _export_spec()")
    return spec


def export_spec(est) -> ExportSpec:
    from rnnkit.estimators._base import check_is_fitted

    check_is_fitted(est, "to_onnx")
    if hasattr(est, "_export_spec"):
        spec = est._export_spec()
    elif type(est).__name__ in ("RNNClassifier", "RNNRegressor", "RNNTagger"):
        spec = _sequence_estimator_spec(est)
    elif type(est).__name__ in _NETWORK_ONLY:
        raise UnsupportedModuleError(
            f"cannot export a whole {type(est).__name__}: {_NETWORK_ONLY[type(est).__name__]} stay in Python; "
            f"export its network instead: rnnkit.export.to_onnx(est.model_, path) (token ids in, "
            f"{'logits per step' if type(est).__name__ == 'CharLM' else 'decoded token ids'} out)")
    else:
        raise UnsupportedModuleError(f"cannot export a {type(est).__name__}: it does not describe itself for "
                                     "export (an _export_spec() method returning rnnkit.export.ExportSpec)")
    if not isinstance(spec, ExportSpec):
        raise TypeError(f"{type(est).__name__}._export_spec() must return an ExportSpec, got {type(spec).__name__}")
    return spec


def _label_values(classes):
    """The labels as an ONNX-storable array (str, int64, float32, bool), or None."""
    c = np.asarray(classes)
    if c.dtype.kind in "US":
        return np.array([str(v) for v in c], dtype=object)
    if c.dtype.kind in "iu":
        return c.astype(I64)
    if c.dtype.kind == "b":
        return c
    if c.dtype.kind == "f":
        return c.astype(F32)
    if c.dtype == object and all(isinstance(v, str) for v in c):
        return np.array(list(c), dtype=object)
    return None


class EstimatorSignature:
    """Inputs ``X``, ``lengths``; outputs ``prediction`` or ``proba`` and ``label`` (see the module docstring)."""

    def __init__(self, est, lengths=None, initial_state=False, part=None):
        if part is not None:
            raise ValueError(f"part applies to a Seq2Seq model only, got part={part!r} for {type(est).__name__}")
        if initial_state:
            raise ValueError("initial_state applies to models, not to estimators")
        self.est, self.spec = est, export_spec(est)
        net = self.spec.network
        self.sequence_model = type(net) in (SequenceModel, CharRNN)
        self.lengths = _lengths_choice(lengths, self.sequence_model, est)
        self.part = None

    def _input(self, g):
        s = self.spec
        if s.input_kind == "numeric":
            x = g.input("X", F32, ["B", "T", s.n_features])
            return x, None
        if s.input_kind == "ids":
            return g.input("X", I64, ["B", "T"]), None
        if s.input_kind != "tokens":
            raise ValueError(f"ExportSpec.input_kind must be 'numeric', 'ids' or 'tokens', got {s.input_kind!r}")
        vocab = list(s.vocabulary)
        if all(isinstance(t, str) for t in vocab):
            x = g.input("X", np.str_, ["B", "T"])
            keys = {"keys_strings": vocab}
        elif all(isinstance(t, (int, np.integer)) and not isinstance(t, bool) for t in vocab):
            x = g.input("X", I64, ["B", "T"])
            keys = {"keys_int64s": [int(t) for t in vocab]}
        else:
            raise UnsupportedModuleError("cannot export a vocabulary mixing token types (strings and integers only)")
        ids = g.op("LabelEncoder", x, domain="ai.onnx.ml", values_int64s=list(range(1, len(vocab) + 1)),
                   default_int64=0, **keys)
        g.use_domain("ai.onnx.ml", 2)
        return x, ids

    def build(self, g):
        s, net = self.spec, self.spec.network
        x, ids = self._input(g)
        lengths = Lengths(g, g.input("lengths", I64, ["B"])) if self.lengths else None
        z = ids if ids is not None else x
        if s.input_kind == "numeric" and s.input_mean is not None:
            mean, scale = g.const(np.asarray(s.input_mean, F32)), g.const(np.asarray(s.input_scale, F32))
            z = g.op("Div", g.op("Sub", x, mean), scale)                                    # (B, T, C)
            if lengths is not None:                           # padded steps are 0, as the scaler makes them
                real = g.transpose(lengths.mask(g.transpose(x, [1, 0, 2])), [1, 0, 2])        # (B, T, 1)
                z = g.op("Where", real, z, g.const(F32(0.0)))
        if self.sequence_model:
            from rnnkit.export._models import sequence_model

            out = sequence_model(g, net, z, lengths, None)[0]
        else:
            out = write(g, net, z, None, "model")
        if s.classes is not None:
            proba = g.op("Softmax", out, axis=-1)
            g.output(proba, "proba", F32, None)
            idx = g.op("ArgMax", out, axis=-1, keepdims=0)
            labels = _label_values(s.classes)
            if labels is None:
                g.output(idx, "label_index", I64, None)
            else:
                g.output(g.op("Gather", g.const(labels, "classes"), idx, axis=0), "label", labels.dtype, None)
            return
        if s.output_scale is not None:
            out = g.op("Add", g.op("Mul", out, g.const(np.asarray(s.output_scale, F32))),
                       g.const(np.asarray(s.output_mean, F32)))
        if s.squeeze:
            out = g.squeeze(out, [-1])
        g.output(out, "prediction", F32, None)

    def feeds(self, rng, B, T, full):
        s = self.spec
        if s.feeds is not None:
            return s.feeds(rng, B, T, full)
        if s.input_kind == "numeric":
            mean = np.zeros(s.n_features) if s.input_mean is None else np.asarray(s.input_mean)
            scale = np.ones(s.n_features) if s.input_scale is None else np.asarray(s.input_scale)
            X = (mean + scale * rng.standard_normal((B, T, s.n_features))).astype(F32)
        elif s.input_kind == "ids":
            X = rng.integers(0, s.network.num_embeddings, size=(B, T)).astype(I64)
        else:
            vocab = list(s.vocabulary)
            picks = rng.integers(0, len(vocab) + 1, size=(B, T))             # len(vocab): an unseen token
            unseen = "<never seen>" if isinstance(vocab[0], str) else max(vocab) + 1
            X = np.array([[vocab[i] if i < len(vocab) else unseen for i in row] for row in picks],
                         dtype=object if isinstance(vocab[0], str) else I64)
        f = {"X": X}
        if self.lengths:
            lens = np.full(B, T, I64) if full or B == 1 else rng.integers(1, T + 1, size=B).astype(I64)
            lens[0] = T
            f["lengths"] = lens
        return f

    def reference(self, f):
        if self.spec.reference is None:
            raise ValueError(f"{type(self.est).__name__}'s ExportSpec has no reference: check() cannot compare it")
        X, lens = f["X"], f.get("lengths")
        if lens is not None:                                   # the estimators read lists of real steps
            X = [X[b, :L] for b, L in enumerate(lens)]
            if self.spec.input_kind == "tokens":
                X = [list(x) for x in X]
        return self.spec.reference(X, None)

