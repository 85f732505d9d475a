"""``fit``'s per-step overhead, and ``fit`` end to end against the same training in PyTorch.

Measured on the benchmark grid's M size (T=100, B=32, I=32, H=128), a batch-first
``SequenceModel``-like network (one recurrent layer, a linear head on the last state, MSE, Adam):

1. fit's overhead: everything ``fit`` does per step besides the model's forward/backward, the
   loss and the optimizer's update rule (batch slicing, the checks of the gradients and of the
   update, the commit or undo of the update, metrics, history, callbacks), two ways:
   - by difference: (step inside ``fit`` - bare step) / step inside ``fit``, the bare step being
     ``zero_grad; forward; loss; backward; optimizer.step()`` written by hand on the same batches;
   - by accounting: the time per step spent outside those calls during one ``fit`` (wrapped
     with clocks), which on a busy machine is far steadier than a difference of two runs.
   Both in wall and in process CPU time; the CPU figures are the ones to read on a shared machine.
2. ``fit`` for a few epochs of shuffled mini-batches against the same loop in PyTorch
   (``torch.nn.LSTM(batch_first=True)`` + ``Linear``, ``torch.optim.Adam``, the same weights and
   data), with ``torch.set_num_threads(1)`` and ``(2)``; ratio = torch time / rnnkit time.
   rnnkit runs with the threads the environment gives it: compare the 1-thread row with
   ``RNNKIT_POOL=0 OPENBLAS_NUM_THREADS=1`` set, the 2-thread row with them unset.

Also printed: the cost of the non-finite guard alone (plain ``optimizer.step()``, the copies the
trainer used to take to undo a non-finite update, and ``step_if_finite``), and the cost of the
four batch-first layout flips inside the recurrent layer
(``ascontiguousarray(a.transpose(1, 0, 2))`` of the input, the output, the output's gradient and
the input's gradient, as ``nn.RNNBase`` does them), measured on arrays of the step's shapes.

Times are the minimum over ``--repeats`` interleaved rounds (the machine is shared and noisy);
the OpenBLAS variables are used as they are set in the environment and printed in the header.

Run from the repository root::

    PYTHONPATH=src python3 benchmarks/fit_overhead.py                 # LSTM, the M size, 2 threads
    RNNKIT_POOL=0 OPENBLAS_NUM_THREADS=1 PYTHONPATH=src python3 benchmarks/fit_overhead.py --cell gru
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from rnnkit import nn, optim
from rnnkit.models import SequenceModel
from rnnkit.train import fit

T, B, I, H, O = 100, 32, 32, 128, 1


def data(n_batches: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_batches * B, T, I), dtype=np.float32)
    Y = X[:, -10:, :1].sum(axis=1) / 4                                # (N, 1)
    return X, Y.astype(np.float32)


def make_model(cell: str, seed: int = 0):
    return SequenceModel(I, H, O, cell=cell, output="last", rng=seed)


class Clock:
    """Wall and process CPU seconds of a block; ``per(n)`` divides both."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w0, time.process_time() - self.c0

    def per(self, n: int) -> np.ndarray:
        return np.array([self.wall, self.cpu]) / n


def time_bare(cell: str, X, Y, steps: int) -> np.ndarray:
    """(wall, cpu) seconds per hand-written step (the batches fit sees, pre-sliced)."""
    model = make_model(cell)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.MSELoss()
    batches = [(np.ascontiguousarray(X[i:i + B]), np.ascontiguousarray(Y[i:i + B])) for i in range(0, len(X), B)]

    def step(x, y):
        model.zero_grad()
        pred, _ = model(x)
        crit(pred, y)
        model.backward(crit.backward())
        opt.step()

    step(*batches[0])                                                 # warm
    with Clock() as c:
        for k in range(steps):
            step(*batches[k % len(batches)])
    return c.per(steps)


