"""The stacked bidirectional rows of ``rnnkit bench``: a 2-layer bidirectional LSTM and GRU on
a variable-length batch (BENCHMARKS.md: B=64, T=100, I=64, H=256, lengths from T/4 to T),
against PyTorch's packed sequences.

rnnkit runs ``layer(x, lengths=lengths)`` (padded steps output zeros and get no gradient) and
``backward(ones)``; PyTorch runs ``pack_padded_sequence(x, lengths, enforce_sorted=False)``,
the layer, ``pad_packed_sequence(..., total_length=T)`` and ``out.sum().backward()``: the same
loss, since the padded outputs are zeros on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit import nn, no_grad
from rnnkit.bench.timing import best_time

__all__ = ["STACKED", "QUICK_STACKED", "StackedRow", "make_rnnkit", "rnnkit_times", "TorchPacked", "stacked_flops"]


@dataclass(frozen=True)
class StackedRow:
    name: str
    T: int
    B: int
    I: int
    H: int
    layers: int = 2


STACKED = StackedRow("2x bi", 100, 64, 64, 256)
QUICK_STACKED = StackedRow("2x bi Q", 8, 4, 8, 16)
STACKED_CELLS = ("LSTM", "GRU")


def make_rnnkit(cell: str, r: StackedRow, seed: int = 0):
    """The layer, x (T, B, I) float32 and lengths (B,) from T/4 to T (the longest is T)."""
    rng = np.random.default_rng(seed)
    layer = getattr(nn, cell)(r.I, r.H, num_layers=r.layers, bidirectional=True, rng=rng)
    x = rng.standard_normal((r.T, r.B, r.I), dtype=np.float32)
    lengths = rng.integers(max(1, r.T // 4), r.T + 1, size=r.B)
    lengths[0] = r.T
    return layer, x, lengths


def _train_step(layer, x, lengths):
    out, _ = layer(x, lengths=lengths)
    return out, layer.backward(np.ones_like(out))


def rnnkit_times(layer, x, lengths, repeat):
    def train():
        layer.zero_grad()
        _train_step(layer, x, lengths)

    def infer():
        with no_grad():
            layer(x, lengths=lengths)

    train()                                              # compile / load the kernels
    return best_time(train, repeat), best_time(infer, repeat)


def stacked_flops(cell: str, r: StackedRow, lengths) -> float:
    """Matrix FLOPs of a training step over the real (unpadded) steps: per layer and direction
    3 * 2 * sum(lengths) * (I_l + H) * G * H, with I_l = I for the first layer, 2H after."""
    G = {"LSTM": 4, "GRU": 3}[cell]
    steps = float(np.sum(lengths))
    return sum(2 * 3.0 * 2 * steps * ((r.I if k == 0 else 2 * r.H) + r.H) * G * r.H for k in range(r.layers))


class TorchPacked:
    """The same row in ``torch.nn`` with packed sequences (same weights and input)."""

    def __init__(self, torch):
        self.torch = torch

    def make(self, cell: str, layer, x, lengths):
        torch = self.torch
        m = getattr(torch.nn, cell)(layer.input_size, layer.hidden_size, num_layers=layer.num_layers,
                                    bidirectional=True)
        m.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in layer.state_dict().items()})
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        return m, xt, torch.from_numpy(np.asarray(lengths, dtype=np.int64))

    def _forward(self, m, xt, lt):
        pack = self.torch.nn.utils.rnn
        packed = pack.pack_padded_sequence(xt, lt, enforce_sorted=False)
        out, _ = m(packed)
        return pack.pad_packed_sequence(out, total_length=xt.shape[0])[0]

    def train_step(self, m, xt, lt):
        m.zero_grad()
        xt.grad = None
        out = self._forward(m, xt, lt)
        out.sum().backward()
        return out

    def times(self, made, repeat):
        m, xt, lt = made

        def infer():
            with self.torch.no_grad():
                self._forward(m, xt, lt)

        return best_time(lambda: self.train_step(m, xt, lt), repeat), best_time(infer, repeat)

    def agreement(self, made, layer, x, lengths) -> dict:
        """Max abs difference of the outputs, and of every gradient relative to its largest entry."""
        m, xt, lt = made
        layer.zero_grad()
        out, (dx, _) = _train_step(layer, x, lengths)
        out_t = self.train_step(m, xt, lt)
        grads = {"input": (dx, xt.grad.numpy())}
        tp = dict(m.named_parameters())
        for name, p in layer.named_parameters():
            grads[name] = (p.grad, tp[name].grad.numpy())
        return {"max_abs_diff_output": float(np.abs(out - out_t.detach().numpy()).max()),
                "max_rel_diff_grad": max(float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
                                         for a, b in grads.values())}
