"""``RNNSeq2Seq``: an encoder-decoder on pairs of sequences (strings or token lists).

Teacher-forced training, greedy and beam decoding, exact sequence accuracy.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_rng, check_choice, check_float_range, check_int
from rnnkit.estimators._base import BaseEstimator, check_is_fitted
from rnnkit.estimators._persist import register_estimator
from rnnkit.estimators._tokens import EOS, PAD, SOS, UNK, TokenVocab, as_sequences
from rnnkit.estimators._training import FitSettings, train_network
from rnnkit.train.history import History

__all__ = ["RNNSeq2Seq"]

_IGNORE = -100          # target id the loss and the accuracy leave out (padding after EOS)
_PREDICT_BATCH = 256
_END = object()         # the end of an output in token_accuracy: equal only to itself


def _pairs(X, y) -> tuple[list, list, bool, bool]:
    xs, x_text = as_sequences(X, "X")
    ys, y_text = as_sequences(y, "y", allow_empty=True)
    if len(xs) != len(ys):
        raise ValueError(f"X and y must hold the same number of sequences, got {len(xs)} and {len(ys)}")
    return xs, ys, x_text, y_text


@register_estimator
class RNNSeq2Seq(BaseEstimator):
    r"""Sequence-to-sequence estimator: an RNN encoder reads ``x``, an RNN decoder writes ``y``.

    Network (:class:`rnnkit.models.Seq2Seq`; ``E`` embedding, ``H`` hidden, ``L`` layers)::

        x_1 .. x_S  -> Embedding -> encoder (GRU/LSTM/RNN, bidirectional by default)
            final state -> (bidirectional: h_0 = tanh(W [h_fwd; h_bwd] + b)) -> decoder state
        SOS, y_1 .. y_T -> Embedding -> decoder -> Linear -> logits z_t (T+1, V_y)
        p(y_t | y_<t, x) = softmax(z_t),  trained to emit y_1 .. y_T, EOS

    ``fit`` minimises the cross-entropy of every target token and the EOS with teacher
    forcing (the decoder reads the true previous token). Tokens: a ``str`` is a sequence of
    characters; a list (tuple, 1-D array) is a sequence of any hashable tokens. The source and
    target vocabularies are fitted inside, each with the ids PAD 0, SOS 1, EOS 2, UNK 3.

    Decoding (``predict``) feeds back the decoder's own tokens from SOS until EOS (at most
    ``max_len`` tokens, EOS included), never emitting PAD, SOS or UNK. ``beam_size=1`` is
    greedy (the most likely token at each step); ``beam_size=k`` keeps the ``k`` most likely
    partial outputs and returns the finished one of highest length-normalised score

    .. math::
        \mathrm{score}(y) = \frac{\log p(y \mid x)}{|y|^{\alpha}}

    (``|y|`` counts the EOS; ``alpha = length_penalty``; see :func:`rnnkit.models.beam_search`).

    Args:
        cell: ``'gru'`` (default), ``'lstm'`` or ``'rnn'``, for encoder and decoder.
        hidden_size: ``H`` (default 128). num_layers: ``L`` (default 1).
        embedding_dim: ``E`` of both embeddings (default 32).
        bidirectional: a two-direction encoder with a learned bridge (default True).
        dropout: between stacked layers and before the output layer (default 0.0).
        max_epochs (100), batch_size (64), lr (3e-3), weight_decay (0.0), clip_grad_norm
        (5.0), patience (10), reduce_lr_patience (None), validation_fraction (0.1: pairs
        held out for early stopping and the best weights, by their loss), max_time (None),
        random_state (None), verbose (0): as every estimator.
        beam_size: default width for ``predict`` and ``score`` (default 1: greedy).
        length_penalty: ``alpha >= 0`` of the beam score (default 1.0: mean log-probability).
        max_len: default longest output, EOS included (None: twice the longest training
            target, plus 1).
        handle_unknown: a source token never seen in ``fit``: ``'error'`` (default) raises
            ``ValueError``; ``'unk'`` reads it as UNK, whose embedding is a zero vector.

    Fitted attributes: ``model_``, ``src_vocab_``, ``tgt_vocab_`` (:class:`TokenVocab`),
    ``history_``, ``best_epoch_``, ``max_target_len_``, ``target_is_text_`` (predictions are
    strings when every training target was a string, else lists of tokens).

    Example:
        >>> words = ["abc", "cab", "bca", "acb", "bac", "cba"] * 10
        >>> est = RNNSeq2Seq(cell="lstm", bidirectional=False, hidden_size=32, max_epochs=30,
        ...                  batch_size=16, lr=1e-2, validation_fraction=0, random_state=0)
        >>> est = est.fit(words, [w[::-1] for w in words])
        >>> est.predict(["abc", "cab"], beam_size=3)
        ['cba', 'bac']
        >>> est.score(["bca"], ["acb"])
        1.0
    """

    def __init__(self, cell: str = "gru", hidden_size: int = 128, num_layers: int = 1, embedding_dim: int = 32,
                 bidirectional: bool = True, dropout: float = 0.0, max_epochs: int = 100, batch_size: int = 64,
                 lr: float = 3e-3, weight_decay: float = 0.0, clip_grad_norm: float | None = 5.0, patience: int = 10,
                 reduce_lr_patience: int | None = None, validation_fraction: float = 0.1,
                 max_time: float | None = None, beam_size: int = 1, length_penalty: float = 1.0,
                 max_len: int | None = None, handle_unknown: str = "error", random_state: int | None = None,
                 verbose: int = 0):
        self._store(locals())

    # -- fit ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice("cell", self.cell, ("gru", "lstm", "rnn"))
        check_int("hidden_size", self.hidden_size, 1)
        check_int("num_layers", self.num_layers, 1)
        check_int("embedding_dim", self.embedding_dim, 1)
        if not isinstance(self.bidirectional, (bool, np.bool_)):
            raise TypeError(f"bidirectional must be a bool, got {self.bidirectional!r}")
        check_float_range("dropout", self.dropout, 0.0, 0.99)
        check_float_range("validation_fraction", self.validation_fraction, 0.0, 0.9)
        check_int("beam_size", self.beam_size, 1)
        check_float_range("length_penalty", self.length_penalty, 0.0, 10.0)
        if self.max_len is not None:
            check_int("max_len", self.max_len, 1)
        check_choice("handle_unknown", self.handle_unknown, ("error", "unk"))

    def _arrays(self, xs, ys):
        """Packed model input ``(N, 2 + S + T + 1)`` and targets ``(N, T + 1)`` of pairs."""
        from rnnkit.models import pack_seq2seq

        src, lengths = self.src_vocab_.pad(xs)                        # (N, S), (N,)
        T = max(len(s) for s in ys) + 1
        tgt_in = np.full((len(ys), T), PAD, np.int64)                 # SOS y_1 .. y_n PAD ...
        tgt = np.full((len(ys), T), _IGNORE, np.int64)                # y_1 .. y_n EOS -100 ...
        for i, s in enumerate(ys):
            ids = self.tgt_vocab_.encode(s)
            tgt_in[i, 0], tgt_in[i, 1:len(s) + 1] = SOS, ids
            tgt[i, :len(s)], tgt[i, len(s)] = ids, EOS
        return pack_seq2seq(src, tgt_in, lengths), tgt

    def fit(self, X, y, *, checkpoint=None, resume: bool = False) -> RNNSeq2Seq:
        """Learn to map each ``X[i]`` to ``y[i]`` (strings or lists of tokens); returns ``self``.

        ``checkpoint``: a path written after every epoch; ``resume=True`` continues the run saved
        there exactly (the split, vocabularies and network are rebuilt from ``random_state``:
        give the same pairs and settings). ``validation_indices_``: the pairs held out.
        """
        from rnnkit import nn
        from rnnkit.models import Seq2Seq

        self._check_params()
        settings = FitSettings.from_estimator(self)
        xs, ys, _, y_text = _pairs(X, y)
        N = len(xs)
        n_val = int(round(self.validation_fraction * N)) if self.validation_fraction > 0 else 0
        if self.validation_fraction > 0 and (n_val < 1 or N - n_val < 1):
            raise ValueError(f"validation_fraction={self.validation_fraction} of {N} pairs leaves no validation or "
                             "no training pair: give more pairs or validation_fraction=0")
        rng = as_rng(self.random_state)
        self.src_vocab_ = TokenVocab.fit(xs)
        self.tgt_vocab_ = TokenVocab.fit(ys)
        self.target_is_text_ = bool(y_text)
        self.max_target_len_ = max(len(s) for s in ys)
        order = rng.permutation(N)
        val, train = order[:n_val], order[n_val:]
        data = self._arrays([xs[i] for i in train], [ys[i] for i in train])
        val_data = self._arrays([xs[i] for i in val], [ys[i] for i in val]) if n_val else None

        self.model_ = Seq2Seq(len(self.src_vocab_), len(self.tgt_vocab_), self.embedding_dim, self.hidden_size,
                              cell=self.cell, num_layers=self.num_layers,
                              bidirectional_encoder=bool(self.bidirectional), dropout=self.dropout,
                              sos_id=SOS, eos_id=EOS, pad_id=PAD, rng=rng)
        self.model_.src_embedding.weight.data[UNK] = 0.0     # an unknown source token reads as nothing
        self.validation_indices_ = np.sort(val).astype(np.int64) if n_val else None
        self.history_, keep = train_network(self.model_, data, settings=settings, loss=nn.CrossEntropyLoss(),
                                            val_data=val_data, metrics=["accuracy"], rng=rng,
                                            checkpoint=checkpoint, resume=resume)
        self.best_epoch_ = int(keep.best_epoch)
        return self

    # -- prediction -----------------------------------------------------------------------
    def _sources(self, X):
        check_is_fitted(self, "predict")
        xs, _ = as_sequences(X, "X")
        if self.handle_unknown == "error":
            for i, s in enumerate(xs):
                bad = self.src_vocab_.unknown(s)
                if bad:
                    raise ValueError(f"X[{i}] has source tokens never seen in fit: {bad[:5]!r} "
                                     "(handle_unknown='unk' reads them as the unknown token)")
        return xs

    def _decode(self, xs, beam_size, max_len) -> list[list]:
        beam_size = check_int("beam_size", self.beam_size if beam_size is None else beam_size, 1)
        if max_len is None:
            max_len = self.max_len if self.max_len is not None else 2 * self.max_target_len_ + 1
        max_len = check_int("max_len", max_len, 1)
        banned = (PAD, SOS, UNK)
        out: list[list] = []
        for b in range(0, len(xs), _PREDICT_BATCH):
            src, lengths = self.src_vocab_.pad(xs[b:b + _PREDICT_BATCH])
            if beam_size == 1:
                ids = self.model_.greedy_decode(src, lengths, max_len=max_len, banned=banned)
            else:
                ids, _ = self.model_.beam_decode(src, lengths, max_len=max_len, beam_size=beam_size,
                                                 length_penalty=self.length_penalty, banned=banned)
            out += [self.tgt_vocab_.decode(row) for row in ids]
        return out

    def predict(self, X, beam_size: int | None = None, max_len: int | None = None) -> list:
        """The output sequence of each source in ``X``: strings when the training targets
        were strings, else lists of tokens. ``beam_size`` and ``max_len`` default to the
        estimator's (1 is greedy; see the class docstring for the beam score)."""
        outs = self._decode(self._sources(X), beam_size, max_len)
        return ["".join(map(str, o)) for o in outs] if self.target_is_text_ else outs

    def score(self, X, y, beam_size: int | None = None) -> float:
        """Exact sequence accuracy: the fraction of ``X[i]`` whose whole output equals ``y[i]``."""
        xs = self._sources(X)
        _, ys, _, _ = _pairs(X, y)
        outs = self._decode(xs, beam_size, None)
        return float(np.mean([o == t for o, t in zip(outs, ys)]))

    def token_accuracy(self, X, y, beam_size: int | None = None) -> float:
        """Position-wise accuracy of the decoded outputs: for each pair, the ``len(y[i]) + 1``
        positions of ``y[i]`` and its EOS are compared with the output and its EOS (a
        missing position counts wrong); correct positions / all positions, over all pairs."""
        xs = self._sources(X)
        _, ys, _, _ = _pairs(X, y)
        outs = self._decode(xs, beam_size, None)
        right = total = 0
        for o, t in zip(outs, ys):
            o, t = o + [_END], t + [_END]
            right += sum(1 for a, b in zip(o, t) if a == b)
            total += len(t)
        return right / total

    # -- saving ---------------------------------------------------------------------------
    def _fitted_state(self) -> dict:
        return {"src_tokens": list(self.src_vocab_.tokens), "tgt_tokens": list(self.tgt_vocab_.tokens),
                "target_is_text": self.target_is_text_, "max_target_len": self.max_target_len_,
                "history": self.history_.to_dict(), "best_epoch": self.best_epoch_}

    def _set_fitted_state(self, state: dict) -> None:
        self.src_vocab_ = TokenVocab(state["src_tokens"])
        self.tgt_vocab_ = TokenVocab(state["tgt_tokens"])
        self.target_is_text_ = bool(state["target_is_text"])
        self.max_target_len_ = int(state["max_target_len"])
        self.history_ = History.from_dict(state["history"])
        self.best_epoch_ = int(state["best_epoch"])
