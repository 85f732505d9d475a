"""Lookup table :class:`Embedding`: integer ids -> learned vectors (PyTorch's API)."""

from __future__ import annotations

import numpy as np

from rnnkit._checks import as_float_array, as_rng, check_bool, check_int, check_shape, owned
from rnnkit.nn.module import Module, Parameter, _as_float_dtype
from rnnkit.nn.rnn import _check_device

__all__ = ["Embedding"]


def _as_indices(x, num: int) -> np.ndarray:
    """Integer ids in ``[0, num)`` as an int64 array; anything else raises naming ``input``."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor
        x = x.detach().cpu().numpy()
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"input must be an integer array of ids, got {type(x).__name__}")
    a = np.asarray(x)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"input must hold integer ids (an integer dtype), got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= num):
        raise ValueError(
            f"input ids must be in [0, {num - 1}] (num_embeddings={num}), got min {a.min()} max {a.max()}"
        )
    return a.astype(np.int64, copy=False)


class Embedding(Module):
    r"""A table of ``num_embeddings`` vectors of size ``embedding_dim``: ``y[...] = W[ids[...]]``.

    Shapes: ``ids`` of any shape and integer dtype (for example ``(T, B)`` tokens) ->
    ``(..., E)``. ``weight (num_embeddings, E)`` ~ N(0, 1) as in PyTorch; the row
    ``padding_idx`` (negative values count from the end) starts at zero and never receives a
    gradient, so it stays zero during training.

    ``backward(dy)`` scatter-adds ``dy`` into the rows that were looked up (an id used k times
    gets the sum of its k gradients) and returns ``None``: ids are not differentiable.

    Example::

        emb = nn.Embedding(100, 16, padding_idx=0)
        y = emb(np.array([[1, 2], [5, 0]]))       # (2, 2, 16); y[1, 1] is all zeros
        assert emb.backward(np.ones_like(y)) is None   # emb.weight.grad (100, 16)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 device=None, dtype=None, *, rng=None):
        super().__init__()
        _check_device(device)
        self.num_embeddings = check_int("num_embeddings", num_embeddings, 1)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, 1)
        if padding_idx is not None:
            padding_idx = check_int("padding_idx", padding_idx)
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"padding_idx must be in [-{self.num_embeddings}, {self.num_embeddings - 1}], "
                    f"got {padding_idx}"
                )
            padding_idx %= self.num_embeddings
        self.padding_idx = padding_idx
        self.dtype = _as_float_dtype(dtype)
        self.weight = Parameter(np.zeros((self.num_embeddings, self.embedding_dim), self.dtype))
        self.reset_parameters(rng)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None, dtype=None):
        """An Embedding holding a copy of ``embeddings (num, E)``; ``freeze`` turns off its gradient.

        ``dtype`` defaults to the array's own when it is float32/float64, else float32.
        """
        check_bool("freeze", freeze)
        if dtype is None:
            dtype = getattr(embeddings, "dtype", np.float32)
            dtype = dtype if np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.float64)) else np.float32
        w = as_float_array("embeddings", embeddings, _as_float_dtype(dtype))
        if w.ndim != 2 or 0 in w.shape:
            raise ValueError(f"embeddings must be a non-empty 2-D array (num, dim), got shape {w.shape}")
        emb = cls(w.shape[0], w.shape[1], padding_idx=padding_idx, dtype=w.dtype, rng=0)
        emb.weight.data = w.copy()
        emb.weight.requires_grad = not freeze
        return emb

    def reset_parameters(self, rng=None) -> None:
        """Re-draw the weight from N(0, 1) and zero the ``padding_idx`` row."""
        self.weight.data = as_rng(rng).standard_normal(self.weight.shape).astype(self.dtype)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input):
        ids = _as_indices(input, self.num_embeddings)
        y = self.weight.data[ids]                                   # (..., E)
        if self.keeps_cache:
            self._push(owned(ids, input))
        return y

    def backward(self, d_output):
        """Scatter-add ``d_output (..., E)`` into ``weight.grad``; returns ``None``."""
        ids = self._peek()    # popped once the arguments pass
        d = as_float_array("d_output", d_output, self.dtype)
        check_shape("d_output", d, ids.shape + (self.embedding_dim,))
        self._pop()
        if not self.weight.requires_grad:
            return None
        g = np.zeros_like(self.weight.data)                         # (num, E)
        np.add.at(g, ids.reshape(-1), d.reshape(-1, self.embedding_dim))
        if self.padding_idx is not None:
            g[self.padding_idx] = 0
        self.weight.accumulate(g)
        return None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.dtype != np.float32:
            s += f", dtype={self.dtype}"
        return s
