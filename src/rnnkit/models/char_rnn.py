"""Character-level language model: :class:`CharRNN` (a token-input, many-to-many SequenceModel)."""

from __future__ import annotations

from rnnkit._checks import check_int
from rnnkit.models.sequence_model import SequenceModel
from rnnkit.serialization import register

__all__ = ["CharRNN"]


class CharRNN(SequenceModel):
    """Character-level language model: ids ``(B, T)`` -> next-id logits ``(B, T, V)``.

    ``SequenceModel(embedding_dim, hidden_size, vocab_size, num_embeddings=vocab_size,
    output='sequence')``; train it with :func:`rnnkit.train.fit_tbptt` on one long stream.

    Example::

        model = CharRNN(65, hidden_size=128, num_layers=2, rng=0)
        logits, state = model(np.zeros((8, 50), np.int64))       # (8, 50, 65)
        text_ids = model.generate(np.array([1, 2, 3]), 100, temperature=0.8, rng=0)
    """

    def __init__(self, vocab_size: int, hidden_size: int = 128, num_layers: int = 2, *, cell: str = "lstm",
                 embedding_dim: int | None = None, dropout: float = 0.0, dtype=None, rng=None):
        vocab_size = check_int("vocab_size", vocab_size, 1)
        emb = min(vocab_size, 64) if embedding_dim is None else embedding_dim
        super().__init__(emb, hidden_size, vocab_size, cell=cell, num_layers=num_layers, dropout=dropout,
                         output="sequence", num_embeddings=vocab_size, dtype=dtype, rng=rng)


register(CharRNN)
