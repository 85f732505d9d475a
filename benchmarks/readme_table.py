"""Paste the tables of ``benchmarks/results/latest.md`` into README.md's Benchmarks section.

Run from the repository root after ``rnnkit bench``::

    python benchmarks/readme_table.py
"""

from __future__ import annotations

import re

INTRO = """`rnnkit bench` against PyTorch 2.13 (CPU, 2 threads) in one process; ratio = PyTorch time / rnnkit time
(above 1: rnnkit faster); train = forward + full BPTT of `out.sum()`, infer = forward under no_grad;
roofline = fraction of the step's matrix FLOPs at the machine's measured GEMM rate. Full results,
machine and method: [`benchmarks/results/latest.md`](benchmarks/results/latest.md)."""


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def table(md: str) -> str:
    lines = md.splitlines()
    start = next(i for i, s in enumerate(lines) if s.startswith("| cell | row"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    out = ["| cell | row | train ms (rnnkit / torch) | train ratio | infer ms (rnnkit / torch) | infer ratio "
           "| roofline |", "|---|---|---|---|---|---|---|"]
    for s in lines[start + 2:end]:
        c = _cells(s)
        out.append(f"| {c[0]} | {c[1]} | {c[2]} / {c[3]} | {c[4]} | {c[5]} / {c[6]} | {c[7]} | {c[8]} |")
    stream = _cells(lines[next(i for i, s in enumerate(lines) if s.startswith("| stream")) + 2])
    date = next(s for s in lines if s.startswith("Date:")).split(". numpy")[0]
    rates = re.findall(r"([0-9.]+) GFLOP/s", next(s for s in lines if s.startswith("GEMM rate")))
    return "\n".join([
        INTRO, "",
        f"{date}; float32 GEMM rate {rates[0]} GFLOP/s before the grid, {rates[1]} after "
        "(BENCHMARKS.md's machine measured 68 GFLOP/s).", "",
        *out, "",
        f"Streaming (LSTMCell, I=H=128, batch 1, state carried, eval): {stream[1]} us/step against "
        f"PyTorch's {stream[2]} us (ratio {stream[3]}).",
    ])


def main() -> None:
    with open("benchmarks/results/latest.md") as f:
        text = table(f.read())
    with open("README.md") as f:
        readme = f.read()
    new = re.sub(r"(## Benchmarks\n\n)(.*?)(\n\n## Limits)", lambda m: m.group(1) + text + m.group(3), readme,
                 flags=re.S)
    with open("README.md", "w") as f:
        f.write(new)


if __name__ == "__main__":
    main()
