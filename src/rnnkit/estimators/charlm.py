"""``CharLM``: a character-level language model on your own text (files, folders, strings).

Train with truncated BPTT, measure bits per character on new text, generate text.
"""

from __future__ import annotations

import math

import numpy as np

from rnnkit._checks import as_rng, check_choice, check_float_range, check_int
from rnnkit.data.vocab import CharVocab
from rnnkit.estimators._base import BaseEstimator, check_is_fitted
from rnnkit.estimators._persist import register_estimator
from rnnkit.estimators._schedule import CosineDecay
from rnnkit.estimators._text_source import read_documents
from rnnkit.estimators._text_stream import fit_stream
from rnnkit.estimators._training import FitSettings, train_network
from rnnkit.train.history import History

__all__ = ["CharLM"]

# Unicode scalar values (code points minus surrogates): what an unknown character may be.
_N_CODE_POINTS = 0x110000 - 0x800
_UNK_CANDIDATES = ["\ufffd"] + [chr(c) for c in range(0xE000, 0xF900)]     # then the private use area


def _unk_char(chars) -> str:
    taken = set(chars)
    return next(c for c in _UNK_CANDIDATES if c not in taken)


def _split_validation(docs: list[str], fraction: float, rng) -> tuple[list[str], str]:
    """``(train documents, validation text)``: whole documents in a random order while they
    fit (up to 1.5x the share), else the tail of the last document. ``fraction = 0``: no split."""
    total = sum(len(d) for d in docs)
    target = fraction * total
    if target <= 0:
        return docs, ""
    if len(docs) >= 2:
        held, size = set(), 0
        for i in rng.permutation(len(docs)).tolist():
            if size >= target:
                break
            if size + len(docs[i]) <= 1.5 * target and len(held) < len(docs) - 1:
                held.add(i)
                size += len(docs[i])
        if size >= 0.5 * target:
            return [d for i, d in enumerate(docs) if i not in held], "".join(docs[i] for i in sorted(held))
    n_val = max(2, int(round(target)))
    last = docs[-1]
    if len(last) - n_val < 2:
        raise ValueError(f"text has {total} characters: too few to hold out validation_fraction={fraction} "
                         "(give more text or validation_fraction=0)")
    return docs[:-1] + [last[:-n_val]], last[-n_val:]


