"""The benchmark loop: GEMM rate, every (cell, row), the stream step, the GEMM rate again."""

from __future__ import annotations

import contextlib

from rnnkit.bench import grid, machine, report, runners
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


def _ratio_note(ratio) -> str:
    """`` (ratio 1.23)``, or nothing without a peer."""
    return "" if ratio is None else f" (ratio {ratio:.2f})"


def _ratio(peer, own):
    return None if peer is None else peer / own


def _targets(results) -> list[str]:
    out = []
    for r in results["rows"]:
        for kind, need in (("train", grid.train_target(r["cell"], r["row"])), ("infer", grid.INFER_TARGET)):
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


def run_grid(cells, rows, rows_all, repeat, threads, use_torch, stream, out_dir, echo):
    torch = _import_torch(use_torch)
    peer = runners.TorchPeer(torch) if torch is not None else None
    with _thread_limit(threads, torch):
        results = {"machine": machine.describe(torch), "repeat": repeat, "threads": threads,
                   "memory_method": MEMORY_METHOD, "rows": []}
        echo(f"rnnkit bench on {results['machine']['cpu']}, torch {results['machine']['torch'] or 'not installed'}")
        gemm_before = gemm_gflops()
        echo(f"GEMM rate before: {gemm_before:.1f} GFLOP/s")
        for cell in cells:
            for name in rows:
                r = rows_all[name]
                layer, x = runners.make_rnnkit(cell, r)
                runners.rnnkit_train_step(layer, x)                    # compile / load kernels
                own_train, own_infer = runners.rnnkit_times(layer, x, repeat)
                row = {"cell": cell, "row": name, "T": r.T, "B": r.B, "I": r.I, "H": r.H,
                       "train_flops": grid.train_flops(cell, r)}
                peer_train = peer_infer = None
                if peer is not None and hasattr(torch.nn, cell):        # a peer only for torch.nn's kinds
                    m, xt = peer.make(cell, layer, x)
                    peer_train, peer_infer = peer.times(m, xt, repeat)
                    row["agreement"] = runners.agreement(peer, layer, x, m, xt)
                row["train"] = {"rnnkit_s": own_train, "torch_s": peer_train, "ratio": _ratio(peer_train, own_train)}
                row["infer"] = {"rnnkit_s": own_infer, "torch_s": peer_infer, "ratio": _ratio(peer_infer, own_infer)}
                results["rows"].append(row)
                echo(f"{cell:4s} {name:2s} train {own_train * 1e3:8.2f} ms{_ratio_note(row['train']['ratio'])}  "
                     f"infer {own_infer * 1e3:8.2f} ms{_ratio_note(row['infer']['ratio'])}")
        if stream:
            own = runners.rnnkit_stream_time(repeat)
            other = peer.stream_time(repeat) if peer is not None else None
            results["stream"] = {"rnnkit_s": own, "torch_s": other, "ratio": _ratio(other, own)}
            echo(f"stream {own * 1e6:.2f} us/step{_ratio_note(results['stream']['ratio'])}")
        gemm_after = gemm_gflops()
        echo(f"GEMM rate after: {gemm_after:.1f} GFLOP/s")
        # memory last: the torch profiler slows torch down for the rest of the process
        for row in results["rows"]:
            layer, x = runners.make_rnnkit(row["cell"], rows_all[row["row"]])
            row["memory"] = {"rnnkit_bytes": runners.rnnkit_peak_bytes(layer, x), "torch_bytes": None}
            if peer is not None and hasattr(torch.nn, row["cell"]):
                row["memory"]["torch_bytes"] = peer.peak_bytes(*peer.make(row["cell"], layer, x))
    results["gemm_gflops_before"], results["gemm_gflops_after"] = gemm_before, gemm_after
    rate = 0.5 * (gemm_before + gemm_after) * 1e9
    for row in results["rows"]:
        row["train"]["roofline_fraction"] = row["train_flops"] / rate / row["train"]["rnnkit_s"]
        row["infer"]["roofline_fraction"] = row["train_flops"] / 3 / rate / row["infer"]["rnnkit_s"]
    results["targets"] = _targets(results) if peer is not None else []
    echo("")
    for line in report.table_lines(results):
        echo(line)
    jp, mp = report.write(results, out_dir)
    echo(f"\nwrote {jp} and {mp}")
    return results
