"""``rnnkit bench`` / ``python -m rnnkit.bench``: rnnkit against PyTorch and JAX on the grid of
BENCHMARKS.md (RNN/GRU/LSTM x S/M/L/XL, train and infer, a 2-layer bidirectional LSTM and GRU
on a variable-length batch, and a streaming LSTMCell).

Prints a header (CPU, the SIMD widths of the CPU, of Numba's target and of the packed GEMM,
the OpenBLAS core type), a table of times and ratios (best peer's time / rnnkit's time, same
process), the fraction of the measured GEMM rate each training step reaches, the agreement of
outputs and gradients with PyTorch and the peak memory of a training step. The peers are
PyTorch (packed sequences on the bidirectional rows) and, when ``jax`` is importable, JAX
(``lax.scan``, jitted); without them only rnnkit's own times are reported. Nothing is written
unless asked: ``--save`` writes ``latest.json`` and ``latest.md`` into ``benchmarks/results``,
``--out DIR`` into DIR.
"""

from __future__ import annotations

import argparse
import sys

from rnnkit.bench.grid import CELLS, QUICK_ROWS, ROWS

__all__ = ["main", "run"]


SAVE_DIR = "benchmarks/results"


class _Parser(argparse.ArgumentParser):
    def error(self, message):                # one line (argparse would print the usage first)
        raise SystemExit(f"rnnkit bench: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="rnnkit bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", default=None, help="comma-separated subset of S,M,L,XL (default: all)")
    p.add_argument("--cells", default=",".join(CELLS), help="comma-separated subset of RNN,GRU,LSTM")
    p.add_argument("--repeat", type=int, default=5, help="repetitions per measurement; the minimum is kept")
    p.add_argument("--quick", action="store_true", help="a tiny grid and 2 repetitions: checks the machinery")
    p.add_argument("--save", action="store_true", help=f"write latest.json and latest.md into {SAVE_DIR}")
    p.add_argument("--out", default=None, help="write latest.json and latest.md into this directory instead "
                   "(default: nothing is written without --save)")
    p.add_argument("--threads", type=int, default=None, help="threads for BLAS and torch (default: theirs)")
    p.add_argument("--no-torch", action="store_true", help="do not compare with PyTorch even if installed")
    p.add_argument("--no-jax", action="store_true", help="do not compare with JAX even if installed")
    p.add_argument("--no-stream", action="store_true", help="skip the streaming LSTMCell measurement")
    p.add_argument("--no-stacked", action="store_true", help="skip the 2-layer bidirectional variable-length rows")
    return p


def _parse_list(name, text, allowed, note=""):
    """Comma-separated names, any case (``lstm`` or ``LSTM``), each one of ``allowed``."""
    canonical = {a.upper(): a for a in allowed}                    # 'indrnn' -> 'IndRNN'
    items = [canonical.get(s.strip().upper(), s.strip()) for s in text.split(",") if s.strip()]
    bad = [s for s in items if s not in allowed]
    if bad or not items:
        raise SystemExit(
            f"rnnkit bench: --{name} expects a comma-separated subset of {','.join(allowed)}{note}, got {text!r}"
        )
    return items


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.repeat < 1:
        raise SystemExit(f"rnnkit bench: --repeat must be >= 1, got {args.repeat}")
    if args.threads is not None and args.threads < 1:
        raise SystemExit(f"rnnkit bench: --threads must be >= 1, got {args.threads}")
    rows_all = QUICK_ROWS if args.quick else ROWS
    note = " (--quick runs its own tiny grid)" if args.quick else ""
    rows = _parse_list("rows", args.rows, tuple(rows_all), note) if args.rows else list(rows_all)
    cells = _parse_list("cells", args.cells, CELLS)
    from rnnkit.bench.run import run_grid

    out_dir = args.out if args.out is not None else SAVE_DIR if args.save else None
    results = run_grid(cells, rows, rows_all, repeat=2 if args.quick else args.repeat, threads=args.threads,
                       use_torch=not args.no_torch, use_jax=not args.no_jax, stream=not args.no_stream,
                       stacked_rows=not args.no_stacked, quick=args.quick, out_dir=out_dir,
                       echo=lambda s: print(s, flush=True))
    return 0 if results is not None else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
