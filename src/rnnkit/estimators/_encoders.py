"""What the sequence estimators fit on the inputs: a per-channel scaler, or a token vocabulary.

``ChannelScaler`` standardises each channel with the mean and standard deviation of the real
steps of the training examples (padding never counts)::

    mean_c = sum_{n, t < L_n} x[n, t, c] / sum_n L_n,    scale_c = std over the same steps (1 if 0)
    z[n, t, c] = (x[n, t, c] - mean_c) / scale_c           (0 at padded steps)

``TokenVocab`` maps the tokens seen in ``fit`` to ids ``1..V`` (sorted when the tokens can be
sorted, else in order of first appearance); id 0 is shared by tokens never seen in fit and by
padding, and its embedding row is zero and never trained, so an unknown token adds "nothing
known" to the sequence rather than a random vector.
"""

from __future__ import annotations

import numpy as np

from rnnkit.data.padding import length_mask

__all__ = ["ChannelScaler", "TokenVocab", "UNKNOWN_ID"]

UNKNOWN_ID = 0


class ChannelScaler:
    """Per-channel standardisation fitted on the real steps; see the module docstring."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        self.mean = np.asarray(mean, np.float64)        # (C,)
        self.scale = np.asarray(scale, np.float64)      # (C,)

    @classmethod
    def fit(cls, padded: np.ndarray, lengths: np.ndarray) -> ChannelScaler:
        real = padded[length_mask(lengths, padded.shape[1], batch_first=True)]      # (sum L, C)
        scale = real.std(axis=0)
        return cls(real.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def transform(self, padded: np.ndarray, lengths: np.ndarray, dtype=np.float32) -> np.ndarray:
        """``(N, T, C)`` standardised, 0 at padded steps, as ``dtype``."""
        z = ((padded - self.mean) / self.scale).astype(dtype)                        # (N, T, C)
        pad = ~length_mask(lengths, padded.shape[1], batch_first=True)
        if pad.any():
            z[pad] = 0
        return z

    def state(self) -> dict:
        return {"mean": self.mean, "scale": self.scale}

    @classmethod
    def from_state(cls, state: dict) -> ChannelScaler:
        return cls(state["mean"], state["scale"])


class TokenVocab:
    """Tokens -> ids ``1..V``; unknown tokens and padding -> 0. See the module docstring."""

    def __init__(self, tokens: list):
        self.tokens = list(tokens)
        self.index = {t: i + 1 for i, t in enumerate(self.tokens)}

    @classmethod
    def fit(cls, sequences: list[list]) -> TokenVocab:
        seen = dict.fromkeys(t for s in sequences for t in s)          # first-appearance order
        try:
            tokens = sorted(seen)
        except TypeError:
            tokens = list(seen)
        return cls(tokens)

    @property
    def size(self) -> int:
        """Rows of the embedding: the tokens plus id 0."""
        return len(self.tokens) + 1

    def encode(self, sequences: list[list]) -> tuple[np.ndarray, np.ndarray, int]:
        """``ids (N, T)`` int64 (0-padded), ``lengths (N,)`` and the number of unknown tokens."""
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        ids = np.zeros((len(sequences), int(lengths.max())), dtype=np.int64)       # (N, T)
        get, unknown = self.index.get, 0
        for n, s in enumerate(sequences):
            row = [get(t, UNKNOWN_ID) for t in s]
            ids[n, :len(row)] = row
            unknown += row.count(UNKNOWN_ID)
        return ids, lengths, unknown

    def state(self) -> dict:
        return {"tokens": self.tokens}

    @classmethod
    def from_state(cls, state: dict) -> TokenVocab:
        return cls(state["tokens"])
