"""One benchmark row for rnnkit and for PyTorch: a training step, inference, a stream step,
the agreement of outputs and gradients, and the peak memory of a training step.

rnnkit is driven through its public layer API (``nn.LSTM`` etc.: forward, then
``backward(ones)``, i.e. ``loss = out.sum()``), PyTorch through ``torch.nn`` in the same
process with the same weights and input.

Peak memory: the largest total size of arrays (rnnkit: every NumPy allocation, traced by
``tracemalloc``) or tensors (PyTorch: CPU allocations, from the profiler's memory events)
alive at once during one training step, minus what was alive before it (weights, input).
Library-internal scratch that is not a NumPy array or a torch tensor (oneDNN workspaces,
BLAS packing buffers) is not counted on either side.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tracemalloc
import warnings

import numpy as np

from rnnkit import nn, no_grad
from rnnkit.bench.grid import STREAM, Row
from rnnkit.bench.timing import best_time
from rnnkit.kernels import _workspace as workspace


def layer_class(kind: str) -> type:
    """The ``rnnkit.nn`` layer (not the cell) of a registered kind (``'minGRU'`` -> ``nn.MinGRU``).

    >>> layer_class("minGRU").__name__, layer_class("LSTM").__name__
    ('MinGRU', 'LSTM')
    """
    for name in nn.__all__:
        c = getattr(nn, name)
        if isinstance(c, type) and getattr(c, "mode", None) == kind and not name.endswith("Cell"):
            return c
    raise ValueError(f"no rnnkit.nn layer runs the cell kind {kind!r}")


def make_rnnkit(cell: str, r: Row, seed: int = 0):
    rng = np.random.default_rng(seed)
    layer = layer_class(cell)(r.I, r.H, rng=rng)
    x = rng.standard_normal((r.T, r.B, r.I), dtype=np.float32)
    return layer, x


def rnnkit_train_step(layer, x):
    out, _ = layer(x)
    return layer.backward(np.ones_like(out))


def rnnkit_times(layer, x, repeat):
    def train():
        layer.zero_grad()
        rnnkit_train_step(layer, x)

    def infer():
        with no_grad():
            layer(x)

    return best_time(train, repeat), best_time(infer, repeat)


def rnnkit_peak_bytes(layer, x) -> int:
    rnnkit_train_step(layer, x)              # warm: grads allocated, nothing compiled inside
    workspace.release()                      # the step's reused arrays are allocated (and traced) again
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        rnnkit_train_step(layer, x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return int(peak - base)


def rnnkit_stream_time(repeat, seed: int = 0) -> float:
    """Seconds per step of an LSTMCell stepped at B=1 in eval() with the state carried."""
    rng = np.random.default_rng(seed)
    cell = nn.LSTMCell(STREAM["I"], STREAM["H"], rng=rng).eval()
    xs = rng.standard_normal((STREAM["steps"], 1, STREAM["I"]), dtype=np.float32)

    def run():
        state = None
        for x in xs:
            state = cell(x, state)

    return best_time(run, repeat) / STREAM["steps"]


@contextlib.contextmanager
def _quiet():
    """Silence the torch profiler's own output (kineto's lines on fds 1 and 2, its warnings)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)


class TorchPeer:
    """The same measurements on ``torch.nn`` (float32, CPU)."""

    def __init__(self, torch):
        self.torch = torch

    def supports(self, cell: str) -> bool:
        """Whether ``torch.nn`` has the kind (IndRNN, minGRU, ... have no PyTorch layer)."""
        return hasattr(self.torch.nn, cell)

    def make(self, cell: str, layer, x):
        torch = self.torch
        m = getattr(torch.nn, cell)(layer.input_size, layer.hidden_size)
        m.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in layer.state_dict().items()})
        xt = torch.from_numpy(x.copy()).requires_grad_(True)
        return m, xt

    def train_step(self, m, xt):
        m.zero_grad()
        xt.grad = None
        out, _ = m(xt)
        out.sum().backward()
        return out

    def times(self, m, xt, repeat):
        torch = self.torch

        def infer():
            with torch.no_grad():
                m(xt)

        return best_time(lambda: self.train_step(m, xt), repeat), best_time(infer, repeat)

    def peak_bytes(self, m, xt) -> int:
        torch = self.torch
        self.train_step(m, xt)
        with _quiet(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                              profile_memory=True) as prof:
            self.train_step(m, xt)
        events = sorted(
            (e for e in prof.events() if getattr(e, "cpu_memory_usage", 0)),
            key=lambda e: e.time_range.start,
        )
        live = peak = 0
        for e in events:
            live += e.cpu_memory_usage
            peak = max(peak, live)
        return int(peak)

    def stream_time(self, repeat, seed: int = 0) -> float:
        torch = self.torch
        cell = torch.nn.LSTMCell(STREAM["I"], STREAM["H"])
        xs = torch.from_numpy(np.random.default_rng(seed).standard_normal((STREAM["steps"], 1, STREAM["I"]),
                                                                          dtype=np.float32))

        def run():
            with torch.no_grad():
                state = None
                for x in xs:
                    state = cell(x, state)

        return best_time(run, repeat) / STREAM["steps"]


def agreement(peer: TorchPeer, layer, x, m, xt) -> dict:
    """Max abs difference of the outputs, and of every gradient relative to its largest entry."""
    layer.zero_grad()
    out, _ = layer(x)
    dx = layer.backward(np.ones_like(out))[0]
    out_t = peer.train_step(m, xt)
    d_out = float(np.abs(out - out_t.detach().numpy()).max())
    grads = {"input": (dx, xt.grad.numpy())}
    tp = dict(m.named_parameters())
    for name, p in layer.named_parameters():
        grads[name] = (p.grad, tp[name].grad.numpy())
    d_grad = max(float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)) for a, b in grads.values())
    return {"max_abs_diff_output": d_out, "max_rel_diff_grad": d_grad}
