"""The command line's parsers: every flag with a help line that states its default.

The defaults of the estimator flags are read from the estimators' signatures (one value, or
one per task when they differ); a flag's value is only set when it is given (argparse's
``SUPPRESS``), so ``--resume`` can tell what the user changed.
"""

from __future__ import annotations

import argparse

__all__ = ["UsageError", "build_parser", "TASK_OPTIONS", "GENERATED_ONLY"]

TASK_OPTIONS = {
    # dest: (flag, type, help)
    "target": ("--target", str, "the label/target column (forecast: the value column(s), comma-separated); "
                                "default: found by name (label, target, class, y) or position"),
    "source": ("--source", str, "seq2seq: the source column (default: 'source', 'input', 'src' or the first)"),
    "date_column": ("--date-column", str, "forecast: the time column (default: detected)"),
    "id_column": ("--id-column", str, "long CSV: the sequence id column (default: id, series_id, ...)"),
    "time_column": ("--time-column", str, "long CSV: the column that orders the steps (default: time, t, step)"),
    "holdout": ("--holdout", int, "forecast: steps held out at the end for the report (default: --horizon; 0: none)"),
    "impute": ("--impute", str, "fill missing values: linear or ffill (default: a missing value is an error)"),
    "coverage": ("--coverage", float, "forecast: prediction interval coverage (default 0.9)"),
    "suffixes": ("--suffixes", str, "generate: comma-separated file endings read from a folder (default: all files)"),
    "prime": ("--prime", str, "generate: the text the report's sample starts with (default: none)"),
}
"""Task options of ``rnnkit train`` (fields of :class:`rnnkit.apps.task_table.TaskOptions`)."""

GENERATED_ONLY = {
    # TrainConfig field: (flag, type, help)
    "arch": ("--arch", str, "built-in tasks: 'recurrent' or 'window_mlp' (the feed-forward baseline); default "
                            "recurrent"),
    "n": ("--n", int, "built-in tasks: sequences (windows) generated; default 2000"),
    "text_chars": ("--text-chars", int, "built-in stdlib_text: characters of the corpus; default 100000"),
}


class UsageError(Exception):
    """A command-line usage error; ``prog`` is the (sub)command's name."""

    def __init__(self, prog: str, message: str):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    def error(self, message):                     # one line, raised to the error boundary
        raise UsageError(self.prog, f"{message} (see {self.prog} --help)")


def _fmt(v) -> str:
    if v is None:
        return "auto"
    if isinstance(v, tuple):
        return "(" + ",".join(map(str, v)) + ")" if v else "none"
    return str(v)


def _default_help(flag) -> str:
    """'default X' or 'default by task: forecast X, classify Y, ...' from the signatures."""
    from rnnkit.apps.params import estimator_defaults
    from rnnkit.apps.task_table import TASK_SPECS, available_class
    from rnnkit.apps.tasks import TrainConfig

    parts = []
    for spec in TASK_SPECS.values():
        cls = available_class(spec)
        if cls is not None:
            defaults = estimator_defaults(cls)
            if flag.param in defaults:
                parts.append((spec.name, _fmt(defaults[flag.param])))
    if flag.generated:
        parts.append(("built-in tasks", _fmt(getattr(TrainConfig(), flag.generated))))
    if not parts:
        return "default: the estimator's own (no task of this installation takes it)"
    names = ", ".join(n for n, _ in parts)
    if len({v for _, v in parts}) == 1:
        return f"default {parts[0][1]} (tasks: {names})"
    return "default by task: " + ", ".join(f"{n} {v}" for n, v in parts)


def _metavar(flag: str, typ) -> str:
    return {int: "N", float: "X"}.get(typ, flag.lstrip("-").split("-")[-1].upper())


def _escape(text: str) -> str:
    return text.replace("%", "%%")


