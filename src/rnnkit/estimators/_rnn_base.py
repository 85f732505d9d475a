"""The shared machinery of RNNClassifier, RNNRegressor and RNNTagger.

``fit`` in every one of them::

    X -> read_numeric / read_tokens -> padded (N, T, C) + lengths  (or token lists)
    split off the validation examples (stratified for the classifier)
    fit the ChannelScaler on the training part's real steps (or the TokenVocab on its tokens)
    build the SequenceModel, train it (train_network: Adam, early stopping, best epoch kept)
    [refit=True: train a fresh network on all examples for the best epoch count]

and every prediction runs the saved scaler / vocabulary and the network under ``no_grad``.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from rnnkit._checks import check_bool, check_choice, check_float_range, check_int
from rnnkit._grad_mode import inference_mode
from rnnkit.estimators._base import BaseEstimator, check_is_fitted
from rnnkit.estimators._encoders import ChannelScaler, TokenVocab
from rnnkit.estimators._schedule import make_schedule
from rnnkit.estimators._sequences import INPUT_TYPES, looks_like_tokens, read_numeric, read_tokens
from rnnkit.estimators._training import FitSettings, train_network
from rnnkit.models import Ensemble, SequenceModel
from rnnkit.train.history import History
from rnnkit.train.trainer import split_output

__all__ = ["RNNSequenceEstimator", "seeds_from"]

SCHEDULES = (None, "cosine", "plateau")


def seeds_from(random_state, n: int) -> list[int]:
    """``n`` independent seeds from ``random_state`` (an int, or None for fresh entropy)."""
    if random_state is not None:
        check_int("random_state", random_state, 0)
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(random_state).spawn(n)]


class RNNSequenceEstimator(BaseEstimator):
    """Base class (not for direct use): inputs, scaler/vocabulary, network, training, saving.

    Subclasses set ``_network_output`` (``SequenceModel``'s ``output``: the ``pooling``
    argument, or ``'sequence'``) and implement ``_targets`` / ``_loss`` and their predictions.
    """

    _estimator_type = None       # 'classifier' / 'regressor' (scikit-learn's tag)
    _metrics: tuple = ()

    # -- scikit-learn tags ------------------------------------------------------------------
    def __sklearn_tags__(self):
        """scikit-learn >= 1.6 reads the estimator type from here (imported only when it asks)."""
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        kind = self._estimator_type
        return Tags(estimator_type=kind, target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags() if kind == "classifier" else None,
                    regressor_tags=RegressorTags() if kind == "regressor" else None,
                    input_tags=InputTags(two_d_array=True, three_d_array=True, allow_nan=True))

    # -- settings -----------------------------------------------------------------------------
    def _check_settings(self) -> FitSettings:
        check_choice("cell", self.cell, ("lstm", "gru", "rnn"))
        check_int("hidden_size", self.hidden_size, 1)
        check_int("num_layers", self.num_layers, 1)
        check_bool("bidirectional", self.bidirectional)
        check_float_range("dropout", self.dropout, 0.0, 0.99)
        check_float_range("recurrent_dropout", self._recurrent_dropout, 0.0, 0.99)
        check_float_range("validation_fraction", self.validation_fraction, 0.0, 0.9)
        check_choice("input_type", self.input_type, INPUT_TYPES)
        check_int("embedding_dim", self.embedding_dim, 1)
        check_float_range("input_noise", self.input_noise, 0.0, 10.0)
        check_choice("lr_schedule", self.lr_schedule, SCHEDULES)
        check_bool("refit", self.refit)
        check_int("ensemble_size", self.ensemble_size, 1)
        if self.refit and self.validation_fraction == 0:
            raise ValueError("refit=True retrains for the best epoch count found on the validation part: "
                             "it needs validation_fraction > 0")
        settings = FitSettings.from_estimator(self)
        if self.lr_schedule == "plateau":
            settings.reduce_lr_patience = max(1, settings.patience // 2)
        return settings

    # -- inputs -------------------------------------------------------------------------------
    def _read_raw(self, X, lengths, fitting: bool):
        """``(raw, lengths)``: raw is a padded float64 array or a list of token lists."""
        if fitting:
            tokens = self.input_type == "tokens" or (self.input_type == "auto" and looks_like_tokens(X))
            self.input_kind_ = "tokens" if tokens else "numeric"
        if self.input_kind_ == "tokens":
            seqs = read_tokens(X, lengths)
            return seqs, np.array([len(s) for s in seqs], dtype=np.int64)
        raw, lens = read_numeric(X, lengths)
        if not fitting and raw.shape[2] != self.n_features_in_:
            raise ValueError(f"X has {raw.shape[2]} channels per step, but {type(self).__name__} was fitted "
                             f"with {self.n_features_in_}")
        return raw, lens

    def _fit_inputs(self, raw, lens, train_idx) -> None:
        """Fit the scaler (numeric) or the vocabulary (tokens) on the training examples only."""
        if self.input_kind_ == "tokens":
            self.vocab_ = TokenVocab.fit([raw[i] for i in train_idx])
            self.scaler_ = None
            self.n_features_in_ = 1
        else:
            self.n_features_in_ = int(raw.shape[2])
            self.scaler_ = ChannelScaler.fit(raw[train_idx], lens[train_idx])
            self.vocab_ = None

    def _encode(self, raw, lens):
        """Network inputs: standardised float32 ``(N, T, C)`` or token ids ``(N, T)``."""
        if self.input_kind_ == "tokens":
            ids, _, _ = self.vocab_.encode(raw)
            return ids
        return self.scaler_.transform(raw, lens)

    def _inputs(self, X, lengths):
        """``(network input, lengths)`` for prediction."""
        check_is_fitted(self, "predicting")
        raw, lens = self._read_raw(X, lengths, fitting=False)
        return self._encode(raw, lens), lens

    # -- the network --------------------------------------------------------------------------
    @property
    def _recurrent_dropout(self) -> float:
        """``recurrent_dropout`` (variational, nn.RNNBase) of the recurrent layer; 0 for an
        estimator whose constructor has no such parameter."""
        return getattr(self, "recurrent_dropout", 0.0)

    def _build(self, n_out: int, seed: int) -> SequenceModel:
        tokens = self.input_kind_ == "tokens"
        model = SequenceModel(
            self.embedding_dim if tokens else self.n_features_in_, self.hidden_size, n_out,
            cell=self.cell, num_layers=self.num_layers, dropout=self.dropout, bidirectional=self.bidirectional,
            output=self._network_output(), num_embeddings=self.vocab_.size if tokens else None,
            padding_idx=0 if tokens else None, input_layers=tuple(self.input_layers),
            head_layers=tuple(self.head_layers),
            activation=self.activation, input_noise=self.input_noise, rng=seed)
        model.rnn.recurrent_dropout = float(self._recurrent_dropout)   # read at each training forward
        return model

    def _splits(self, split) -> tuple[list, list[int]]:
        """One ``(train_idx, val_idx)`` per network (``split(rng)`` draws one) and the seeds."""
        n = check_int("ensemble_size", self.ensemble_size, 1)
        seeds = seeds_from(self.random_state, 3 * n)
        return [split(np.random.default_rng(seeds[3 * k + 2])) for k in range(n)], seeds

    @staticmethod
    def _used(splits) -> np.ndarray:
        """The examples some network trains on (what the scalers are fitted on)."""
        return np.unique(np.concatenate([tr for tr, _ in splits]))

    def can_checkpoint(self) -> bool:
        """Whether ``fit(checkpoint=...)`` applies: one training run (``ensemble_size=1``, no ``refit``)."""
        return self.ensemble_size == 1 and not self.refit

    def _fit_networks(self, settings, data, lens, targets, splits, seeds, n_out, loss, combine, *,
                      checkpoint=None, resume: bool = False) -> None:
        """Train one network per split (``max_time`` shared equally); ``model_`` is the network,
        or an :class:`~rnnkit.models.Ensemble` of them (``combine``: 'probability' or 'mean').

        ``checkpoint``: a path written after every epoch; ``resume=True`` continues the run
        saved there exactly (the split, scaler and network are rebuilt from ``random_state``,
        so give the same data and settings). Only a single network without ``refit`` has one
        run to continue: with ``ensemble_size > 1`` or ``refit=True`` a checkpoint is refused.
        """
        n = len(splits)
        if checkpoint is None and resume:
            raise ValueError("resume=True needs checkpoint=<path of the run's checkpoint>")
        if checkpoint is not None and not self.can_checkpoint():
            raise ValueError(f"checkpoint= continues one training run: it needs ensemble_size=1 and refit=False, "
                             f"got ensemble_size={n}, refit={self.refit}")
        self.validation_indices_ = np.asarray(splits[0][1], np.int64) if len(splits[0][1]) else None
        each = settings if settings.max_time is None else replace(settings, max_time=settings.max_time / n)
        runs = [self._train(each, data, lens, targets, tr, va, n_out, loss, seeds[3 * k:3 * k + 2],
                            checkpoint=checkpoint, resume=resume)
                for k, (tr, va) in enumerate(splits)]
        nets = [r[0] for r in runs]
        self.model_ = nets[0] if n == 1 else Ensemble(*nets, combine=combine)
        self.histories_ = [r[1] for r in runs]
        self.best_epochs_ = [r[2] for r in runs]
        self.validation_histories_ = [r[3] for r in runs]
        self.history_, self.best_epoch_, self.validation_history_ = runs[0][1:]

    def _train(self, settings, data, lens, targets, train_idx, val_idx, n_out, loss, seeds, *,
               checkpoint=None, resume: bool = False):
        """Train one network on ``train_idx`` (validating on ``val_idx``); with ``refit``, train a
        fresh one on all examples for the best epoch count. Returns ``(network, history,
        best_epoch, validation_history)`` (the last None without refit).

        With ``refit`` and ``max_time`` the validated run gets half the budget and the refit the
        rest; a refit that runs out of time before the best epoch count keeps the validated network.
        """
        val = (data[val_idx], targets[val_idx], lens[val_idx]) if len(val_idx) else None

        def schedule(n):
            return make_schedule(self.lr_schedule, settings.lr, settings.max_epochs, -(-n // settings.batch_size))

        budget, start = settings.max_time, time.monotonic()
        first = replace(settings, max_time=budget / 2) if self.refit and budget is not None else settings
        model = self._build(n_out, seeds[0])
        history, keep = train_network(
            model, (data[train_idx], targets[train_idx], lens[train_idx]), settings=first, loss=loss,
            val_data=val, metrics=list(self._metrics), rng=seeds[1], callbacks=schedule(len(train_idx)),
            checkpoint=checkpoint, resume=resume)
        best = int(keep.best_epoch) or len(history.epochs)
        if not self.refit:
            return model, history, best, None
        left = None if budget is None else max(0.0, budget - (time.monotonic() - start))
        again = self._build(n_out, seeds[0])
        full, _ = train_network(
            again, (data, targets, lens), settings=replace(settings, max_epochs=best, max_time=left), loss=loss,
            metrics=list(self._metrics), rng=seeds[1], monitor="loss", callbacks=schedule(len(lens)))
        if len(full.epochs) < best:
            return model, history, best, None
        return again, full, best, history

    def _forward(self, data, lens, batch_size: int = 256) -> np.ndarray:
        """The network's raw output for every example, in eval mode, nothing kept."""
        outs = []
        with inference_mode(self.model_):
            for i in range(0, data.shape[0], batch_size):
                out, _ = split_output(self.model_(data[i:i + batch_size], lengths=lens[i:i + batch_size]))
                outs.append(out)
        return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=0)

    # -- saving -------------------------------------------------------------------------------
    def _base_state(self) -> dict:
        def hist(hs):
            return [None if h is None else h.to_dict() for h in hs]

        return {
            "input_kind": self.input_kind_, "n_features_in": self.n_features_in_,
            "scaler": None if self.scaler_ is None else self.scaler_.state(),
            "vocab": None if self.vocab_ is None else self.vocab_.state(),
            "best_epochs": list(self.best_epochs_), "histories": hist(self.histories_),
            "validation_histories": hist(self.validation_histories_),
        }

    def _set_base_state(self, state: dict) -> None:
        def hist(hs):
            return [None if h is None else History.from_dict(h) for h in hs]

        self.input_kind_ = state["input_kind"]
        self.n_features_in_ = int(state["n_features_in"])
        self.scaler_ = None if state["scaler"] is None else ChannelScaler.from_state(state["scaler"])
        self.vocab_ = None if state["vocab"] is None else TokenVocab.from_state(state["vocab"])
        self.best_epochs_ = [int(b) for b in state["best_epochs"]]
        self.histories_ = hist(state["histories"])
        self.validation_histories_ = hist(state["validation_histories"])
        self.history_, self.best_epoch_ = self.histories_[0], self.best_epochs_[0]
        self.validation_history_ = self.validation_histories_[0]
