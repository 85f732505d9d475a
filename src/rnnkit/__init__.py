"""rnnkit: RNN, LSTM and GRU with hand-written backpropagation through time.

- ``rnnkit.nn``: layers, cells, losses (PyTorch's API, explicit ``backward``)
- ``rnnkit.optim``: optimizers, gradient clipping, LR schedules
- ``rnnkit.train``: ``fit``, truncated BPTT, callbacks, checkpoints
- ``rnnkit.estimators``: forecasters, classifiers, taggers, text models on your data
  (``est.save(path)``, ``rnnkit.load(path)``)
- ``rnnkit.models``: ready-made networks (``SequenceModel``, ``CharRNN``, ``Seq2Seq``)
- ``rnnkit.data`` / ``rnnkit.datasets``: padding, batching, windows; sequence tasks
- ``rnnkit.diagnostics``: gradient flow through time, gate statistics, plots
- ``rnnkit.no_grad()`` for inference without caches; ``rnnkit.set_backend('numpy' | 'numba')``
  to choose the kernels; ``rnnkit.save_model`` / ``rnnkit.load_model``.
"""

from rnnkit import data, datasets, diagnostics, estimators, models, nn, optim, train
from rnnkit._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from rnnkit.errors import FileFormatError, NotFittedError
from rnnkit.estimators import load
from rnnkit.kernels import available_backends, get_backend, set_backend
from rnnkit.serialization import load_model, save_model

__version__ = "0.1.0"

__all__ = [
    "nn", "optim", "train", "models", "data", "datasets", "diagnostics",
    "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
    "set_backend", "get_backend", "available_backends", "save_model", "load_model", "load", "estimators",
    "FileFormatError", "NotFittedError", "__version__",
]
