"""RNNClassifier: one label per sequence (many-to-one), scikit-learn conventions."""

from __future__ import annotations

import numpy as np

from rnnkit.estimators._labels import (
    as_label_array,
    classes_from_state,
    classes_state,
    encode_labels,
    fit_classes,
)
from rnnkit.estimators._persist import register_estimator
from rnnkit.estimators._rnn_base import RNNSequenceEstimator
from rnnkit.estimators._split import stratified_split

__all__ = ["RNNClassifier"]


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64) - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@register_estimator
class RNNClassifier(RNNSequenceEstimator):
    r"""Classify whole sequences (variable lengths, any hashable labels) with a recurrent network.

    The network (:class:`~rnnkit.models.SequenceModel`), for ``C`` channels, ``K`` classes::

        x (N, T, C) standardised per channel  (or token ids -> Embedding(V + 1, embedding_dim))
          -> [Linear -> activation] per step             input_layers (default none)
          -> bidirectional GRU, hidden_size per direction: out (N, T, F), F = 2 H
          -> pooling over the real steps: 'last' state, 'mean', 'max' or a '+' combination
          -> [Dropout -> Linear -> activation]           head_layers (default none)
          -> Dropout -> Linear -> logits (N, K),  p = softmax(logits)

    trained with cross-entropy and Adam on all examples but a stratified validation part,
    which picks the best epoch (its weights are kept) and stops training early.

    ``X`` is a list of ``(T_i, C)`` arrays, a padded ``(N, T, C)`` array with ``lengths=``, a
    univariate ``(N, T)`` array, or token sequences (a list of strings, each character a
    token, or of token lists): see :mod:`rnnkit.estimators._sequences` for how a padded array
    without ``lengths`` is read (trailing all-NaN steps are padding, trailing all-zero steps
    are an error) -- the padded and the unpadded forms give the same answers. Token
    vocabularies are fitted in ``fit``; a token never seen there maps to id 0, whose
    embedding is zero. The per-channel standardisation is fitted on the training part's
    real steps and saved with the estimator.

    Args:
        cell: ``'gru'`` (default), ``'lstm'`` or ``'rnn'``.
        hidden_size: units per direction (64).
        num_layers: stacked recurrent layers (1).
        bidirectional: read the sequence both ways (True).
        pooling: the many-to-one features: ``'last'``, ``'mean'``, ``'max'`` or a ``'+'``
            combination (``'last+mean'``).
        dropout: before the output layer (and between layers, after input/before head
            layers) (0.2).
        input_layers, head_layers: sizes of the optional feed-forward layers (``()``).
        activation: of those layers (``'tanh'``).
        embedding_dim: token inputs only (32).
        input_type: ``'auto'`` (strings and non-numeric tokens are tokens), ``'numeric'`` or
            ``'tokens'`` (e.g. lists of integer token ids).
        max_epochs (100), batch_size (32), lr (3e-3), weight_decay (0.0: Adam's L2),
        clip_grad_norm (1.0), patience (20): training.
        lr_schedule: ``'cosine'`` (default: to lr/100 over max_epochs), ``'plateau'`` or None.
        validation_fraction: held out for early stopping and the best epoch (0.1; 0 disables
            both and trains ``max_epochs`` epochs).
        refit: after the validated run, train a fresh network on all examples for the best
            epoch count (False).
        max_time: seconds for training, or None (stops at the best epoch so far).
        random_state: int for a repeatable fit, or None. verbose: 0 silent, 1 a bar per epoch.

    Fitted attributes: ``classes_``, ``model_``, ``history_``, ``best_epoch_``,
    ``n_features_in_``, ``scaler_`` (numeric input) or ``vocab_`` (tokens), ``input_kind_``.

    Example::

        >>> import numpy as np
        >>> from rnnkit.estimators import RNNClassifier
        >>> g = np.random.default_rng(0)
        >>> X = [g.normal(size=(int(g.integers(5, 12)), 2)) + (i % 2) for i in range(60)]
        >>> y = ["up" if i % 2 else "down" for i in range(60)]
        >>> clf = RNNClassifier(hidden_size=8, max_epochs=40, random_state=0).fit(X, y)
        >>> clf.classes_.tolist()
        ['down', 'up']
        >>> float(clf.score(X, y)) > 0.9
        True
        >>> clf.predict_proba(X[:2]).shape
        (2, 2)
    """

    _estimator_type = "classifier"
    _metrics = ("accuracy",)

    def __init__(self, cell="gru", hidden_size=64, num_layers=1, bidirectional=True, pooling="last+mean",
                 dropout=0.2, input_layers=(), head_layers=(), activation="tanh", embedding_dim=32,
                 input_type="auto", input_noise=0.0, max_epochs=100, batch_size=32, lr=3e-3, weight_decay=0.0,
                 clip_grad_norm=1.0, patience=20, lr_schedule="cosine", validation_fraction=0.1,
                 refit=False, ensemble_size=1, max_time=None, random_state=None, verbose=0):
        self._store(locals())

    def _network_output(self) -> str:
        return self.pooling

    # -- fit ------------------------------------------------------------------------------------
    def fit(self, X, y, lengths=None, *, checkpoint=None, resume: bool = False) -> RNNClassifier:
        """Fit on sequences ``X`` and labels ``y`` (one per sequence); returns ``self``."""
        settings = self._check_settings()
        raw, lens = self._read_raw(X, lengths, fitting=True)
        labels = as_label_array(y)
        if len(labels) != len(lens):
            raise ValueError(f"y must have one label per sequence: X holds {len(lens)} sequences, "
                             f"y {len(labels)} labels")
        classes = fit_classes(labels)
        if len(classes) < 2:
            raise ValueError(f"y holds a single class ({classes[0]!r}): a classifier needs at least two")
        ids = encode_labels(labels, classes)
        splits, seeds = self._splits(lambda rng: stratified_split(ids, self.validation_fraction, rng))
        self.classes_ = classes
        self._fit_inputs(raw, lens, self._used(splits))
        self._fit_networks(settings, self._encode(raw, lens), lens, ids, splits, seeds, len(classes),
                           "cross_entropy", "probability",
                           checkpoint=checkpoint, resume=resume)
        return self

    # -- predictions ------------------------------------------------------------------------
    def decision_function(self, X, lengths=None) -> np.ndarray:
        """The logits ``(N, K)``; for two classes ``(N,)``, the logit of ``classes_[1]`` minus
        that of ``classes_[0]`` (scikit-learn's convention)."""
        z = self._forward(*self._inputs(X, lengths)).astype(np.float64)      # (N, K)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict_proba(self, X, lengths=None) -> np.ndarray:
        """Class probabilities ``(N, K)`` in ``classes_`` order (float64)."""
        return _softmax(self._forward(*self._inputs(X, lengths)))

    def predict(self, X, lengths=None) -> np.ndarray:
        """The most probable label of each sequence, ``(N,)`` (from ``classes_``)."""
        best = self._forward(*self._inputs(X, lengths)).argmax(axis=1)
        return self.classes_[best]

    def _true_ids(self, y, n: int) -> np.ndarray:
        labels = as_label_array(y)
        if len(labels) != n:
            raise ValueError(f"y must have one label per sequence: X holds {n} sequences, y {len(labels)} labels")
        return encode_labels(labels, self.classes_)

    def score(self, X, y, lengths=None) -> float:
        """Accuracy on ``(X, y)``; labels never seen in ``fit`` raise ``ValueError``."""
        data, lens = self._inputs(X, lengths)
        true = self._true_ids(y, len(lens))
        return float(np.mean(self._forward(data, lens).argmax(axis=1) == true))

    def confusion_matrix(self, X, y, lengths=None) -> np.ndarray:
        """Counts ``(K, K)`` int64: row = true class, column = predicted, both in ``classes_`` order."""
        data, lens = self._inputs(X, lengths)
        true = self._true_ids(y, len(lens))
        pred = self._forward(data, lens).argmax(axis=1)
        K = len(self.classes_)
        return np.bincount(true * K + pred, minlength=K * K).reshape(K, K).astype(np.int64)

    # -- saving -----------------------------------------------------------------------------
    def _fitted_state(self) -> dict:
        return {**self._base_state(), "classes": classes_state(self.classes_)}

    def _set_fitted_state(self, state: dict) -> None:
        self._set_base_state(state)
        self.classes_ = classes_from_state(state["classes"])
