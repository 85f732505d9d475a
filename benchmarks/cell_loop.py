"""A cell unrolled by hand in a Python loop against the layer doing the same sequence (issue 9).

For RNN/GRU/LSTM at a few sizes: ``cell(x_t, state)`` for t < T (then ``cell.backward`` T times
in reverse order) against one call of the layer (and its ``backward``) on the same (T, B, I)
sequence, forward only (``no_grad``) and forward + backward; PyTorch's cells in the same loop
and its layer as peers. Printed per step (time / T), with ``cell/layer`` = layer time / cell-loop
time (the target: >= 1, the cell loop per step no slower than the layer) and ``torch/cell`` =
torch's cell loop / rnnkit's cell loop.

Also the streaming figure: ``LSTMCell`` B=1 H=128, one step under ``no_grad`` against
``torch.nn.LSTMCell`` under ``torch.no_grad()`` (target: torch / rnnkit >= 5).

Times are the minimum over ``--repeats`` interleaved rounds, wall and process CPU time (the
machine is shared: read the CPU column and the load average printed). The environment's
OpenBLAS variables and ``RNNKIT_POOL`` are used as set.

Run from the repository root::

    PYTHONPATH=src python3 benchmarks/cell_loop.py
    PYTHONPATH=src python3 benchmarks/cell_loop.py --kinds lstm --repeats 5
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import rnnkit
from rnnkit import nn

SIZES = ((256, 256, 64, 50), (128, 128, 32, 50), (128, 128, 1, 50))     # (I, H, B, T)
KINDS = {"rnn": ("RNNCell", "RNN"), "gru": ("GRUCell", "GRU"), "lstm": ("LSTMCell", "LSTM")}


def best(fn, repeats: int, inner: int = 1) -> np.ndarray:
    """(wall, cpu) seconds of one call of ``fn``: the minimum over ``repeats`` rounds of ``inner`` calls."""
    fn()                                                                  # warm (compiles on first use)
    out = np.full(2, np.inf)
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(inner):
            fn()
        out = np.minimum(out, np.array([time.perf_counter() - w0, time.process_time() - c0]) / inner)
    return out


def rnnkit_runs(kind: str, I: int, H: int, B: int, T: int):
    """{'cell fwd', 'cell fwd+bwd', 'layer fwd', 'layer fwd+bwd'} -> a no-argument function."""
    cell_name, layer_name = KINDS[kind]
    cell = getattr(nn, cell_name)(I, H, rng=0)
    layer = getattr(nn, layer_name)(I, H, rng=0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I), dtype=np.float32)
    lstm = kind == "lstm"
    zero = np.zeros((B, H), np.float32)
    s0 = (zero, zero) if lstm else zero
    d_last = (np.ones((B, H), np.float32), None) if lstm else np.ones((B, H), np.float32)

    def cell_forward():
        s = s0
        for t in range(T):
            s = cell(x[t], s)
        return s

    def cell_fwd():
        with rnnkit.no_grad():
            cell_forward()

    def cell_train():
        cell_forward()
        d = d_last
        for _ in range(T):
            _, d = cell.backward(d)

    def layer_fwd():
        with rnnkit.no_grad():
            layer(x)

    def layer_train():
        out, _ = layer(x)
        d_out = np.zeros_like(out)
        d_out[-1] = 1.0                                                   # the same loss: sum of the last h
        layer.backward(d_out)

    return {"cell fwd": cell_fwd, "cell fwd+bwd": cell_train, "layer fwd": layer_fwd, "layer fwd+bwd": layer_train}


def torch_runs(kind: str, I: int, H: int, B: int, T: int):
    """{'torch cell fwd', 'torch cell fwd+bwd', 'torch layer fwd', 'torch layer fwd+bwd'} -> function."""
    import torch

    cell_name, layer_name = KINDS[kind]
    torch.manual_seed(0)
    cell = getattr(torch.nn, cell_name)(I, H)
    layer = getattr(torch.nn, layer_name)(I, H)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((T, B, I), dtype=np.float32))
    lstm = kind == "lstm"

    def cell_forward():
        s = None
        for t in range(T):
            s = cell(x[t], s)
        return s[0] if lstm else s

    def cell_fwd():
        with torch.no_grad():
            cell_forward()

    def cell_train():
        cell_forward().sum().backward()

    def layer_fwd():
        with torch.no_grad():
            layer(x)

    def layer_train():
        out, _ = layer(x)
        out[-1].sum().backward()

    return {"torch cell fwd": cell_fwd, "torch cell fwd+bwd": cell_train, "torch layer fwd": layer_fwd,
            "torch layer fwd+bwd": layer_train}


def streaming(repeats: int, n: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    """(wall, cpu) seconds of one LSTMCell(128, 128) step at B=1 under no_grad: rnnkit, torch."""
    import torch

    cell = nn.LSTMCell(128, 128, rng=0)
    x = np.random.default_rng(0).standard_normal((1, 128), dtype=np.float32)
    s = (np.zeros((1, 128), np.float32), np.zeros((1, 128), np.float32))

    def ours():
        with rnnkit.no_grad():
            for _ in range(n):
                cell(x, s)

    tcell = torch.nn.LSTMCell(128, 128)
    tx = torch.from_numpy(x)
    ts = (torch.zeros(1, 128), torch.zeros(1, 128))

    def theirs():
        with torch.no_grad():
            for _ in range(n):
                tcell(tx, ts)

    return best(ours, repeats) / n, best(theirs, repeats) / n


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kinds", default="lstm,gru,rnn", help="comma-separated: lstm, gru, rnn (default all)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds; the minimum is kept (default 3)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch peers")
    args = ap.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    for k in kinds:
        if k not in KINDS:
            raise SystemExit(f"--kinds: expected some of {', '.join(KINDS)}, got {k!r}")
    env = {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "RNNKIT_POOL")}
    print("cell loop vs layer, float32, per step (time / T); min of", args.repeats, "rounds")
    print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if not args.no_torch:
        import torch

        torch.set_num_threads(int(os.environ.get("OPENBLAS_NUM_THREADS", os.cpu_count() or 1)))
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    head = (f"{'kind':5} {'I':>4} {'H':>4} {'B':>3} {'T':>3}  {'pass':8} {'cell us':>9} {'(cpu)':>9} "
            f"{'layer us':>9} {'(cpu)':>9} {'cell/layer':>10}")
    if not args.no_torch:
        head += f" {'torch cell':>10} {'torch lay':>10} {'torch/cell':>10}"
    print(head)
    for kind in kinds:
        for I, H, B, T in SIZES:
            runs = rnnkit_runs(kind, I, H, B, T)
            peers = {} if args.no_torch else torch_runs(kind, I, H, B, T)
            for pas in ("fwd", "fwd+bwd"):
                c = best(runs[f"cell {pas}"], args.repeats) / T
                lay = best(runs[f"layer {pas}"], args.repeats) / T
                line = (f"{kind:5} {I:4d} {H:4d} {B:3d} {T:3d}  {pas:8} {c[0] * 1e6:9.1f} {c[1] * 1e6:9.1f} "
                        f"{lay[0] * 1e6:9.1f} {lay[1] * 1e6:9.1f} {lay[0] / c[0]:10.2f}")
                if peers:
                    tc = best(peers[f"torch cell {pas}"], args.repeats) / T
                    tl = best(peers[f"torch layer {pas}"], args.repeats) / T
                    line += f" {tc[0] * 1e6:10.1f} {tl[0] * 1e6:10.1f} {tc[0] / c[0]:10.2f}"
                print(line, flush=True)
    if not args.no_torch:
        ours, theirs = streaming(args.repeats)
        print(f"streaming LSTMCell(128, 128) B=1 no_grad step: rnnkit {ours[0] * 1e6:.2f} us "
              f"({ours[1] * 1e6:.2f} cpu), torch {theirs[0] * 1e6:.2f} us ({theirs[1] * 1e6:.2f} cpu); "
              f"torch / rnnkit = {theirs[0] / ours[0]:.1f} (target >= 5)")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
