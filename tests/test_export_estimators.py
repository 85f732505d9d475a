"""Estimators as ONNX through the ExportSpec protocol: the fitted scaler, the target scaling,
softmax and labels folded into the graph, compared with what the estimator itself predicts."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the 'onnx' package is not installed (pip install 'rnnkit[export]')")
ort = pytest.importorskip("onnxruntime", reason="the 'onnxruntime' package is not installed")

from rnnkit._grad_mode import inference_mode  # noqa: E402
from rnnkit.errors import NotFittedError  # noqa: E402
from rnnkit.estimators import BaseEstimator  # noqa: E402
from rnnkit.export import ExportSpec, check, to_onnx  # noqa: E402
from rnnkit.models import SequenceModel  # noqa: E402


class TinyClassifier(BaseEstimator):
    """A stand-in estimator: a scaler, a SequenceModel, classes; fitted by hand in the test."""

    def __init__(self, hidden_size=6):
        self.hidden_size = hidden_size

    def fit_by_hand(self, rng, C, classes):
        self.mean_, self.scale_ = rng.normal(size=C) * 3, rng.uniform(0.5, 2.0, size=C)
        self.classes_ = np.asarray(classes)
        self.model_ = SequenceModel(C, self.hidden_size, len(classes), cell="gru", output="last",
                                    bidirectional=True, rng=rng)
        return self

    def _logits(self, X, lengths):
        z = ((X - self.mean_) / self.scale_).astype(np.float32)
        with inference_mode(self.model_):
            return self.model_(z, lengths=lengths)[0].astype(np.float64)

    def predict_proba(self, X, lengths=None):
        z = self._logits(X, lengths)
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X, lengths=None):
        return self.classes_[self._logits(X, lengths).argmax(axis=1)]

    def _export_spec(self):
        def reference(X, lengths):
            Xp = np.zeros((len(X), max(len(x) for x in X), X[0].shape[1]))
            for i, x in enumerate(X):
                Xp[i, :len(x)] = x
            lens = np.array([len(x) for x in X])
            return {"proba": self.predict_proba(Xp, lens), "label": self.predict(Xp, lens)}

        return ExportSpec(self.model_, "numeric", len(self.mean_), self.mean_, self.scale_, classes=self.classes_,
                          reference=reference)


class TinyRegressor(TinyClassifier):
    def fit_by_hand(self, rng, C, K):
        super().fit_by_hand(rng, C, list(range(K)))
        self.y_mean_, self.y_scale_ = rng.normal(size=K) * 50, rng.uniform(1, 10, size=K)
        return self

    def predict(self, X, lengths=None):
        return self._logits(X, lengths) * self.y_scale_ + self.y_mean_

    def _export_spec(self):
        spec = super()._export_spec()
        spec.classes = None
        spec.output_mean, spec.output_scale = self.y_mean_, self.y_scale_

        def reference(X, lengths):
            lens = np.array([len(x) for x in X])
            Xp = np.zeros((len(X), lens.max(), X[0].shape[1]))
            for i, x in enumerate(X):
                Xp[i, :len(x)] = x
            return {"prediction": self.predict(Xp, lens)}

        spec.reference = reference
        return spec


@pytest.mark.parametrize("classes", [["cat", "dog", "eel"], [3, 7, 11]])
def test_classifier_with_scaler_softmax_and_labels(tmp_path, rng, classes):
    est = TinyClassifier().fit_by_hand(rng, 4, classes)
    path = tmp_path / "clf.onnx"
    to_onnx(est, path)
    assert check(path, est) <= 1e-5
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X = rng.normal(size=(5, 9, 4)) * est.scale_ + est.mean_
    lens = np.array([9, 3, 5, 9, 1])
    X[1, 3:] = np.nan                               # padding that is not zero never reaches the network
    proba, label = sess.run(["proba", "label"], {"X": X.astype(np.float32), "lengths": lens})
    X[1, 3:] = 0
    np.testing.assert_allclose(proba, est.predict_proba(X, lens), atol=1e-5)
    np.testing.assert_array_equal(label.astype(str), est.predict(X, lens).astype(str))
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)


def test_regressor_output_scaling(tmp_path, rng):
    est = TinyRegressor().fit_by_hand(rng, 3, 2)
    to_onnx(est, tmp_path / "reg.onnx")
    assert check(tmp_path / "reg.onnx", est) <= 1e-3        # outputs of size ~100: 1e-5 relative
    sess = ort.InferenceSession(str(tmp_path / "reg.onnx"), providers=["CPUExecutionProvider"])
    X = rng.normal(size=(1, 6, 3))
    (pred,) = sess.run(["prediction"], {"X": X.astype(np.float32), "lengths": np.array([6])})
    want = est.predict(X, np.array([6]))
    assert np.max(np.abs(pred - want) / (1 + np.abs(want))) <= 1e-5


def test_estimator_errors(tmp_path):
    with pytest.raises(NotFittedError):
        to_onnx(TinyClassifier(), tmp_path / "m.onnx")

    class NoSpec(BaseEstimator):
        def __init__(self):
            self.model_ = SequenceModel(2, 3, 2)

    with pytest.raises(TypeError, match="_export_spec"):
        to_onnx(NoSpec(), tmp_path / "m.onnx")


def test_text_estimators_say_what_to_export_and_their_networks_export(tmp_path):
    """CharLM and RNNSeq2Seq keep vocabularies, sampling and beam search in Python: exporting
    the estimator is refused with the way out, and the way out (its network) runs in onnxruntime."""
    from rnnkit.datasets import date_pairs
    from rnnkit.estimators import CharLM, RNNSeq2Seq
    from rnnkit.export import UnsupportedModuleError, check, to_onnx

    lm = CharLM(hidden_size=8, max_epochs=1, bptt=10, batch_size=4, validation_fraction=0, random_state=0)
    lm.fit("abcabc abc " * 40)
    pairs = date_pairs(60, seed=0)
    s2s = RNNSeq2Seq(hidden_size=8, embedding_dim=8, max_epochs=1, validation_fraction=0, random_state=0)
    s2s.fit(pairs.sources, pairs.targets)
    for est in (lm, s2s):
        with pytest.raises(UnsupportedModuleError, match=r"export its network instead: .*to_onnx\(est.model_"):
            to_onnx(est, tmp_path / "whole.onnx")
        path = tmp_path / f"{type(est).__name__}.onnx"
        to_onnx(est.model_, path)
        assert check(path, est.model_) < 1e-5
