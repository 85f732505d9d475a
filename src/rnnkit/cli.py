"""The ``rnnkit`` command line.

::

    rnnkit train --task forecast --data FILE.csv [--target COL] --horizon H --out DIR
    rnnkit train --task classify --data TRAIN.ts|.csv|.npz [--test TEST] --out DIR
    rnnkit train --task regress|tag|generate|seq2seq --data FILE --out DIR
    rnnkit train --task adding_problem --out DIR          a built-in generated task (rnnkit tasks)
    rnnkit predict DIR [--data FILE] [--horizon H] [--out FILE.csv]
    rnnkit evaluate DIR [--data FILE]                     JSON metrics with the baselines
    rnnkit sample DIR --prime TEXT [--length N] [--temperature T] [--seed S]
    rnnkit report DIR                                     DIR/report.html
    rnnkit export DIR --onnx FILE
    rnnkit tasks | demo | bench

One error boundary (:func:`main`): a user error prints one line ``rnnkit <command>: error:
<message>`` on stderr and exits 2, never a traceback; Ctrl-C exits 130 after saying what was
kept; a closed pipe (``rnnkit tasks | head -1``) ends quietly. An unexpected internal error
prints one line and exits 1 (``RNNKIT_DEBUG=1`` shows its traceback).
"""

from __future__ import annotations

import json
import os
import shlex
import sys

__all__ = ["main"]

_BACKENDS = ("numpy", "numba")          # rnnkit.kernels' choices for RNNKIT_BACKEND


def _say(obj) -> None:
    print(json.dumps(obj, indent=2, default=str, allow_nan=False) if not isinstance(obj, str) else obj)


def _json(obj) -> None:
    from rnnkit.apps.run_dir import json_safe

    _say(json_safe(obj))


def _given(args, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in vars(args).items() if k.startswith(prefix)}


def _task_options(args) -> dict:
    from rnnkit.apps.cli_args import TASK_OPTIONS

    opts = {k: getattr(args, k) for k in TASK_OPTIONS if hasattr(args, k)}
    if "suffixes" in opts:
        opts["suffixes"] = tuple(s.strip() for s in opts["suffixes"].split(",") if s.strip()) or None
    if "impute" in opts and opts["impute"] not in ("linear", "ffill"):
        raise ValueError(f"--impute must be linear or ffill, got {opts['impute']!r}")
    if "coverage" in opts and not 0.0 < opts["coverage"] < 1.0:
        raise ValueError(f"--coverage must be strictly between 0 and 1, got {opts['coverage']}")
    if "holdout" in opts and opts["holdout"] < 0:
        raise ValueError(f"--holdout must be >= 0, got {opts['holdout']}")
    return opts


def _flag_of(param: str) -> str:
    from rnnkit.apps.params import FLAGS

    return next(f.flag for f in FLAGS if f.param == param)


def _is_generated_run(args) -> bool:
    from rnnkit.apps.tasks import TASKS

    if args.task is not None:
        return args.task in TASKS
    if not args.resume:
        raise ValueError("--task is required (or --resume to continue the run in --out)")
    from rnnkit.apps.run_dir import RunDir

    cfg = RunDir(args.out).resume_config()
    return cfg.get("kind") == "generated" or (cfg.get("format") is None and cfg.get("task") in TASKS)


def _progress(args) -> bool:
    return sys.stderr.isatty() if args.progress is None else args.progress


