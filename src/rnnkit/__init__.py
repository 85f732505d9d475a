"""rnnkit: RNN, LSTM and GRU with hand-written backpropagation through time.

``from rnnkit import nn`` for the layers; ``rnnkit.no_grad()`` for inference without caches;
``rnnkit.set_backend('numpy' | 'numba')`` to choose the kernels.
"""

from rnnkit import nn
from rnnkit._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from rnnkit.kernels import available_backends, get_backend, set_backend
from rnnkit.serialization import load_model, save_model

__version__ = "0.1.0"

__all__ = [
    "nn", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled",
    "set_backend", "get_backend", "available_backends", "save_model", "load_model", "__version__",
]
