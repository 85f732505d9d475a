"""``rnnkit train``: read the files, fit the task's estimator, write the run directory.

Order (so that bad input writes nothing and nothing saved is ever lost)::

    settings -> sizes checked -> --data/--test read and checked     nothing written yet
    lock DIR/train.lock (a second run on DIR is refused at once)
    DIR prepared (another run there is refused unless --overwrite / --resume)
    config.json (what --resume needs) -> fit, checkpoint.npz after every epoch
    model.npz -> history.json -> evaluation.json -> summary.json (-> report.html)

A failure before training began removes only what this run wrote; Ctrl-C keeps the last
checkpoint and says how to resume; a diverging run (NaN/inf) says at which step and what to try.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import time
from dataclasses import asdict, dataclass, field

from rnnkit.apps.run_dir import RunDir, write_json

__all__ = ["TrainRequest", "train_run", "RESUMABLE_PARAMS", "RunInterrupted"]

RESUMABLE_PARAMS = frozenset({"max_epochs", "max_time", "patience", "verbose"})
"""Settings ``--resume`` may change (the network and the data split must stay as saved)."""

CONFIG_FORMAT = "rnnkit.run"


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``rnnkit train``; the message says what was kept and how to resume."""


@dataclass
class TrainRequest:
    """What ``rnnkit train`` was asked (the command line, parsed)."""

    task: str | None
    out: str
    data: str | None = None
    test: str | None = None
    params: dict = field(default_factory=dict)     # estimator parameters given explicitly
    options: dict = field(default_factory=dict)    # task options given explicitly (TaskOptions fields)
    resume: bool = False
    overwrite: bool = False
    report: bool = False
    progress: bool = False
    command: str = ""


def _data_path(p: str | None) -> str | None:
    return None if p is None else (os.path.abspath(p) if os.path.exists(p) else p)


def _from_config(req: TrainRequest, rd: RunDir) -> tuple[dict, TrainRequest]:
    """``--resume``: the saved run's request, with the budget flags of this command line."""
    cfg = rd.resume_config()
    if cfg.get("format") != CONFIG_FORMAT or cfg.get("kind") != "file":
        raise ValueError(f"{rd.config}: not the config of a `rnnkit train --data` run")
    if req.task is not None and req.task != cfg["task"]:
        raise ValueError(f"--resume: {rd.path} holds a {cfg['task']} run, not --task {req.task}")
    for what in ("data", "test"):
        if getattr(req, what) is not None and _data_path(getattr(req, what)) != cfg.get(what):
            raise ValueError(f"--resume continues on the saved --{what} {cfg.get(what)}; do not pass another one")
    saved_opts = cfg.get("options", {})
    changed = sorted(k for k, v in req.params.items() if k not in RESUMABLE_PARAMS and cfg["params"].get(k) != v)
    changed += sorted(k for k, v in req.options.items() if saved_opts.get(k) != v)
    if changed:
        names = changed
        raise ValueError(f"--resume keeps the saved settings; only {sorted(RESUMABLE_PARAMS)} may change, got {names}")
    params = {**cfg["params"], **req.params}
    return cfg, TrainRequest(cfg["task"], req.out, cfg.get("data"), cfg.get("test"), params, cfg.get("options", {}),
                             True, False, req.report, req.progress, req.command)


def _saved_params(est) -> dict:
    """The estimator's parameters for config.json (``verbose`` follows each command line)."""
    return {k: v for k, v in est.get_params().items() if k != "verbose"}


def _fit_hooks(est, rd: RunDir, resume: bool) -> dict:
    """``checkpoint=``/``resume=`` for ``fit`` when the estimator takes them."""
    takes = inspect.signature(type(est).fit).parameters
    can = getattr(est, "can_checkpoint", lambda: True)()        # e.g. not an ensemble of several runs
    if "checkpoint" in takes and "resume" in takes and can:
        return {"checkpoint": rd.checkpoint, "resume": resume}
    if resume:
        why = ("this run trains several networks (ensemble_size > 1 or refit)" if not can else
               f"{type(est).__name__}.fit takes no checkpoint in this version of rnnkit")
        raise ValueError(f"--resume: {why}, so the run cannot continue; start it again with --overwrite")
    return {}


def _stopped_by(est, seconds: float) -> str:
    epochs = len(est.history_.epochs)
    if getattr(est, "max_time", None) is not None and seconds >= 0.98 * est.max_time:
        return "max_time"
    if epochs >= est.max_epochs:
        return "max_epochs"
    return "early_stopping"


def _files(rd: RunDir) -> dict:
    names = ("model.npz", "config.json", "checkpoint.npz", "history.json", "evaluation.json", "summary.json",
             "report.html")
    return {n.split(".")[0]: rd.file(n) for n in names if os.path.exists(rd.file(n))}


def _evaluation(spec, est, data, test, opts) -> dict:
    from rnnkit.apps.gradients import gradient_norms

    ev = spec.held_out(est, data, test, opts)
    norms, note = gradient_norms(est.model_, lambda: spec.probe(est, data, opts))
    return {"task": spec.name, **ev, "gradient_flow": norms, "gradient_note": note}


def _resume_hint(rd: RunDir) -> str:
    if os.path.isfile(rd.checkpoint):
        return (f"the last checkpoint {rd.checkpoint} is kept; continue with: rnnkit train --out {rd.path} --resume")
    return "no checkpoint was written (nothing to resume); run the command again"