@register_estimator
class CharLM(BaseEstimator):
    r"""Character-level language model: a recurrent network that predicts the next character.

    Network (:class:`rnnkit.models.CharRNN`; ``V`` characters in the vocabulary, ``E``
    embedding, ``H`` hidden, ``L`` layers)::

        c_1 .. c_T  ids (B, T) -> Embedding (B, T, E) -> LSTM/GRU/RNN, L layers (B, T, H)
            -> (Dropout) -> Linear -> logits z_t (B, T, V)
        p(c_{t+1} | c_1 .. c_t) = softmax(z_t)

    ``fit`` minimises the mean of :math:`-\ln p(c_{t+1} | c_{\le t})` with truncated BPTT
    (:mod:`rnnkit.estimators._text_stream`): the training documents, shuffled once, are
    joined into one stream, cut into ``B = min(batch_size, (S-1) // bptt)`` contiguous
    streams and walked in windows of ``bptt`` characters, the hidden state carried from
    window to window (the gradient flows back ``bptt`` steps at most). Adam, gradient
    clipping, and, on the held-out validation text, early stopping and the best epoch's
    weights. The learning rate either anneals to 0 over the budget (``lr_schedule='cosine'``:
    :class:`rnnkit.estimators._schedule.CosineDecay` with ``floor = 0``, over ``max_epochs``
    epochs of steps and, when given, ``max_time`` seconds, whichever runs out first) or
    halves on a plateau of the validation loss (``'plateau'``); the default ``'auto'``
    anneals when ``max_time`` is given, else halves on plateaus.

    Text in (``fit``, ``score``): a string, a path of a text file or of a folder of files,
    or a list of those (see :func:`rnnkit.estimators._text_source.read_documents`: a ``str``
    that names an existing file or folder is read as one; files are UTF-8).

    Vocabulary: the characters seen at least ``min_count`` times in the training text, plus
    an unknown token (id 0) for every other character. ``score`` counts an unknown character
    at its honest code length, ``-log2 p(unk) + log2(N_unseen)`` bits, where ``N_unseen`` is
    the number of Unicode scalar values outside the vocabulary (a uniform spelling of which
    one it was); ``generate`` never emits the unknown token.

    Args:
        cell: ``'lstm'`` (default), ``'gru'`` or ``'rnn'``.
        hidden_size: ``H`` (default 512). num_layers: ``L`` (default 1).
        embedding_dim: ``E`` (default None: ``min(V, 64)``).
        dropout: between recurrent layers and before the head (default 0.0).
        bptt: truncation length, characters per window and per backward pass (default 50).
        batch_size: parallel streams ``B`` (default 32).
        steps_per_epoch: windows per epoch (default None: one pass over the text); an
            epoch ends with validation, so on a large text a smaller epoch checks more often.
        max_epochs (50), lr (3e-3), weight_decay (0.0), clip_grad_norm (1.0), patience (3),
        max_time (None: seconds, training stops after the window that spends them, keeping
        the best epoch so far; the run then depends on the machine's speed), random_state
        (None), verbose (0): as every estimator (see :mod:`rnnkit.estimators._training`).
        lr_schedule: ``'auto'`` (default), ``'cosine'``, ``'plateau'`` or ``'constant'``.
        reduce_lr_patience: with ``'plateau'``, halve the learning rate after this many
            epochs without gain (default 1; None: never).
        validation_fraction: share of the characters held out (default 0.1): whole
            documents drawn at random when there are several, else the end of the text;
            0 trains on everything and monitors the training loss.
        min_count: characters seen fewer times become the unknown token (default 1).

    Fitted attributes: ``model_`` (CharRNN), ``vocab_`` (:class:`rnnkit.data.CharVocab`),
    ``history_``, ``best_epoch_``, ``n_train_chars_``, ``n_val_chars_``, ``val_bpc_`` (bits
    per character of the validation text at the best epoch, an unknown character costing
    ``-log2 p(unk)`` as in training; nan without validation),
    ``unigram_bpc_`` (entropy of the training characters' frequencies).

    Example:
        >>> lm = CharLM(hidden_size=32, num_layers=1, bptt=20, batch_size=4, max_epochs=3,
        ...             validation_fraction=0, random_state=0)
        >>> lm = lm.fit("abcabcabc " * 50)
        >>> bpc = lm.score("abcabc abc")                 # bits per character, lower is better
        >>> text = lm.generate("ab", length=12, random_state=0)
        >>> len(text)
        14
    """

    def __init__(self, cell: str = "lstm", hidden_size: int = 512, num_layers: int = 1,
                 embedding_dim: int | None = None, dropout: float = 0.0, bptt: int = 50, batch_size: int = 32,
                 steps_per_epoch: int | None = None, max_epochs: int = 50, lr: float = 3e-3,
                 weight_decay: float = 0.0, clip_grad_norm: float | None = 1.0, patience: int = 3,
                 lr_schedule: str = "auto", reduce_lr_patience: int | None = 1, validation_fraction: float = 0.1,
                 max_time: float | None = None, min_count: int = 1, random_state: int | None = None,
                 verbose: int = 0):
        self._store(locals())

    # -- fit ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_choice("cell", self.cell, ("lstm", "gru", "rnn"))
        check_int("hidden_size", self.hidden_size, 1)
        check_int("num_layers", self.num_layers, 1)
        if self.embedding_dim is not None:
            check_int("embedding_dim", self.embedding_dim, 1)
        check_float_range("dropout", self.dropout, 0.0, 0.99)
        check_int("bptt", self.bptt, 1)
        if self.steps_per_epoch is not None:
            check_int("steps_per_epoch", self.steps_per_epoch, 1)
        check_float_range("validation_fraction", self.validation_fraction, 0.0, 0.9)
        check_int("min_count", self.min_count, 1)
        check_choice("lr_schedule", self.lr_schedule, ("auto", "cosine", "plateau", "constant"))

    def fit(self, text, y=None, *, suffixes=None, checkpoint=None, resume: bool = False) -> CharLM:
        """Train on ``text`` (a string, a file, a folder, or a list of those); returns ``self``.

        ``y`` is ignored (scikit-learn's signature). ``suffixes``: for folders, the name
        endings of the files to read (e.g. ``('.py', '.txt')``; None: every file).

        ``checkpoint``: a path written after every epoch (weights, optimizer, callbacks, the
        walk's position, the random generators, the schedule's steps and seconds spent);
        ``resume=True`` continues the run saved there. Give the same text and settings
        again: the split, the vocabulary and the initial weights are rebuilt from
        ``random_state``, which must then be an int. Without ``max_time`` the resumed run
        ends with the same weights, bit for bit, as one never interrupted; with it, the
        seconds spent up to the checkpoint count against the budget (and the cosine
        schedule's clock) and the rest is spent after the resume, so that run depends on
        the machine's speed, as any run cut by ``max_time``.
        """
        self._check_params()
        settings = FitSettings.from_estimator(self)
        if resume and checkpoint is None:
            raise ValueError("resume=True needs checkpoint=<path of the run's checkpoint>")
        if checkpoint is not None and (self.random_state is None or isinstance(self.random_state, bool)
                                       or not isinstance(self.random_state, (int, np.integer))):
            raise ValueError("checkpoint= needs an int random_state (a resumed run rebuilds the validation split "
                             f"and the initial weights from it), got random_state={self.random_state!r}")
        docs = read_documents(text, suffixes=suffixes, name="text")
        total = sum(len(d) for d in docs)
        if total == 0:
            raise ValueError("text is empty: fit needs characters to learn from")
        rng = as_rng(self.random_state)
        train_docs, val_text = _split_validation(docs, self.validation_fraction, rng)
        train_docs = [train_docs[i] for i in rng.permutation(len(train_docs))]
        train_text = "".join(train_docs)
        if len(train_text) < self.bptt + 1:
            raise ValueError(f"text has {len(train_text)} training characters, fewer than bptt + 1 = {self.bptt + 1} "
                             "(one truncated-BPTT window and its next-character target): give more text or a "
                             "smaller bptt")
        probe = CharVocab.fit(train_text)
        vocab = CharVocab.fit(train_text, unk=_unk_char(probe.itos), min_count=self.min_count)
        ids = vocab.encode(train_text)                                    # (S,)
        streams = min(settings.batch_size, (ids.shape[0] - 1) // self.bptt)
        settings.batch_size = streams
        val_ids = vocab.encode(val_text) if val_text else None

        schedule = self.lr_schedule
        if schedule == "auto":
            schedule = "cosine" if self.max_time is not None else "plateau"
        callbacks = []
        if schedule != "plateau":
            settings.reduce_lr_patience = None
        if schedule == "cosine":
            per_epoch = self.steps_per_epoch or -(-((ids.shape[0] - 1) // streams) // self.bptt)
            callbacks.append(CosineDecay(settings.lr, settings.max_epochs * per_epoch, floor=0.0,
                                         seconds=self.max_time))

        self.vocab_ = vocab
        self.model_ = self._build_model(len(vocab), rng)
        self.history_, keep = train_network(
            self.model_, ids, settings=settings, loss="cross_entropy", val_data=val_ids, metrics=["bpc"],
            callbacks=callbacks, checkpoint=checkpoint, resume=resume, fit_fn=fit_stream, k=self.bptt,
            steps_per_epoch=self.steps_per_epoch)
        counts = np.bincount(ids, minlength=len(vocab))
        freq = counts[counts > 0] / ids.shape[0]
        self.unigram_bpc_ = float(-(freq * np.log2(freq)).sum())
        self.best_epoch_ = int(keep.best_epoch)
        best = self.history_.epochs[self.best_epoch_ - 1] if val_ids is not None else {}
        self.val_bpc_ = float(best.get("val_bpc", math.nan))
        self.n_train_chars_ = int(ids.shape[0])
        self.n_val_chars_ = len(val_text)
        self.start_id_ = int(vocab.stoi["\n"]) if "\n" in vocab.stoi else int(np.argmax(counts))
        return self

    def _build_model(self, V: int, rng):
        from rnnkit.models import CharRNN

        return CharRNN(V, self.hidden_size, self.num_layers, cell=self.cell, embedding_dim=self.embedding_dim,
                       dropout=self.dropout, rng=rng)

    # -- scoring --------------------------------------------------------------------------
    def _bits(self, text, name: str) -> tuple[float, int]:
        """``(total bits, predicted characters)`` of ``text``: each document from a zero
        state, its first character as context only."""
        check_is_fitted(self, "score")
        docs = read_documents(text, name=name)
        ids = [self.vocab_.encode(d) for d in docs]
        logs = self.model_.log_likelihoods(ids, window=512, batch_size=32)
        n = sum(a.shape[0] for a in logs)
        if n == 0:
            raise ValueError(f"{name} must have a document of at least 2 characters (the first one is context), "
                             f"got {len(docs)} document(s) of {sum(len(d) for d in docs)} characters")
        bits = -sum(float(a.sum()) for a in logs) / math.log(2)
        n_unknown = sum(int(np.sum(a[1:] == 0)) for a in ids)             # the unk token is id 0
        bits += n_unknown * math.log2(_N_CODE_POINTS - (len(self.vocab_) - 1))
        return bits, n

    def score(self, text) -> float:
        """Bits per character of ``text`` (lower is better): ``-(1/N) sum_t log2 p(c_{t+1} | c_{<=t})``
        over the ``N`` predicted characters of every document (each from a zero state, its
        first character as context). Unknown characters cost ``-log2 p(unk) + log2 N_unseen``.

        Unlike scikit-learn's scores, lower is better: with ``GridSearchCV`` pass
        ``scoring=lambda est, X, y=None: -est.score(X)``.
        """
        bits, n = self._bits(text, "text")
        return bits / n

    def perplexity(self, text) -> float:
        """Per-character perplexity of ``text``: ``2 ** score(text)``."""
        return 2.0 ** self.score(text)

    # -- generation -----------------------------------------------------------------------
    def generate(self, prime: str = "", length: int = 200, temperature: float = 1.0, top_k: int | None = None,
                 random_state: int | None = None) -> str:
        """``prime`` followed by ``length`` sampled characters.

        Each character is drawn from ``softmax(z / temperature)`` over the ``top_k`` most
        likely characters (None: all; ``temperature = 0``: always the most likely), fed back
        in, and so on; the unknown token is never drawn. ``prime`` sets the state first;
        with ``prime=''`` the model reads one newline (or, if the training text had none,
        its most frequent character), which is not part of the result. The same
        ``random_state`` (an int) gives the same text.
        """
        check_is_fitted(self, "generate")
        if not isinstance(prime, str):
            raise TypeError(f"prime must be a str, got {type(prime).__name__}")
        unknown = sorted({c for c in prime if c not in self.vocab_.stoi or c == self.vocab_.unk})
        if unknown:
            raise ValueError(f"prime has characters never seen in training: {unknown[:10]!r}")
        ids = self.vocab_.encode(prime) if prime else np.array([self.start_id_], np.int64)
        out = self.model_.sample(ids, length, temperature=temperature, top_k=top_k, banned=[0], rng=random_state)
        return prime + self.vocab_.decode(out)

    # -- saving ---------------------------------------------------------------------------
    def _fitted_state(self) -> dict:
        return {"vocab": self.vocab_.to_dict(), "history": self.history_.to_dict(), "best_epoch": self.best_epoch_,
                "val_bpc": self.val_bpc_, "unigram_bpc": self.unigram_bpc_, "n_train_chars": self.n_train_chars_,
                "n_val_chars": self.n_val_chars_, "start_id": self.start_id_}

    def _set_fitted_state(self, state: dict) -> None:
        self.vocab_ = CharVocab.from_dict(state["vocab"])
        self.history_ = History.from_dict(state["history"])
        self.best_epoch_ = int(state["best_epoch"])
        self.val_bpc_ = float(state["val_bpc"])
        self.unigram_bpc_ = float(state["unigram_bpc"])
        self.n_train_chars_ = int(state["n_train_chars"])
        self.n_val_chars_ = int(state["n_val_chars"])
        self.start_id_ = int(state["start_id"])
