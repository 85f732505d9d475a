"""``rnnkit demo``: the library in one short run, on data made here.

1. Equal to PyTorch: RNN, LSTM and GRU outputs and every gradient against ``torch.nn``
   (when torch is installed) with the same weights.
2. Gradients through time: ``||dL/dh_0|| / ||dL/dh_T||`` for RNN (tanh, relu, sigmoid), LSTM
   and GRU on one batch: the vanilla RNN's gradient vanishes, the gated cells keep it.
3. Memory: RNN vs LSTM vs GRU trained with the same budget on a task whose answer depends
   on inputs far back in the sequence; parameter counts (GRU has 3/4 of the LSTM's).
4. Generation: a character-level LSTM trained with truncated BPTT on the Python standard
   library's source, its bits per character against the unigram baseline, and a sample.
"""

from __future__ import annotations

import os
import time

import numpy as np

from rnnkit import datasets, nn, optim
from rnnkit._checks import check_int
from rnnkit.diagnostics import compare_cells
from rnnkit.models import CharRNN, SequenceModel
from rnnkit.train import evaluate, evaluate_tbptt, fit, fit_tbptt

__all__ = ["run_demo"]


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def torch_agreement(seed: int = 0) -> dict[str, float] | None:
    """Max |rnnkit - torch| over outputs, states and all gradients, per cell kind (float32)."""
    try:
        import torch
    except ImportError:
        return None
    rng = np.random.default_rng(seed)
    T, B, I, H = 12, 4, 8, 16
    res = {}
    for kind in ("RNN", "LSTM", "GRU"):
        m = getattr(nn, kind)(I, H, num_layers=2, bidirectional=True, rng=seed)
        tm = getattr(torch.nn, kind)(I, H, num_layers=2, bidirectional=True)
        tm.load_state_dict({k: torch.from_numpy(v) for k, v in m.state_dict().items()})
        x = rng.standard_normal((T, B, I)).astype(np.float32)
        out, _ = m(x)
        d_out = rng.standard_normal(out.shape).astype(np.float32)
        dx, _ = m.backward(d_out)
        tx = torch.from_numpy(x).requires_grad_(True)
        t_out, _ = tm(tx)
        (t_out * torch.from_numpy(d_out)).sum().backward()
        errs = [np.abs(out - t_out.detach().numpy()).max(), np.abs(dx - tx.grad.numpy()).max()]
        tp = dict(tm.named_parameters())
        errs += [np.abs(p.grad - tp[n].grad.numpy()).max() for n, p in m.named_parameters()]
        res[kind] = float(max(errs))
    return res


def _count(model) -> int:
    return sum(p.data.size for p in model.parameters())


def memory_race(epochs: int, n: int, T: int, seed: int) -> list[dict]:
    """Train RNN, LSTM and GRU on the adding problem with one budget; report test MSE."""
    ds = datasets.adding_problem(T=T, n=n, seed=seed, batch_first=True)
    test = datasets.adding_problem(T=T, n=500, seed=seed + 1, batch_first=True)
    rows = []
    for cell in ("rnn", "lstm", "gru"):
        model = SequenceModel(2, 32, 1, cell=cell, output="last", rng=seed)
        t0 = time.perf_counter()
        fit(model, (ds.X, ds.y), loss="mse", optimizer=optim.Adam(model.parameters(), lr=1e-2),
            epochs=epochs, batch_size=32, rng=seed, clip_grad_norm=1.0, progress=False)
        secs = time.perf_counter() - t0
        mse = evaluate(model, (test.X, test.y), loss="mse")["loss"]
        rows.append({"cell": cell.upper(), "params": _count(model), "test_mse": mse, "seconds": secs})
    return rows


def char_model(chars: int, epochs: int, seed: int) -> dict:
    corpus = datasets.stdlib_text(n_chars=chars, seed=seed)
    ids = corpus.ids
    cut = int(len(ids) * 0.9)
    model = CharRNN(len(corpus.vocab), hidden_size=128, num_layers=1, rng=seed)
    t0 = time.perf_counter()
    fit_tbptt(model, ids[:cut], k=64, batch_size=32, loss="cross_entropy",
              optimizer=optim.Adam(model.parameters(), lr=5e-3), epochs=epochs, clip_grad_norm=5.0,
              progress=False)
    secs = time.perf_counter() - t0
    val = evaluate_tbptt(model, ids[cut:], k=256, batch_size=1, loss="cross_entropy", metrics=["bpc"])
    prime = "def "
    sample = corpus.vocab.decode(model.generate(corpus.vocab.encode(prime), 200, temperature=0.7, rng=seed))
    return {"bpc": val["bpc"], "unigram_bpc": corpus.info.get("unigram_bpc"), "seconds": secs,
            "chars": len(ids), "sample": prime + sample}


def run_demo(*, quick: bool = False, seed: int = 0, out_dir: str | None = None) -> dict:
    """Run the four parts, print a report, and return the figures."""
    import rnnkit

    check_int("seed", seed, 0)
    results: dict = {"backend": rnnkit.get_backend()}
    _say(f"rnnkit {rnnkit.__version__} demo (kernels: {results['backend']})\n")

    _say("1. Equal to PyTorch (2-layer bidirectional, float32, outputs + every gradient)")
    agree = torch_agreement(seed)
    results["torch_max_abs_diff"] = agree
    if agree is None:
        _say("   torch is not installed: skipped (the test suite checks stored PyTorch fixtures)")
    else:
        for k, v in agree.items():
            _say(f"   {k:5s} max |rnnkit - torch| = {v:.2e}")

    T = 30 if quick else 100
    _say(f"\n2. Gradient reaching step 0 from a loss at step {T} (||dL/dh_0|| / ||dL/dh_T||)")
    flows = compare_cells(T=T, H=32, seed=seed)
    results["gradient_ratio"] = {k: float(f.first_to_last()) for k, f in flows.items()}
    for k, v in results["gradient_ratio"].items():
        _say(f"   {k:12s} {v:9.2e}")
    if out_dir:
        from rnnkit.diagnostics import plot_gradient_flow
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, "gradient_flow.png")
        plot_gradient_flow(flows, path)
        _say(f"   plot: {path}")

    epochs, n, T = (2, 300, 20) if quick else (12, 2000, 50)
    _say(f"\n3. Memory: the adding problem, T={T} (predicting the mean scores MSE ~0.17; solved < 0.01)")
    race = memory_race(epochs, n, T, seed)
    results["adding_problem"] = race
    _say(f"   {'cell':5s} {'params':>7s} {'test MSE':>9s} {'train s':>8s}")
    for r in race:
        _say(f"   {r['cell']:5s} {r['params']:7d} {r['test_mse']:9.4f} {r['seconds']:8.1f}")

    chars, ep = (5_000, 1) if quick else (1_000_000, 3)
    _say(f"\n4. Generation: a char-LSTM (H=128) on {chars:,} characters of the stdlib's source, truncated BPTT k=64")
    cm = char_model(chars, ep, seed)
    results["char_model"] = cm
    base = cm["unigram_bpc"]
    base_s = f" (unigram baseline {base:.2f})" if base is not None else ""
    _say(f"   validation bits/char {cm['bpc']:.2f}{base_s}, trained in {cm['seconds']:.1f} s")
    _say("   sample (temperature 0.7):")
    for line in cm["sample"].splitlines()[:8]:
        _say("   | " + line)
    return results
