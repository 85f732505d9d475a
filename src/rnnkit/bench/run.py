"""The benchmark loop: GEMM rate, every (cell, row), the stacked bidirectional rows, the stream
step, the GEMM rate again, then the peak memory (last: the torch profiler slows torch down)."""

from __future__ import annotations

import contextlib

from rnnkit.bench import grid, machine, report, runners, stacked
from rnnkit.bench.jax_peer import JaxPeer, import_jax
from rnnkit.bench.timing import gemm_gflops

MEMORY_METHOD = runners.__doc__.split("Peak memory: ", 1)[1].strip().replace("\n", " ")


def _import_torch(use_torch):
    if not use_torch:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


def _thread_limit(threads, torch):
    if threads is None:
        return contextlib.nullcontext()
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(threads)


def _ratio_note(entry) -> str:
    """`` (ratio 1.23 vs torch)``, or nothing without a peer."""
    return "" if entry.get("ratio") is None else f" (ratio {entry['ratio']:.2f} vs {entry['best_peer']})"


def _entry(own, peers: dict) -> dict:
    """Times of rnnkit and of each peer (None: absent), the best peer and the ratio to it."""
    e = {"rnnkit_s": own, "torch_s": peers.get("torch"), "jax_s": peers.get("jax"), "ratio": None,
         "best_peer": None}
    present = {k: v for k, v in peers.items() if v is not None}
    if present:
        e["best_peer"] = min(present, key=present.get)
        e["ratio"] = present[e["best_peer"]] / own
    return e


def _targets(results) -> list[str]:
    out = []
    for r in results["rows"] + results.get("stacked", []):
        need = grid.target(r["cell"], r["row"])
        for kind in ("train", "infer"):
            v = r[kind].get("ratio")
            if v is not None:
                out.append(f"{kind} {r['cell']} {r['row']} {v:.2f} >= {need} {'ok' if v >= need else 'MISSED'}")
        agr = r.get("agreement")
        if agr:
            tol = grid.EQUALITY_TOLERANCE
            ok = agr["max_abs_diff_output"] <= tol and agr["max_rel_diff_grad"] <= tol
            out.append(f"equal {r['cell']} {r['row']} {'ok' if ok else 'MISSED'}")
        if r["row"] == "XL":
            f = r["train"]["roofline_fraction"]
            need = grid.XL_GEMM_FRACTION_TARGET
            out.append(f"GEMM fraction {r['cell']} XL {f:.2f} >= {need} {'ok' if f >= need else 'MISSED'}")
        mem = r.get("memory") or {}
        if mem.get("torch_bytes"):
            ok = mem["rnnkit_bytes"] <= mem["torch_bytes"]
            out.append(f"memory {r['cell']} {r['row']} {'ok' if ok else 'MISSED'}")
    s = results.get("stream") or {}
    if s.get("ratio") is not None:
        need = grid.STREAM_TARGET
        out.append(f"stream {s['ratio']:.2f} >= {need} {'ok' if s['ratio'] >= need else 'MISSED'}")
    return out


def _grid_row(cell, name, r, repeat, peer, jax_peer):
    layer, x = runners.make_rnnkit(cell, r)
    runners.rnnkit_train_step(layer, x)                          # compile / load kernels
    own_train, own_infer = runners.rnnkit_times(layer, x, repeat)
    row = {"cell": cell, "row": name, "T": r.T, "B": r.B, "I": r.I, "H": r.H, "train_flops": grid.train_flops(cell, r)}
    train, infer = {}, {}
    if peer is not None and peer.supports(cell):
        m, xt = peer.make(cell, layer, x)
        train["torch"], infer["torch"] = peer.times(m, xt, repeat)
        row["agreement"] = runners.agreement(peer, layer, x, m, xt)
    if jax_peer is not None and jax_peer.supports(cell):
        made = jax_peer.make(cell, layer, x)
        train["jax"], infer["jax"] = jax_peer.times(made, repeat)
    row["train"], row["infer"] = _entry(own_train, train), _entry(own_infer, infer)
    return row