def _add_train(sub) -> None:
    from rnnkit.apps.params import FLAGS
    from rnnkit.apps.task_table import TASK_SPECS
    from rnnkit.apps.tasks import TASKS

    files = ", ".join(TASK_SPECS)
    p = sub.add_parser(
        "train", help="train a model on your file (or on a built-in generated task)",
        description=_escape(
            f"Train on your data: --task {{{files}}} --data FILE --out DIR. The built-in generated tasks "
            f"({', '.join(TASKS)}) make their own data: --task adding_problem --out DIR (`rnnkit tasks` lists "
            "everything). Writes DIR/model.npz, config.json, checkpoint.npz, history.json, evaluation.json, "
            "summary.json (and report.html with --report); prints the summary as JSON."),
        epilog="Estimator flags set only what you give; the rest keep the estimator's own defaults (listed per "
               "task). --param NAME=VALUE sets any other estimator parameter (see `rnnkit tasks --params`).")
    p.add_argument("--task", choices=[*TASK_SPECS, *TASKS], metavar="TASK", default=None,
                   help=_escape(f"one of {files} (your --data), or a built-in task: {', '.join(TASKS)}; "
                                "default: the saved one with --resume"))
    p.add_argument("--data", default=None, metavar="FILE",
                   help="the training file (or folder, or packaged series / archive problem name); default: "
                        "the saved one with --resume, none for the built-in tasks")
    p.add_argument("--test", default=None, metavar="FILE",
                   help="a test file read like --data: the report evaluates on it (default: the validation part)")
    p.add_argument("--out", required=True, metavar="DIR", help="the run directory to write")
    p.add_argument("--resume", action="store_true", help="continue DIR's run from DIR/checkpoint.npz with its "
                                                        "saved settings (no flags to repeat)")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--report", action="store_true", help="also write DIR/report.html")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="a progress bar per epoch on stderr (default: when stderr is a terminal)")
    for dest, (flag, typ, text) in TASK_OPTIONS.items():
        p.add_argument(flag, dest=dest, type=typ, default=argparse.SUPPRESS, help=_escape(text),
                       metavar=_metavar(flag, typ))
    for f in FLAGS:
        kind = argparse.BooleanOptionalAction if f.type is bool else None
        extra = {"action": kind} if kind else {"type": f.type, "metavar": _metavar(f.flag, f.type)}
        p.add_argument(f.flag, *f.aliases, dest="est_" + f.param, default=argparse.SUPPRESS,
                       help=_escape(f"{f.help}; {_default_help(f)}"), **extra)
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="any other estimator parameter (repeatable), e.g. --param pooling=mean; default: the "
                        "estimator's own (rnnkit tasks --params lists them)")
    for dest, (flag, typ, text) in GENERATED_ONLY.items():
        p.add_argument(flag, dest="gen_" + dest, type=typ, default=argparse.SUPPRESS, help=_escape(text),
                       metavar=_metavar(flag, typ))


def _run_arg(p) -> None:
    p.add_argument("run", metavar="DIR", help="a run directory written by `rnnkit train` (or its model.npz)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnkit", description="RNN, LSTM and GRU with hand-written BPTT: train on your files, "
                                                "predict, evaluate, report, export.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="the library in one short run")
    p.add_argument("--quick", action="store_true", help="tiny budgets (seconds)")
    p.add_argument("--seed", type=int, default=0, help="random seed; default 0")
    p.add_argument("--out", default=None, help="directory for plots and the JSON report; default none")

    _add_train(sub)

    p = sub.add_parser("predict", help="forecasts (+ intervals) / labels / tags / translations as CSV",
                       description="Predict with a trained run on --data (default: the run's training file). "
                                   "Writes CSV to --out, or to stdout. A built-in generated task's model is scored on "
                                   "fresh data of its task instead (JSON).")
    _run_arg(p)
    p.add_argument("--data", default=None, help="the file to predict on; default: the run's --data")
    p.add_argument("--horizon", type=int, default=None, help="forecast: steps ahead; default: the model's horizon")
    p.add_argument("--beam-size", type=int, default=None, help="seq2seq: beam width; default: the model's")
    p.add_argument("--out", default=None, help="CSV file to write; default: stdout")
    p.add_argument("--n", type=int, default=1000, help="built-in tasks: fresh sequences to score; default 1000")
    p.add_argument("--seed", type=int, default=12345, help="built-in tasks: seed of the fresh data; default 12345")

    p = sub.add_parser("evaluate", help="JSON metrics on a file, with the baselines",
                       description="Score a trained run on --data (default: its training file) beside the task's "
                                   "baselines; prints JSON.")
    _run_arg(p)
    p.add_argument("--data", default=None, help="the labelled file; default: the run's --data")
    p.add_argument("--horizon", type=int, default=None, help="forecast: steps per window; default: the model's")
    p.add_argument("--start", type=int, default=None, help="forecast: first origin; default: the last --holdout "
                                                           "(or horizon) steps are forecast")
    p.add_argument("--stride", type=int, default=None, help="forecast: steps between origins; default: the horizon")
    p.add_argument("--n", type=int, default=1000, help="built-in tasks: fresh sequences; default 1000")
    p.add_argument("--seed", type=int, default=12345, help="built-in tasks: seed of the fresh data; default 12345")

    p = sub.add_parser("sample", help="generate text from a character model")
    _run_arg(p)
    p.add_argument("--prime", default=None, help="the text to continue; default: none ('def ' for stdlib_text)")
    p.add_argument("--length", type=int, default=300, help="characters to generate; default 300")
    p.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0: greedy); default 0.8")
    p.add_argument("--seed", type=int, default=0, help="random seed of the sample; default 0")

    p = sub.add_parser("report", help="DIR/report.html: curves, held-out results, gradient flow, config")
    _run_arg(p)

    p = sub.add_parser("export", help="the run's model as ONNX (verified in onnxruntime)")
    _run_arg(p)
    p.add_argument("--onnx", required=True, help="the .onnx file to write")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset; default: rnnkit.export's")
    p.add_argument("--no-verify", action="store_true", help="skip running the file in onnxruntime")

    p = sub.add_parser("tasks", help="list the tasks: on your files, and the built-in generated ones")
    p.add_argument("--params", action="store_true", help="also list each task's estimator parameters")

    sub.add_parser("bench", help="speed against PyTorch (rnnkit bench --help)", add_help=False)
    return parser
