"""The ``rnnkit`` command line.

::

    rnnkit demo [--quick] [--out DIR]                 the library in one short run
    rnnkit train --task adding_problem --cell gru --epochs 10 --out runs/add
    rnnkit predict runs/add/model.npz                 evaluate on fresh data of the same task
    rnnkit sample runs/text/model.npz --prime "def "  generate text from a char model
    rnnkit tasks                                      list the built-in tasks
    rnnkit bench [--rows S,M] [--cells lstm]          speed against PyTorch (see BENCHMARKS)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields

__all__ = ["main"]


def _add_train(sub) -> None:
    from rnnkit.apps.tasks import ARCHS, CELLS, TASKS, TrainConfig

    p = sub.add_parser("train", help="train a model on a built-in task",
                       description="Train a recurrent model on a built-in task; writes model.npz, "
                       "checkpoint.npz, history.json and config.json into --out.")
    defaults = TrainConfig()
    p.add_argument("--task", choices=TASKS, default=defaults.task)
    p.add_argument("--cell", choices=CELLS, default=defaults.cell)
    p.add_argument("--arch", choices=ARCHS, default=defaults.arch,
                   help="recurrent model, or the feed-forward window baseline")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.npz")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--bidirectional", action="store_true")
    for f in fields(TrainConfig):
        if f.name in ("task", "arch", "cell", "bidirectional"):
            continue
        p.add_argument("--" + f.name.replace("_", "-"), type=type(getattr(defaults, f.name)),
                       default=getattr(defaults, f.name))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rnnkit", description="RNN, LSTM and GRU with hand-written BPTT.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="the library in one short run")
    p.add_argument("--quick", action="store_true", help="tiny budgets (seconds)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="directory for plots and the JSON report")

    _add_train(sub)

    p = sub.add_parser("predict", help="evaluate a trained model on fresh data of its task")
    p.add_argument("model", help="model.npz written by `rnnkit train`")
    p.add_argument("--n", type=int, default=1000, help="sequences (characters for text) to generate")
    p.add_argument("--seed", type=int, default=12345, help="seed of the fresh data")

    p = sub.add_parser("sample", help="generate text from a character model")
    p.add_argument("model", help="model.npz written by `rnnkit train --task stdlib_text`")
    p.add_argument("--prime", default="def ")
    p.add_argument("--length", type=int, default=300)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--seed", type=int, default=0)

    sub.add_parser("tasks", help="list the built-in tasks")

    p = sub.add_parser("bench", help="speed against PyTorch", add_help=False)
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "bench":                       # its own parser and --help
        from rnnkit.bench import main as bench_main
        return bench_main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, TypeError, OSError) as err:      # OSError: missing/unwritable paths, --out is a file
        print(f"rnnkit {args.command}: error: {err}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command == "demo":
        from rnnkit.apps.demo import run_demo
        res = run_demo(quick=args.quick, seed=args.seed, out_dir=args.out)
        if args.out:
            import os
            path = os.path.join(args.out, "demo.json")
            with open(path, "w") as f:
                json.dump(res, f, indent=2, default=float)
            print(f"\nreport: {path}")
        return 0
    if args.command == "train":
        from rnnkit.apps.tasks import TrainConfig, train_task
        cfg = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
        final = train_task(cfg, args.out, resume=args.resume, progress=not args.no_progress)
        print(json.dumps({"out": args.out, **final}, indent=2, default=float))
        return 0
    if args.command == "predict":
        from rnnkit.apps.tasks import evaluate_task
        print(json.dumps(evaluate_task(args.model, n=args.n, seed=args.seed), indent=2, default=float))
        return 0
    if args.command == "sample":
        from rnnkit.apps.sample import sample_text
        print(sample_text(args.model, length=args.length, prime=args.prime, temperature=args.temperature,
                          seed=args.seed))
        return 0
    if args.command == "tasks":
        from rnnkit import datasets
        from rnnkit.apps.tasks import TASKS
        for name in datasets.available():
            doc = (getattr(datasets, name).__doc__ or "").strip().splitlines()[0]
            mark = "" if name in TASKS else "  [seq2seq: see rnnkit.models.seq2seq]"
            print(f"{name:20s} {doc}{mark}")
        return 0
    raise ValueError(f"unknown command {args.command!r}")


if __name__ == "__main__":
    sys.exit(main())
