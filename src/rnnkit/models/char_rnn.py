"""Character-level language model: :class:`CharRNN` (a token-input, many-to-many SequenceModel),
with sampling (temperature, top-k, banned ids) and exact per-character log-likelihoods."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_rng, check_float_range, check_int
from rnnkit._grad_mode import inference_mode
from rnnkit.models.sequence_model import SequenceModel
from rnnkit.serialization import register

__all__ = ["CharRNN"]


def _state_rows(state, m: int):
    """The first ``m`` batch rows of a recurrent state ``(L*D, B, H)`` (a tuple for LSTM)."""
    if isinstance(state, tuple):
        return tuple(s[:, :m] for s in state)
    return state[:, :m]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)                             # (..., V)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class CharRNN(SequenceModel):
    """Character-level language model: ids ``(B, T)`` -> next-id logits ``(B, T, V)``.

    ``SequenceModel(embedding_dim, hidden_size, vocab_size, num_embeddings=vocab_size,
    output='sequence')``; train it with :func:`rnnkit.train.fit_tbptt` on one long stream.
    The model gives ``p(c_{t+1} | c_{<=t}) = softmax(logits_t)``.

    Example:
        >>> import numpy as np
        >>> model = CharRNN(65, hidden_size=32, num_layers=2, rng=0)
        >>> logits, state = model(np.zeros((8, 50), np.int64))
        >>> logits.shape
        (8, 50, 65)
        >>> model.sample(np.array([1, 2, 3]), 10, temperature=0.8, rng=0).shape
        (10,)
    """

    def __init__(self, vocab_size: int, hidden_size: int = 128, num_layers: int = 2, *, cell: str = "lstm",
                 embedding_dim: int | None = None, dropout: float = 0.0, dtype=None, rng=None):
        vocab_size = check_int("vocab_size", vocab_size, 1)
        emb = min(vocab_size, 64) if embedding_dim is None else embedding_dim
        super().__init__(emb, hidden_size, vocab_size, cell=cell, num_layers=num_layers, dropout=dropout,
                         output="sequence", num_embeddings=vocab_size, dtype=dtype, rng=rng)

    @property
    def vocab_size(self) -> int:
        return self.head.out_features

    def _check_ids(self, name: str, ids, min_len: int) -> np.ndarray:
        a = np.asarray(ids)
        if a.ndim != 1 or a.shape[0] < min_len or not np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
            raise ValueError(f"{name} must be a 1-D integer array of at least {min_len} ids, "
                             f"got shape {a.shape} dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= self.vocab_size):
            raise ValueError(f"{name} ids must be in [0, {self.vocab_size}), got min {a.min()} max {a.max()}")
        return a.astype(np.int64, copy=False)

    # -- sampling -----------------------------------------------------------------------
    def sample(self, prime, length: int, *, temperature: float = 1.0, top_k: int | None = None,
               banned=(), rng=None) -> np.ndarray:
        """Sample ``length`` ids after the prime ids ``(Tp,)``, feeding each one back in.

        Each step draws from ``p_i ∝ exp(z_i / temperature)`` over the ``top_k`` largest
        logits ``z`` (None: all), never from the ``banned`` ids; ``temperature = 0`` takes
        the argmax. Runs in eval mode under ``no_grad``; ``rng`` is a Generator or an int
        seed, so the same seed gives the same ids.
        """
        prime = self._check_ids("prime", prime, 1)
        length = check_int("length", length, 0)
        temperature = check_float_range("temperature", temperature, 0.0, 1e6)
        V = self.vocab_size
        if top_k is not None:
            top_k = check_int("top_k", top_k, 1)
        ban = np.zeros(V, bool)
        ban[self._check_ids("banned", np.asarray(list(banned), np.int64), 0)] = True
        if ban.all():
            raise ValueError("banned leaves no id to sample")
        rng = as_rng(rng)
        out = np.empty(length, np.int64)
        with inference_mode(self):
            logits, state = self(prime[None, :])                          # (1, Tp, V)
            for t in range(length):
                z = logits[0, -1].astype(np.float64)                      # (V,)
                z[ban] = -np.inf
                if top_k is not None and top_k < V:
                    z[z < np.partition(z, V - top_k)[V - top_k]] = -np.inf
                if temperature == 0:
                    out[t] = int(np.argmax(z))
                else:
                    p = np.exp((z - z.max()) / temperature)
                    out[t] = rng.choice(V, p=p / p.sum())
                logits, state = self(out[None, t:t + 1], state)           # (1, 1, V)
        return out

    # -- likelihood ---------------------------------------------------------------------
    def log_likelihoods(self, sequences, window: int = 256, batch_size: int = 32) -> list[np.ndarray]:
        """Natural-log probabilities of every next id: ``[log p(s[t+1] | s[:t+1]) for t]``.

        ``sequences``: a list of 1-D id arrays (each read from a zero state, at least one id);
        returns one float64 array ``(S_i - 1,)`` per sequence, the first id being context
        only. Exact: the state is carried over the whole sequence (``window`` steps per
        forward call), and up to ``batch_size`` sequences run side by side (sorted by
        length; a finished one leaves the batch).
        """
        window = check_int("window", window, 1)
        batch_size = check_int("batch_size", batch_size, 1)
        seqs = [self._check_ids(f"sequences[{i}]", s, 1) for i, s in enumerate(sequences)]
        result: list[np.ndarray] = [np.empty(0)] * len(seqs)
        order = sorted(range(len(seqs)), key=lambda i: -seqs[i].shape[0])
        with inference_mode(self):
            for g in range(0, len(order), batch_size):
                group = order[g:g + batch_size]
                n = np.array([seqs[i].shape[0] - 1 for i in group])        # predictions per row, descending
                ids = np.zeros((len(group), n[0] + 1), np.int64)           # (G, S_max)
                for r, i in enumerate(group):
                    ids[r, :n[r] + 1] = seqs[i]
                out = np.zeros((len(group), max(n[0], 0)))                 # (G, S_max - 1)
                state = None
                for s in range(0, n[0], window):
                    m = int(np.sum(n > s))                                 # rows with steps left
                    lens = np.minimum(n[:m] - s, window)                   # (m,) in [1, window]
                    k = int(lens[0])
                    if state is not None:
                        state = _state_rows(state, m)
                    logits, state = self(ids[:m, s:s + k], state, lengths=lens)   # (m, k, V)
                    logp = _log_softmax(logits)
                    tgt = ids[:m, s + 1:s + 1 + k]                                # (m, k)
                    out[:m, s:s + k] = np.take_along_axis(logp, tgt[..., None], axis=-1)[..., 0]
                for r, i in enumerate(group):
                    result[i] = out[r, :n[r]].copy()
        return result


register(CharRNN)