def _train_generated(args) -> dict:
    from rnnkit.apps.params import FLAGS, coerce
    from rnnkit.apps.tasks import TrainConfig
    from rnnkit.apps.train_generated import train_generated

    where = f"the built-in task {args.task}" if args.task else "a built-in task run"
    for what in ("data", "test"):
        if getattr(args, what) is not None:
            raise ValueError(f"--{what} does not apply to {where} (it makes its own data)")
    opts = _task_options(args)
    if opts:
        raise ValueError(f"{', '.join('--' + k.replace('_', '-') for k in opts)} does not apply to {where}")
    settings = {}
    for param, value in _given(args, "est_").items():
        f = next(f for f in FLAGS if f.param == param)
        if f.generated is None:
            raise ValueError(f"{f.flag} does not apply to {where}")
        settings[f.generated] = value
    settings.update(_given(args, "gen_"))
    defaults = {k: getattr(TrainConfig(), k) for k in TrainConfig.__dataclass_fields__}
    for text in args.param:
        name, _, raw = text.partition("=")
        name = name.strip().replace("-", "_")
        if name not in defaults or name == "task":
            raise ValueError(f"--param {name}: the built-in tasks have no setting {name!r}; their settings: "
                             f"{sorted(set(defaults) - {'task'})}")
        settings[name] = coerce(f"--param {name}", raw, defaults[name])
    return train_generated(args.task, args.out, settings, resume=args.resume, overwrite=args.overwrite,
                           report=args.report, progress=_progress(args), command=args.command_line)


def _train(args) -> dict:
    from rnnkit.apps.cli_args import GENERATED_ONLY
    from rnnkit.apps.params import estimator_defaults, parse_param
    from rnnkit.apps.task_table import estimator_class, spec_of
    from rnnkit.apps.train_run import TrainRequest, train_run

    if args.resume and args.overwrite:
        raise ValueError("--resume continues the run in --out and --overwrite replaces it: pass one of them")
    if _is_generated_run(args):
        return _train_generated(args)
    gen = _given(args, "gen_")
    if gen:
        raise ValueError(f"{GENERATED_ONLY[next(iter(gen))][0]} applies to the built-in generated tasks only")
    task = args.task
    if task is None:
        from rnnkit.apps.run_dir import RunDir

        task = RunDir(args.out).resume_config().get("task")
    spec = spec_of(task)
    cls = estimator_class(spec)
    defaults = estimator_defaults(cls)
    params = {}
    for param, value in _given(args, "est_").items():
        if param not in defaults:
            raise ValueError(f"{_flag_of(param)} does not apply to --task {spec.name} ({cls.__name__} has no "
                             f"parameter {param!r})")
        params[param] = value
    for text in args.param:
        name, value = parse_param(text, defaults, cls.__name__)
        if name in params:
            raise ValueError(f"{name} is set twice (by a flag and --param, or two --param)")
        params[name] = value
    options = _task_options(args)
    for name in options:
        if name not in spec.options:
            raise ValueError(f"--{name.replace('_', '-')} does not apply to --task {spec.name}")
    req = TrainRequest(args.task, args.out, args.data, args.test, params, options, args.resume, args.overwrite,
                       args.report, _progress(args), args.command_line)
    return train_run(req)


def _tasks(args) -> None:
    from rnnkit import datasets
    from rnnkit.apps.params import estimator_defaults
    from rnnkit.apps.task_table import TASK_SPECS, available_class
    from rnnkit.apps.tasks import TASKS

    print("tasks on your files (rnnkit train --task NAME --data FILE --out DIR):")
    for spec in TASK_SPECS.values():
        cls = available_class(spec)
        mark = "" if cls is not None else "  [not in this installation]"
        print(f"  {spec.name:18s} {spec.doc} ({spec.estimator}){mark}")
        print(f"  {'':18s} --data: {spec.data}")
        if args.params and cls is not None:
            params = ", ".join(f"{k}={v!r}" for k, v in sorted(estimator_defaults(cls).items()))
            print(f"  {'':18s} parameters: {params}")
    print("built-in generated tasks (rnnkit train --task NAME --out DIR; no --data):")
    for name in datasets.available():
        doc = (getattr(datasets, name).__doc__ or "").strip().splitlines()[0]
        mark = "" if name in TASKS else "  [a seq2seq dataset, not a --task: --task seq2seq trains on a pairs file]"
        print(f"  {name:18s} {doc}{mark}")