class Accounting:
    """(wall, cpu) seconds spent inside the model's forward/backward, the loss and the
    optimizer's update rule during a fit: what is not overhead."""

    def __init__(self, model, opt):
        self.inside = np.zeros(2)
        for obj, name in ((model, "forward"), (model, "backward"), (opt, "_update")):
            setattr(obj, name, self._timed(getattr(obj, name)))

    def _timed(self, fn):
        def wrapper(*a, **kw):
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                self.inside += (time.perf_counter() - w0, time.process_time() - c0)
        return wrapper


def time_fit(cell: str, X, Y, epochs: int, account: bool = False):
    """(wall, cpu) seconds per step of ``fit`` (shuffled mini-batches, no validation, no bar);
    with ``account``, also the (wall, cpu) seconds per step spent outside forward/backward/loss/update."""
    model = make_model(cell)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    crit = nn.MSELoss()
    fit(model, (X[:B], Y[:B]), loss=crit, optimizer=opt, epochs=1, batch_size=B, rng=0, progress=False)   # warm
    acc = None
    if account:
        acc = Accounting(model, opt)
        for name in ("forward", "backward"):
            setattr(crit, name, acc._timed(getattr(crit, name)))
    with Clock() as c:
        hist = fit(model, (X, Y), loss=crit, optimizer=opt, epochs=epochs, batch_size=B, rng=0, progress=False)
    n = len(hist.steps)
    per = c.per(n)
    return (per, per - acc.inside / n) if account else per