def _stacked_row(cell, r, repeat, torch):
    layer, x, lengths = stacked.make_rnnkit(cell, r)
    own_train, own_infer = stacked.rnnkit_times(layer, x, lengths, repeat)
    row = {"cell": cell, "row": r.name, "T": r.T, "B": r.B, "I": r.I, "H": r.H, "layers": r.layers,
           "lengths": [int(v) for v in lengths], "train_flops": stacked.stacked_flops(cell, r, lengths)}
    train, infer = {}, {}
    if torch is not None:
        packed = stacked.TorchPacked(torch)
        made = packed.make(cell, layer, x, lengths)
        train["torch"], infer["torch"] = packed.times(made, repeat)
        row["agreement"] = packed.agreement(made, layer, x, lengths)
    row["train"], row["infer"] = _entry(own_train, train), _entry(own_infer, infer)
    return row


def _echo_row(echo, row):
    echo(f"{row['cell']:4s} {row['row']:7s} train {row['train']['rnnkit_s'] * 1e3:8.2f} ms{_ratio_note(row['train'])}"
         f"  infer {row['infer']['rnnkit_s'] * 1e3:8.2f} ms{_ratio_note(row['infer'])}")


def run_grid(cells, rows, rows_all, repeat, threads, use_torch, stream, out_dir, echo, use_jax=True,
             stacked_rows=True, quick=False):
    """Run the benchmark and print it through ``echo``; write ``latest.*`` into ``out_dir``
    (None: write nothing). Returns the results dict."""
    torch = _import_torch(use_torch)
    peer = runners.TorchPeer(torch) if torch is not None else None
    jax = import_jax(use_jax)
    jax_peer = JaxPeer(jax) if jax is not None else None
    with _thread_limit(threads, torch):
        results = {"machine": machine.describe(torch), "repeat": repeat, "threads": threads,
                   "memory_method": MEMORY_METHOD, "rows": [], "stacked": []}
        results["machine"]["jax"] = jax_peer.version if jax_peer is not None else None
        m = results["machine"]
        echo(f"rnnkit bench on {m['cpu']}, torch {m['torch'] or 'not installed'}, "
             f"jax {m['jax'] or 'not installed'}; load average {m['load_average']}")
        echo(machine.header(m))
        gemm_before = gemm_gflops()
        echo(f"GEMM rate before: {gemm_before:.1f} GFLOP/s")
        for cell in cells:
            for name in rows:
                row = _grid_row(cell, name, rows_all[name], repeat, peer, jax_peer)
                results["rows"].append(row)
                _echo_row(echo, row)
        if stacked_rows:
            r = stacked.QUICK_STACKED if quick else stacked.STACKED
            for cell in (c for c in stacked.STACKED_CELLS if c in cells):
                row = _stacked_row(cell, r, repeat, torch)
                results["stacked"].append(row)
                _echo_row(echo, row)
        if stream:
            own = runners.rnnkit_stream_time(repeat)
            other = peer.stream_time(repeat) if peer is not None else None
            results["stream"] = _entry(own, {"torch": other})
            echo(f"stream {own * 1e6:.2f} us/step{_ratio_note(results['stream'])}")
        gemm_after = gemm_gflops()
        echo(f"GEMM rate after: {gemm_after:.1f} GFLOP/s")
        for row in results["rows"]:
            layer, x = runners.make_rnnkit(row["cell"], rows_all[row["row"]])
            row["memory"] = {"rnnkit_bytes": runners.rnnkit_peak_bytes(layer, x), "torch_bytes": None}
            if peer is not None and peer.supports(row["cell"]):
                row["memory"]["torch_bytes"] = peer.peak_bytes(*peer.make(row["cell"], layer, x))
    results["gemm_gflops_before"], results["gemm_gflops_after"] = gemm_before, gemm_after
    rate = 0.5 * (gemm_before + gemm_after) * 1e9
    for row in results["rows"] + results["stacked"]:
        row["train"]["roofline_fraction"] = row["train_flops"] / rate / row["train"]["rnnkit_s"]
        row["infer"]["roofline_fraction"] = row["train_flops"] / 3 / rate / row["infer"]["rnnkit_s"]
    results["targets"] = _targets(results) if peer is not None or jax_peer is not None else []
    echo("")
    for line in report.table_lines(results):
        echo(line)
    if out_dir is None:
        echo("\nnothing written (--save writes benchmarks/results/latest.*, --out DIR elsewhere)")
    else:
        jp, mp = report.write(results, out_dir)
        echo(f"\nwrote {jp} and {mp}")
    return results
