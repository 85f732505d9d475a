"""Results as a printed table, Markdown and JSON (benchmarks/results/latest.*)."""

from __future__ import annotations

import json
import os


def _ms(v):
    return "-" if v is None else f"{v * 1e3:.2f}"


def _ratio(v):
    return "-" if v is None else f"{v:.2f}"


def _pct(v):
    return "-" if v is None else f"{100 * v:.0f}%"


def _mb(v):
    return "-" if v is None else f"{v / 2**20:.1f}"


def table_lines(results: dict) -> list[str]:
    lines = [
        "| cell | row | train rnnkit ms | train torch ms | train ratio | infer rnnkit ms | infer torch ms "
        "| infer ratio | best peer | roofline (train) | peak MB rnnkit / torch | max diff out / grad |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["rows"] + results.get("stacked", []):
        tr, inf = r["train"], r["infer"]
        mem = r.get("memory") or {}
        agr = r.get("agreement") or {}
        diff = "-" if not agr else f"{agr['max_abs_diff_output']:.1e} / {agr['max_rel_diff_grad']:.1e}"
        lines.append(
            f"| {r['cell']} | {r['row']} | {_ms(tr['rnnkit_s'])} | {_ms(tr.get('torch_s'))} "
            f"| {_ratio(tr.get('ratio'))} "
            f"| {_ms(inf['rnnkit_s'])} | {_ms(inf.get('torch_s'))} | {_ratio(inf.get('ratio'))} "
            f"| {tr.get('best_peer') or '-'} "
            f"| {_pct(tr['roofline_fraction'])} | {_mb(mem.get('rnnkit_bytes'))} / {_mb(mem.get('torch_bytes'))} "
            f"| {diff} |"
        )
    s = results.get("stream")
    if s:
        torch_us = "-" if s.get("torch_s") is None else f"{s['torch_s'] * 1e6:.2f}"
        lines += [
            "",
            "| stream (LSTMCell I=H=128, B=1, eval) | rnnkit us/step | torch us/step | ratio |",
            "|---|---|---|---|",
            f"| | {s['rnnkit_s'] * 1e6:.2f} | {torch_us} | {_ratio(s.get('ratio'))} |",
        ]
    return lines


def markdown(results: dict) -> str:
    m = results["machine"]
    out = [
        "# rnnkit benchmark results",
        "",
        f"Date: {m['date']}. CPU: {m['cpu']} ({m['cores']} cores). numpy {m['numpy']}, numba {m['numba']}, "
        f"torch {m['torch']} ({m['torch_threads']} threads). rnnkit BLAS: `{m['rnnkit_blas']}`; "
        f"float32 sequences split by batch rows over {m.get('rnnkit_row_split_threads', 1)} thread(s). "
        f"OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']}, OPENBLAS_L2_SIZE={m['OPENBLAS_L2_SIZE']}. "
        f"Load average at start: {m['load_average']}.",
        "",
        f"GEMM rate (2048x2048 float32 matmul): {results['gemm_gflops_before']:.1f} GFLOP/s before the grid, "
        f"{results['gemm_gflops_after']:.1f} GFLOP/s after. Roofline fraction = FLOPs of the step / time / the "
        "mean of the two rates. Ratio = torch time / rnnkit time (above 1: rnnkit faster). Times are the "
        f"minimum of {results['repeat']} runs after warm-up.",
        "",
        *table_lines(results),
        "",
        "Peak memory: " + results["memory_method"],
        "",
        "Targets: " + ("; ".join(results["targets"]) if results["targets"] else "not checked (no torch)"),
        "",
    ]
    return "\n".join(out)


def write(results: dict, out_dir: str) -> tuple[str, str]:
    os.makedirs(out_dir, exist_ok=True)
    jp = os.path.join(out_dir, "latest.json")
    mp = os.path.join(out_dir, "latest.md")
    with open(jp, "w") as f:
        json.dump(results, f, indent=2, default=float)
        f.write("\n")
    with open(mp, "w") as f:
        f.write(markdown(results))
    return jp, mp