def time_flips(cell: str) -> float:
    """Seconds per step spent in the four batch-first layout flips of the recurrent layer."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s, dtype=np.float32) for s in ((B, T, I), (T, B, H), (B, T, H), (T, B, I))]
    best = float("inf")
    for _ in range(20):
        t0 = time.perf_counter()
        for a in arrays:
            np.ascontiguousarray(a.transpose(1, 0, 2))
        best = min(best, time.perf_counter() - t0)
    return best


def time_guard(cell: str, repeats: int = 7, n: int = 100) -> tuple[float, float, float]:
    """CPU seconds of one Adam step of the model's parameters: plain ``step()``; guarded as the
    trainer did before (copy every weight and deep-copy the optimizer state, step, check every
    weight); and ``step_if_finite()`` (what fit does now)."""
    import copy

    model = make_model(cell)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = np.full_like(p.data, 1e-3)
    opt.step_if_finite()
    params = list(model.parameters())

    def copies_guard():
        before = [p.data.copy() for p in params]                      # noqa: F841 (kept to undo)
        opt_before = copy.deepcopy(opt.state_dict())                  # noqa: F841
        opt.step()
        assert all(np.all(np.isfinite(p.data)) for p in params)

    out = []
    for f in (opt.step, copies_guard, opt.step_if_finite):
        best = np.inf
        for _ in range(repeats):
            c0 = time.process_time()
            for _ in range(n):
                f()
            best = min(best, (time.process_time() - c0) / n)
        out.append(best)
    return tuple(out)


def time_torch(cell: str, X, Y, epochs: int, threads: int) -> np.ndarray:
    """(wall, cpu) seconds per step of the same training written in PyTorch."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    rnn = getattr(torch.nn, cell.upper())(I, H, batch_first=True)
    head = torch.nn.Linear(H, O)
    src = make_model(cell)
    with torch.no_grad():                                             # the same initial weights as rnnkit's
        for name, p in rnn.named_parameters():
            p.copy_(torch.from_numpy(getattr(src.rnn, name).data))
        head.weight.copy_(torch.from_numpy(src.head.weight.data))
        head.bias.copy_(torch.from_numpy(src.head.bias.data))
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    crit = torch.nn.MSELoss()
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    gen = torch.Generator().manual_seed(0)

    def epoch():
        order = torch.randperm(len(Xt), generator=gen)
        for i in range(0, len(Xt), B):
            idx = order[i:i + B]
            x, y = Xt[idx], Yt[idx]
            opt.zero_grad()
            _, h = rnn(x)
            h_n = h[0] if isinstance(h, tuple) else h                 # (1, B, H)
            loss = crit(head(h_n[-1]), y)
            loss.backward()
            opt.step()
            loss.item()                                               # fit reads every step's loss too

    epoch()                                                           # warm
    with Clock() as c:
        for _ in range(epochs):
            epoch()
    return c.per(epochs * (-(-len(Xt) // B)))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cell", default="lstm", choices=("rnn", "lstm", "gru"))
    ap.add_argument("--batches", type=int, default=16, help="batches per epoch (default 16)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per timed fit / torch run (default 3)")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved rounds; the minimum is kept (default 5)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    args = ap.parse_args(argv)

    env = {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                                      "RNNKIT_POOL", "RNNKIT_BACKEND")}
    print(f"fit overhead, {args.cell.upper()} T={T} B={B} I={I} H={H}, batch-first SequenceModel(output='last'), "
          f"MSE, Adam; {args.batches} batches/epoch, {args.epochs} epochs, min of {args.repeats} rounds")
    print("environment: " + ", ".join(f"{k}={v}" for k, v in env.items()))
    if hasattr(os, "getloadavg"):
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    X, Y = data(args.batches)
    steps = args.batches * args.epochs
    best = {k: np.full(2, np.inf) for k in ("bare", "fit", "torch1", "torch2")}
    accounted = []                                                   # (outside, step) per round
    for _ in range(args.repeats):
        best["bare"] = np.minimum(best["bare"], time_bare(args.cell, X, Y, steps))
        best["fit"] = np.minimum(best["fit"], time_fit(args.cell, X, Y, args.epochs))
        per, out = time_fit(args.cell, X, Y, args.epochs, account=True)
        accounted.append((out, per))
        if not args.no_torch:
            for th in (1, 2):
                best[f"torch{th}"] = np.minimum(best[f"torch{th}"], time_torch(args.cell, X, Y, args.epochs, th))
    flips = time_flips(args.cell)
    plain, copies, staged = time_guard(args.cell)
    outside, outside_step = min(accounted, key=lambda r: r[0][1])     # the round with the least CPU outside
    fit_t, bare_t = best["fit"], best["bare"]
    print(f"bare step (forward + loss + backward + optimizer.step): {bare_t[0] * 1e3:8.3f} ms wall, "
          f"{bare_t[1] * 1e3:8.3f} ms cpu")
    print(f"step inside fit:                                       {fit_t[0] * 1e3:8.3f} ms wall, "
          f"{fit_t[1] * 1e3:8.3f} ms cpu")
    print(f"fit overhead by difference: {(fit_t[0] - bare_t[0]) / fit_t[0] * 100:5.1f}% of the step (wall), "
          f"{(fit_t[1] - bare_t[1]) / fit_t[1] * 100:5.1f}% (cpu); target < 10%")
    print(f"fit overhead by accounting (time outside forward/backward/loss/update rule, best round): "
          f"{outside[0] * 1e3:.3f} ms wall = {outside[0] / outside_step[0] * 100:4.1f}%, "
          f"{outside[1] * 1e3:.3f} ms cpu = {outside[1] / outside_step[1] * 100:4.1f}% of the step; target < 10%")
    print(f"the non-finite guard, CPU per step: plain optimizer.step() {plain * 1e6:.0f} us; with copies of every "
          f"weight and of the optimizer state (the trainer before) {copies * 1e6:.0f} us "
          f"(+{(copies - plain) * 1e6:.0f}); step_if_finite {staged * 1e6:.0f} us (+{(staged - plain) * 1e6:.0f})")
    print(f"batch-first layout flips inside the recurrent layer: {flips * 1e3:.3f} ms per step "
          f"({flips / fit_t[0] * 100:.1f}% of the step; part of the bare step, owned by nn)")
    if not args.no_torch:
        for th in (1, 2):
            t = best[f"torch{th}"]
            print(f"PyTorch {th} thread{'s' if th > 1 else ' '}: {t[0] * 1e3:8.3f} ms wall, {t[1] * 1e3:8.3f} ms cpu "
                  f"per step; ratio torch / rnnkit fit = {t[0] / fit_t[0]:.2f} wall, {t[1] / fit_t[1]:.2f} cpu "
                  "(target >= 1.5)")
    if hasattr(os, "getloadavg"):
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
