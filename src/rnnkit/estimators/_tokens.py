"""Token sequences for the sequence-to-sequence estimator: checking them, and a vocabulary
with the four special ids an encoder-decoder needs.

A sequence is a ``str`` (each character a token) or a list, tuple or 1-D array of hashable
tokens (NumPy scalars become the Python numbers they hold, so ``np.int64(3)`` is ``3``).
``TokenVocab`` numbers the tokens after the specials::

    PAD = 0 (padding), SOS = 1 (start of output), EOS = 2 (end of output), UNK = 3 (unknown),
    token k of the sorted tokens -> id k + 4

(tokens that cannot be sorted against each other keep their order of first appearance).
"""

from __future__ import annotations

import numpy as np

__all__ = ["PAD", "SOS", "EOS", "UNK", "N_SPECIAL", "TokenVocab", "as_sequences"]

PAD, SOS, EOS, UNK = 0, 1, 2, 3
N_SPECIAL = 4


def as_sequences(X, name: str, allow_empty: bool = False) -> tuple[list[list], bool]:
    """``(sequences as lists of tokens, True when every one was a str)``; clear errors for
    anything else: a lone string, no sequences, an empty sequence (unless ``allow_empty``),
    an unhashable token."""
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be a list of sequences, got a single {type(X).__name__} "
                        f"(wrap one sequence in a list: [{X[:20]!r}])")
    if isinstance(X, np.ndarray) and X.ndim == 2:
        X = list(X)
    if not isinstance(X, (list, tuple)) and not (isinstance(X, np.ndarray) and X.ndim == 1):
        raise TypeError(f"{name} must be a list of sequences (str or lists of tokens), got {type(X).__name__}")
    if len(X) == 0:
        raise ValueError(f"{name} holds no sequences")
    seqs, all_text = [], True
    for i, s in enumerate(X):
        if isinstance(s, str):
            toks = list(s)
        elif isinstance(s, (list, tuple)) or (isinstance(s, np.ndarray) and s.ndim == 1):
            all_text = False
            toks = s.tolist() if isinstance(s, np.ndarray) else [t.item() if isinstance(t, np.generic) else t
                                                                 for t in s]
        else:
            raise TypeError(f"{name}[{i}] must be a str or a list of tokens, got {type(s).__name__}")
        if not toks and not allow_empty:
            raise ValueError(f"{name}[{i}] is empty: every sequence needs at least one token")
        for t in toks:
            try:
                hash(t)
            except TypeError:
                raise TypeError(f"{name}[{i}] holds an unhashable token {t!r} ({type(t).__name__})") from None
        seqs.append(toks)
    return seqs, all_text


class TokenVocab:
    """Tokens <-> ids, ids ``0..3`` being PAD, SOS, EOS, UNK (see the module docstring).

    Example:
        >>> v = TokenVocab.fit([list("cab"), list("ba")])
        >>> v.encode(list("abc")).tolist()
        [4, 5, 6]
        >>> v.decode([6, 4, 2, 0])
        ['c', 'a']
    """

    def __init__(self, tokens):
        self.tokens = list(tokens)
        self.index = {t: i + N_SPECIAL for i, t in enumerate(self.tokens)}
        if len(self.index) != len(self.tokens):
            raise ValueError("tokens must not repeat")

    @classmethod
    def fit(cls, sequences) -> TokenVocab:
        seen = list(dict.fromkeys(t for s in sequences for t in s))
        try:
            seen = sorted(seen, key=lambda t: (type(t).__name__, t))
        except TypeError:
            pass                        # tokens that do not compare: first appearance
        return cls(seen)

    def __len__(self) -> int:
        return N_SPECIAL + len(self.tokens)

    def unknown(self, seq) -> list:
        """The tokens of ``seq`` not in the vocabulary (each once, in order)."""
        return list(dict.fromkeys(t for t in seq if t not in self.index))

    def encode(self, seq) -> np.ndarray:
        """Ids ``(len(seq),)`` int64; unknown tokens become ``UNK``."""
        return np.array([self.index.get(t, UNK) for t in seq], np.int64)

    def decode(self, ids) -> list:
        """The tokens of ``ids`` up to the first EOS; PAD, SOS and UNK ids are skipped."""
        out = []
        for i in np.asarray(ids).tolist():
            if i == EOS:
                break
            if i >= N_SPECIAL:
                out.append(self.tokens[i - N_SPECIAL])
        return out

    def pad(self, seqs, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(ids (N, W) padded with PAD, lengths (N,))`` of encoded sequences."""
        lengths = np.array([len(s) for s in seqs], np.int64)
        W = int(lengths.max()) if width is None else width
        out = np.full((len(seqs), max(W, 1)), PAD, np.int64)
        for i, s in enumerate(seqs):
            out[i, :len(s)] = self.encode(s)
        return out, lengths