def _run(args) -> int:
    from rnnkit.apps import use_run

    if args.command == "demo":
        from rnnkit.apps.demo import run_demo
        from rnnkit.apps.run_dir import write_json

        res = run_demo(quick=args.quick, seed=args.seed, out_dir=args.out)
        if args.out:
            path = os.path.join(args.out, "demo.json")
            write_json(path, res)
            print(f"\nreport: {path}")
    elif args.command == "train":
        _json(_train(args))
    elif args.command == "predict":
        out = use_run.predict_run(args.run, data=args.data, out=args.out, horizon=_positive(args, "horizon"),
                                  beam_size=_positive(args, "beam_size"), n=_positive(args, "n"), seed=args.seed)
        if out is not None:
            _json(out)
    elif args.command == "evaluate":
        _json(use_run.evaluate_run(args.run, data=args.data, horizon=_positive(args, "horizon"),
                                   start=_positive(args, "start"), stride=_positive(args, "stride"),
                                   n=_positive(args, "n"), seed=args.seed))
    elif args.command == "sample":
        print(use_run.sample_run(args.run, prime=args.prime, length=args.length, temperature=args.temperature,
                                 seed=args.seed))
    elif args.command == "report":
        from rnnkit.apps.report_run import write_report
        from rnnkit.apps.run_dir import RunDir

        _json({"report": write_report(RunDir.of(args.run))})
    elif args.command == "export":
        _json(use_run.export_run(args.run, args.onnx, opset=args.opset, verify=not args.no_verify))
    elif args.command == "tasks":
        _tasks(args)
    return 0


def _positive(args, name: str):
    v = getattr(args, name)
    if v is not None and v < 1:
        raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {v}")
    return v


def _message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        text = f"{err.filename}: {err.strerror}"
    else:
        text = str(err) or type(err).__name__
    return " ".join(text.split())                    # one line


def _quiet_stdout() -> None:
    """After a closed pipe: send what is left of stdout nowhere (no 'Exception ignored' at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _bench(argv) -> int:
    from rnnkit.bench import main as bench_main

    return bench_main(argv)


def main(argv=None) -> int:
    """Run the command line (``argv`` without the program name); returns the exit status."""
    from rnnkit.apps.cli_args import UsageError

    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    command = next((a for a in argv if not a.startswith("-")), None)
    prog = f"rnnkit {command}" if command else "rnnkit"
    try:
        backend = os.environ.get("RNNKIT_BACKEND")
        if backend is not None and backend not in _BACKENDS:
            raise ValueError(f"RNNKIT_BACKEND must be one of {', '.join(_BACKENDS)}, got {backend!r}")
        if argv and argv[0] == "bench":                     # its own parser and --help
            code = _bench(argv[1:])
        else:
            from rnnkit.apps.cli_args import build_parser

            args = build_parser().parse_args(argv)
            args.command_line = " ".join(["rnnkit", *map(shlex.quote, argv)])
            prog = f"rnnkit {args.command}"
            code = _run(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return 141                                          # as a process killed by SIGPIPE
    except UsageError as err:
        print(f"{err.prog}: error: {_message(err)}", file=sys.stderr)
        return 2
    except SystemExit as err:                               # --help (0); bench's usage errors (a message)
        if isinstance(err.code, str):
            text = err.code.removeprefix(f"{prog}: ").removeprefix("error: ")
            print(f"{prog}: error: {' '.join(text.split())}", file=sys.stderr)
            return 2
        return 0 if err.code is None else int(err.code)
    except KeyboardInterrupt as err:
        print(f"{prog}: interrupted" + (f": {_message(err)}" if str(err) else ""), file=sys.stderr)
        return 130
    except MemoryError:
        print(f"{prog}: error: out of memory; try a smaller --hidden-size, --batch-size or --num-layers",
              file=sys.stderr)
        return 2
    except FloatingPointError as err:                       # rnnkit.train.NonFiniteError outside train_run
        step = getattr(err, "step", None)
        where = f" at step {step}" if step is not None else ""
        print(f"{prog}: error: training diverged{where}: {_message(err)}; try a smaller --lr or --clip-grad-norm 1",
              file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, ImportError) as err:
        print(f"{prog}: error: {_message(err)}", file=sys.stderr)
        return 2
    except Exception as err:
        if os.environ.get("RNNKIT_DEBUG"):
            raise
        print(f"{prog}: internal error: {type(err).__name__}: {_message(err)} (please report it; RNNKIT_DEBUG=1 "
              "shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
