"""``rnnkit predict | evaluate | sample | export DIR``: use what ``rnnkit train`` saved.

``DIR`` is a run directory or a model file in it. Its config.json says the task and how the
training files were read, so the same options read the new file; without a config.json
(an estimator saved from Python with ``est.save``) the task follows from the estimator's class.
The built-in generated tasks keep their behaviour: predict and evaluate score the model on
freshly generated data of the task.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from dataclasses import dataclass

from rnnkit.apps.run_dir import RunDir

__all__ = ["Run", "open_run_dir", "predict_run", "evaluate_run", "sample_run", "export_run", "write_table"]


@dataclass
class Run:
    """A trained run: its directory, config (or None), and either a task record and the fitted
    estimator, or (a built-in generated task) neither."""

    rd: RunDir
    config: dict | None
    spec: object = None          # TaskSpec, or None for a generated task's model
    est: object = None

    @property
    def task(self) -> str:
        if self.spec is not None:
            return self.spec.name
        return (self.config or {}).get("task", "a built-in task")

    def options(self):
        from rnnkit.apps.task_table import TaskOptions

        saved = dict((self.config or {}).get("options") or {})
        if isinstance(saved.get("suffixes"), list):
            saved["suffixes"] = tuple(saved["suffixes"])
        return TaskOptions(**saved)

    def data_path(self, given: str | None) -> str:
        if given is not None:
            return given
        saved = (self.config or {}).get("data")
        if saved is None:
            raise ValueError(f"{self.rd.path}: no saved --data to use (pass --data FILE)")
        return saved


def _is_generated(cfg: dict | None) -> bool:
    from rnnkit.apps.tasks import TASKS

    if cfg is None:
        return False
    if cfg.get("format") == "rnnkit.run":
        return cfg.get("kind") == "generated"
    return cfg.get("task") in TASKS                   # rnnkit 0.1's config.json: TrainConfig's fields


def open_run_dir(path) -> Run:
    """The run at ``path`` (a directory or a model file), its model loaded and checked."""
    from rnnkit.apps.task_table import spec_for_estimator, spec_of
    from rnnkit.estimators import BaseEstimator, load

    rd = RunDir.of(path)
    rd.require_model()
    own = rd.model_path is None or os.path.basename(rd.model_path) == "model.npz"
    cfg = rd.read_optional("config.json") if own else None     # another file in DIR is not DIR's run
    if _is_generated(cfg):
        return Run(rd, cfg)
    obj = load(rd.model)
    if not isinstance(obj, BaseEstimator):
        return Run(rd, cfg)                            # a model: the generated tasks' evaluate reads its metadata
    spec = spec_for_estimator(obj)
    if spec is None:
        raise ValueError(f"{rd.model}: holds a {type(obj).__name__}, which no `rnnkit train --task` makes")
    if cfg is not None and cfg.get("task") is not None:
        saved = spec_of(cfg["task"])
        if saved is not spec:
            raise ValueError(f"{rd.model}: holds a {type(obj).__name__} (a {spec.name} model), but {rd.config} "
                             f"says the run is --task {saved.name}")
    return Run(rd, cfg, spec, obj)


def _need_task(run: Run, what: str) -> None:
    if run.spec is None:
        raise ValueError(f"{run.rd.path} holds a built-in task's model ({run.task}): {what}")


def write_table(header, rows, out: str | None) -> dict | None:
    """The rows as CSV to ``out`` (atomically) or to stdout; returns what to print after."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    if out is None:
        sys.stdout.write(buf.getvalue())
        return None
    from rnnkit.io import write_text_atomic

    if os.path.isdir(out):
        raise IsADirectoryError(f"--out {out}: is a directory, expected a file name")
    write_text_atomic(out, buf.getvalue())
    return {"predictions": os.fspath(out), "rows": len(rows), "columns": list(header)}


def _on_fresh_data(run: Run, data, n: int, seed: int) -> dict:
    """A built-in generated task's model, scored on ``n`` fresh examples of its task."""
    from rnnkit.apps.tasks import evaluate_task

    if data is not None:
        raise ValueError(f"{run.rd.path} holds a built-in task's model ({run.task}): it is scored on fresh data of "
                         "its task, not on --data")
    return {"task": run.task, "fresh_data": {"n": n, "seed": seed}, **evaluate_task(run.rd.model, n=n, seed=seed)}


def predict_run(path, *, data=None, out=None, horizon=None, beam_size=None, n=1000, seed=12345):
    """Forecasts / labels / tags / translations of ``data`` (default: the run's --data), as CSV."""
    run = open_run_dir(path)
    if run.spec is None:
        return _on_fresh_data(run, data, n, seed)
    if run.spec.predict is None:
        raise ValueError(f"{run.rd.path} holds a {run.spec.name} run: `rnnkit sample {run.rd.path} --prime TEXT` "
                         f"writes text, `rnnkit evaluate {run.rd.path} --data FILE` scores a text")
    opts = run.options()
    d = run.spec.load(run.data_path(data), opts, "predict")
    header, rows = run.spec.predict(run.est, d, opts, {"horizon": horizon, "beam_size": beam_size})
    return write_table(header, rows, out)


def evaluate_run(path, *, data=None, horizon=None, start=None, stride=None, n=1000, seed=12345) -> dict:
    """Metrics of the model on ``data`` (default: the run's --data) with the task's baselines."""
    run = open_run_dir(path)
    if run.spec is None:
        return _on_fresh_data(run, data, n, seed)
    opts = run.options()
    d = run.spec.load(run.data_path(data), opts, "test")
    return run.spec.evaluate(run.est, d, opts, {"horizon": horizon, "start": start, "stride": stride})


def sample_run(path, *, prime=None, length=300, temperature=0.8, seed=0) -> str:
    from rnnkit._checks import check_float_range, check_int

    length = check_int("--length", length, 1)
    temperature = check_float_range("--temperature", temperature, 0.0, 100.0)
    run = open_run_dir(path)
    if run.spec is None:
        from rnnkit.apps.sample import sample_text

        return sample_text(run.rd.model, length=length, prime="def " if prime is None else prime,
                           temperature=temperature, seed=seed)
    if run.spec.sample is None:
        raise ValueError(f"{run.rd.path} holds a {run.spec.name} run; sample needs a `--task generate` run")
    return run.spec.sample(run.est, {"prime": prime, "length": length, "temperature": temperature, "seed": seed})


def export_run(path, onnx, *, opset=None, verify=True) -> dict:
    from rnnkit.export import export_run_dir

    rd = RunDir.of(path)
    rd.require_model()
    try:
        import onnx as _onnx  # noqa: F401
    except ModuleNotFoundError:
        raise ValueError("export needs the onnx package (and onnxruntime to verify): pip install 'rnnkit[export]'") \
            from None
    return export_run_dir(rd.model, onnx, opset=opset, verify=verify)