def train_run(req: TrainRequest) -> dict:
    """Train as the module docstring says; returns the summary (also in DIR/summary.json)."""
    from rnnkit.apps.params import check_sizes, estimator_defaults
    from rnnkit.apps.task_table import TaskOptions, estimator_class, spec_of

    rd = RunDir(os.path.abspath(os.fspath(req.out)))
    cfg = None
    if req.resume:
        cfg, req = _from_config(req, rd)
    spec = spec_of(req.task)
    cls = estimator_class(spec)
    if req.data is None:
        raise ValueError(f"--task {spec.name} needs --data ({spec.data})")
    if req.test is not None and not spec.uses_test:
        raise ValueError(f"--test does not apply to --task {spec.name}")
    opts = TaskOptions(**req.options)
    defaults = estimator_defaults(cls)
    params = {**defaults, "verbose": 1 if req.progress else 0, **req.params}
    if opts.impute is not None and "impute" in defaults:          # the estimator fills the gaps itself
        params["impute"] = opts.impute
    check_sizes(params)
    est = cls(**params)
    data = spec.load(req.data, opts, "train")
    test = spec.load(req.test, opts, "test") if req.test is not None else None
    if test is not None and spec.check_test is not None:
        spec.check_test(data, test)
    if spec.check is not None:
        spec.check(est, data, opts)
    fit_kw = _fit_hooks(est, rd, req.resume)

    with open_run(rd, overwrite=req.overwrite, resume=req.resume):
        if cfg is None:
            cfg = {"format": CONFIG_FORMAT, "version": 1, "kind": "file", "task": spec.name,
                   "estimator": cls.__name__, "data": _data_path(req.data), "test": _data_path(req.test),
                   "params": _saved_params(est), "options": {k: v for k, v in asdict(opts).items()
                                                             if v != getattr(TaskOptions(), k)},
                   "command": req.command}
        write_json(rd.config, {**cfg, "params": _saved_params(est)})
        t0 = time.monotonic()
        _fit(spec, est, data, opts, fit_kw, rd)
        seconds = time.monotonic() - t0
        est.save(rd.model)
        write_json(rd.file("history.json"), est.history_.to_dict())
        ev = _evaluation(spec, est, data, test, opts)
        write_json(rd.file("evaluation.json"), ev)
        summary = {"task": spec.name, "estimator": cls.__name__, "out": rd.path, "data": cfg["data"],
                   "test": cfg.get("test"), "held_out": {"on": ev["on"], **ev.get("summary", ev["metrics"])},
                   "epochs": len(est.history_.epochs), "best_epoch": getattr(est, "best_epoch_", None),
                   "stopped_by": _stopped_by(est, seconds), "seconds": round(seconds, 3)}
        return _finish(rd, summary, req.report)


def _finish(rd: RunDir, summary: dict, report: bool) -> dict:
    """summary.json (and report.html), then the summary with every file's path."""
    write_json(rd.file("summary.json"), summary)
    if report:
        from rnnkit.apps.report_run import write_report

        write_report(rd)
    summary["files"] = _files(rd)
    write_json(rd.file("summary.json"), summary)
    return summary


@contextlib.contextmanager
def open_run(rd: RunDir, *, overwrite: bool, resume: bool):
    """Lock ``rd`` and prepare it; when the block fails before a checkpoint or a model exists,
    remove what it wrote (the old run comes back with ``overwrite``, an empty directory made
    here goes)."""
    from rnnkit.io import file_lock

    if os.path.exists(rd.path) and not os.path.isdir(rd.path):
        raise ValueError(f"--out {rd.path} is a file, not a directory")
    created = not os.path.exists(rd.path)
    os.makedirs(rd.path, exist_ok=True)
    held = False
    try:
        with file_lock(os.path.join(rd.path, "train"), f"the run directory {rd.path}"):
            held = True
            rd.prepare(overwrite=overwrite, resume=resume)
            try:
                yield rd
            finally:
                if not resume and not os.path.exists(rd.checkpoint) and not os.path.exists(rd.file("model.npz")):
                    for name in ("config.json", "history.json", "evaluation.json", "summary.json"):
                        if os.path.exists(rd.file(name)):
                            os.unlink(rd.file(name))
                rd.settle_previous()
    finally:
        if created and held and os.listdir(rd.path) == ["train.lock"]:
            os.unlink(os.path.join(rd.path, "train.lock"))
            os.rmdir(rd.path)


def _fit(spec, est, data, opts, fit_kw, rd: RunDir) -> None:
    from rnnkit.train.errors import NonFiniteError

    try:
        spec.fit(est, data, opts, fit_kw)
    except NonFiniteError as err:
        where = ", ".join(f"{k} {getattr(err, k)}" for k in ("epoch", "step") if getattr(err, k, None) is not None)
        raise ValueError(f"training diverged ({where or 'during training'}): {err}; try a smaller --lr (it was "
                         f"{est.lr}), --clip-grad-norm 1, or check the data for very large values; "
                         f"{_resume_hint(rd)}") from None
    except KeyboardInterrupt:
        raise RunInterrupted(f"training stopped by Ctrl-C; {_resume_hint(rd)}") from None
