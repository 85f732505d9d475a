"""Layers, cells, losses and containers (PyTorch's names, explicit backward)."""

from rnnkit.nn import init
from rnnkit.nn.activation import Identity, ReLU, Sigmoid, Tanh
from rnnkit.nn.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.nn.container import Sequential
from rnnkit.nn.cross_entropy import CrossEntropyLoss
from rnnkit.nn.dropout import Dropout
from rnnkit.nn.embedding import Embedding
from rnnkit.nn.indrnn import IndRNN, IndRNNCell
from rnnkit.nn.layernorm_rnn import LayerNormGRU, LayerNormGRUCell, LayerNormLSTM, LayerNormLSTMCell
from rnnkit.nn.linear import Linear
from rnnkit.nn.loss import BCEWithLogitsLoss, HuberLoss, L1Loss, Loss, MSELoss
from rnnkit.nn.minrnn import MinGRU, MinGRUCell, MinLSTM, MinLSTMCell
from rnnkit.nn.module import Module, Parameter
from rnnkit.nn.noise import GaussianNoise
from rnnkit.nn.peephole import PeepholeLSTM, PeepholeLSTMCell
from rnnkit.nn.pooling import TemporalPooling
from rnnkit.nn.rnn import GRU, LSTM, RNN
from rnnkit.nn.sequence import FinalState, Flatten, LastStep, WindowMLP, length_mask
from rnnkit.nn.sru import SRU, SRUCell

__all__ = [
    "Module", "Parameter", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "init",
    "IndRNN", "IndRNNCell", "MinGRU", "MinGRUCell", "MinLSTM", "MinLSTMCell", "SRU", "SRUCell",
    "LayerNormLSTM", "LayerNormLSTMCell", "LayerNormGRU", "LayerNormGRUCell",
    "PeepholeLSTM", "PeepholeLSTMCell",
    "Linear", "Embedding", "Dropout", "Tanh", "ReLU", "Sigmoid", "Identity", "Sequential",
    "LastStep", "FinalState", "Flatten", "WindowMLP", "length_mask", "TemporalPooling", "GaussianNoise",
    "Loss", "MSELoss", "L1Loss", "HuberLoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
]
