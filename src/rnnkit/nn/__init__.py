"""Layers, cells, losses and containers (PyTorch's names, explicit backward)."""

from rnnkit.nn import init
from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.module import Module, Parameter
from rnnkit.nn.rnn import GRU, LSTM, RNN

__all__ = ["Module", "Parameter", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "init"]
