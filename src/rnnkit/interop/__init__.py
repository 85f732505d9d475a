"""rnnkit models to and from PyTorch and Keras 3 (each imported only inside these functions).

- :func:`to_torch` / :func:`from_torch`: ``torch.nn`` modules (rnnkit uses PyTorch's layout,
  so weights copy by name); wrappers for what ``torch.nn`` lacks (merge modes other than concat,
  GRU ``reset_after=False``, the sigmoid RNN, ``lengths``, the ready-made models).
- :func:`to_keras` / :func:`from_keras`: ``SimpleRNN``, ``LSTM``, ``GRU`` (both ``reset_after``
  forms), ``Bidirectional`` (concat, sum, mul, ave), ``Dense``, ``Embedding``, ``Dropout``,
  activations, ``keras.Sequential``: gates reordered, kernels transposed, biases split or joined.

Example::

    from rnnkit import nn
    from rnnkit.interop import to_torch, from_torch

    gru = nn.GRU(3, 8, num_layers=2, bidirectional=True, rng=0)
    t = to_torch(gru)                  # torch.nn.GRU with the same weights
    back = from_torch(t)               # rnnkit nn.GRU, bit-identical weights
"""

from rnnkit.interop._keras import from_keras, to_keras
from rnnkit.interop._torch import from_torch, to_torch

__all__ = ["to_torch", "from_torch", "to_keras", "from_keras"]
