"""RNNTagger: one label per time step (many-to-many, synchronous), scikit-learn conventions."""

from __future__ import annotations

import numpy as np

from rnnkit.estimators._labels import (
    as_label_array,
    classes_from_state,
    classes_state,
    encode_labels,
    fit_classes,
    label_index,
)
from rnnkit.estimators._persist import register_estimator
from rnnkit.estimators._rnn_base import RNNSequenceEstimator
from rnnkit.estimators._split import random_split

__all__ = ["RNNTagger"]

IGNORE = -100      # CrossEntropyLoss's and Accuracy's ignore_index: padded steps


@register_estimator
class RNNTagger(RNNSequenceEstimator):
    r"""Label every step of a sequence (frame-wise labelling, tagging) with a recurrent network.

    The network, as in Graves & Schmidhuber's frame-wise phoneme classification (2005)::

        x (N, T, C) standardised per channel  (or token ids -> Embedding)
          -> Linear -> activation                         input_layers (64,)
          -> bidirectional LSTM (hidden_size per direction): out (N, T, 2H)
          -> Dropout -> Linear -> activation              head_layers (64,)
          -> Dropout -> Linear -> per-step logits (N, T, K), softmax over the K labels

    trained with the per-step cross-entropy over the real steps only (padding never counts
    in the loss, the metrics or the score). ``X`` takes every form :class:`RNNClassifier`
    takes; ``y`` is a list of per-step label sequences of the same lengths (arrays, lists, or
    strings: one label per character), labels of any hashable type, sorted into ``classes_``.

    Args:
        cell: ``'lstm'`` (default), ``'gru'`` or ``'rnn'``.
        hidden_size (64), num_layers (1), bidirectional (True), dropout (0.1),
        input_layers ((64,)), head_layers ((64,)), activation (``'tanh'``), embedding_dim
        (32), input_type (``'auto'``): the network.
        max_epochs (100), batch_size (32), lr (3e-3), weight_decay (0.0), clip_grad_norm
        (1.0), patience (10), lr_schedule (``'cosine'``), validation_fraction (0.1; the
        validation part is whole sequences), refit (False), max_time (None), random_state
        (None), verbose (0): training, as in RNNClassifier.

    ``predict`` returns a list of label arrays, one per sequence, of its length;
    ``predict_proba`` a list of ``(T_i, K)`` arrays; ``score`` the per-step accuracy.

    Example::

        >>> import numpy as np
        >>> from rnnkit.estimators import RNNTagger
        >>> words = ["abba", "cab", "bacca", "acab"] * 20
        >>> tags = ["".join("v" if ch == "a" else "c" for ch in w) for w in words]
        >>> tagger = RNNTagger(hidden_size=8, input_layers=(), head_layers=(), max_epochs=20,
        ...                    random_state=0).fit(words, tags)
        >>> tagger.predict(["abc"])[0].tolist()
        ['v', 'c', 'c']
        >>> float(tagger.score(words, tags))
        1.0
    """

    def __init__(self, cell="lstm", hidden_size=64, num_layers=1, bidirectional=True, dropout=0.1,
                 input_layers=(64,), head_layers=(64,), activation="tanh", embedding_dim=32,
                 input_type="auto", input_noise=0.0, max_epochs=100, batch_size=32, lr=3e-3, weight_decay=0.0,
                 clip_grad_norm=1.0, patience=10, lr_schedule="cosine", validation_fraction=0.1,
                 refit=False, ensemble_size=1, max_time=None, random_state=None, verbose=0):
        self._store(locals())

    _metrics = ("accuracy",)

    def _network_output(self) -> str:
        return "sequence"

    def _step_labels(self, y, lens: np.ndarray) -> np.ndarray:
        """All real steps' labels, concatenated in example order, ``(sum L,)``, checked against ``lens``."""
        if isinstance(y, (str, bytes)) or not hasattr(y, "__len__"):
            raise TypeError(f"y must be a list of per-step label sequences, got {type(y).__name__}")
        if len(y) != len(lens):
            raise ValueError(f"y must have one label sequence per sequence: X holds {len(lens)}, y {len(y)}")
        flat = []
        for n, (seq, L) in enumerate(zip(y, lens)):
            labels = list(seq) if isinstance(seq, str) else as_label_array(seq, f"y[{n}]").tolist()
            if len(labels) != L:
                raise ValueError(f"y[{n}] has {len(labels)} labels but X[{n}] has {L} steps: one label per step")
            flat.extend(labels)
        return as_label_array(flat, "y")

    def _padded_ids(self, ids: np.ndarray, lens: np.ndarray) -> np.ndarray:
        out = np.full((len(lens), int(lens.max())), IGNORE, dtype=np.int64)        # (N, T)
        out[np.arange(out.shape[1])[None, :] < lens[:, None]] = ids
        return out

    def fit(self, X, y, lengths=None, *, checkpoint=None, resume: bool = False) -> RNNTagger:
        """Fit on sequences ``X`` and their per-step labels ``y``; returns ``self``."""
        settings = self._check_settings()
        raw, lens = self._read_raw(X, lengths, fitting=True)
        flat = self._step_labels(y, lens)
        classes = fit_classes(flat)
        if len(classes) < 2:
            raise ValueError(f"y holds a single label ({classes[0]!r}) at every step: a tagger needs at least two")
        targets = self._padded_ids(encode_labels(flat, classes), lens)
        splits, seeds = self._splits(lambda rng: random_split(len(lens), self.validation_fraction, rng))
        self.classes_ = classes
        self._fit_inputs(raw, lens, self._used(splits))
        self._fit_networks(settings, self._encode(raw, lens), lens, targets, splits, seeds, len(classes),
                           "cross_entropy", "probability",
                           checkpoint=checkpoint, resume=resume)
        return self

    def _logits(self, X, lengths):
        data, lens = self._inputs(X, lengths)
        return self._forward(data, lens), lens                                       # (N, T, K)

    def predict_proba(self, X, lengths=None) -> list[np.ndarray]:
        """Per-step class probabilities: a list of ``(T_i, K)`` float64 arrays."""
        z, lens = self._logits(X, lengths)
        z = z.astype(np.float64) - z.max(axis=-1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=-1, keepdims=True)
        return [p[n, :L] for n, L in enumerate(lens)]

    def predict(self, X, lengths=None) -> list[np.ndarray]:
        """The most probable label at each step: a list of ``(T_i,)`` arrays from ``classes_``."""
        z, lens = self._logits(X, lengths)
        best = z.argmax(axis=-1)                                                     # (N, T)
        return [self.classes_[best[n, :L]] for n, L in enumerate(lens)]

    def score(self, X, y, lengths=None) -> float:
        """Accuracy over all real steps; labels never seen in ``fit`` raise ``ValueError``."""
        z, lens = self._logits(X, lengths)
        true = encode_labels(self._step_labels(y, lens), self.classes_, "y", label_index(self.classes_))
        mask = np.arange(z.shape[1])[None, :] < lens[:, None]                       # (N, T)
        return float(np.mean(z.argmax(axis=-1)[mask] == true))

    def _fitted_state(self) -> dict:
        return {**self._base_state(), "classes": classes_state(self.classes_)}

    def _set_fitted_state(self, state: dict) -> None:
        self._set_base_state(state)
        self.classes_ = classes_from_state(state["classes"])
