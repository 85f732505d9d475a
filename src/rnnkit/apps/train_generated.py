"""``rnnkit train --task adding_problem`` (and the other built-in generated tasks): the data is
made on the spot, the model and training come from :mod:`rnnkit.apps.tasks`, and the run
directory follows the same rules as a run on files (lock, --overwrite, --resume, summary)."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, fields

from rnnkit.apps.run_dir import RunDir, write_json
from rnnkit.apps.train_run import CONFIG_FORMAT, RunInterrupted, _finish, _resume_hint, open_run

__all__ = ["train_generated", "probe_generated", "GENERATED_RESUMABLE", "generated_config"]

GENERATED_RESUMABLE = frozenset({"epochs", "max_time"})


def generated_config(cfg: dict):
    """The ``TrainConfig`` saved in a config.json (this layout, or the bare one of rnnkit 0.1)."""
    from rnnkit.apps.tasks import TrainConfig

    settings = cfg.get("settings", cfg) if cfg.get("format") == CONFIG_FORMAT else cfg
    names = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(settings) - names)
    if unknown:
        raise ValueError(f"config.json: unknown settings {unknown} for a built-in task run")
    return TrainConfig(**settings)


def train_generated(task: str | None, out: str, settings: dict, *, resume: bool, overwrite: bool, report: bool,
                    progress: bool, command: str = "") -> dict:
    """Train a built-in generated task; ``settings`` are ``TrainConfig`` fields given explicitly."""
    from rnnkit.apps.params import check_sizes
    from rnnkit.apps.tasks import TrainConfig, train_task

    rd = RunDir(os.path.abspath(os.fspath(out)))
    if resume:
        cfg = generated_config(rd.resume_config())
        if task is not None and task != cfg.task:
            raise ValueError(f"--resume: {rd.path} holds a {cfg.task} run, not --task {task}")
        saved = asdict(cfg)
        changed = sorted(k for k, v in settings.items() if k not in GENERATED_RESUMABLE and saved.get(k) != v)
        if changed:
            raise ValueError(f"--resume keeps the saved settings; only {sorted(GENERATED_RESUMABLE)} may change, "
                             f"got {changed}")
        cfg = TrainConfig(**{**asdict(cfg), **settings})
    else:
        cfg = TrainConfig(**{**settings, "task": task})
    cfg.validate()
    check_sizes({"hidden_size": cfg.hidden_size, "num_layers": cfg.num_layers, "bidirectional": cfg.bidirectional,
                 "embedding_dim": cfg.embedding_dim, "batch_size": cfg.batch_size, "n": cfg.n,
                 "text_chars": cfg.text_chars, "epochs": cfg.epochs, "tbptt_k": cfg.tbptt_k})
    with open_run(rd, overwrite=overwrite, resume=resume):
        write_json(rd.config, {"format": CONFIG_FORMAT, "version": 1, "kind": "generated", "task": cfg.task,
                               "settings": asdict(cfg), "command": command})
        t0 = time.monotonic()
        try:
            final = train_task(cfg, rd.path, resume=resume, progress=progress)
        except KeyboardInterrupt:
            raise RunInterrupted(f"training stopped by Ctrl-C; {_resume_hint(rd)}") from None
        seconds = round(time.monotonic() - t0, 3)
        write_json(rd.file("evaluation.json"), _evaluation(cfg, rd))
        summary = {"task": cfg.task, "out": rd.path, **final, "seconds": seconds}
        return _finish(rd, summary, report)


def probe_generated(cfg, model) -> None:
    """Run ``model`` on one training batch of its task (for the gradient-flow picture)."""
    from rnnkit.apps.tasks import _loss_and_metrics, _xyl, load_task_data
    from rnnkit.train import evaluate, evaluate_tbptt

    if cfg.task == "stdlib_text":
        ds = load_task_data(cfg.task, 4 * cfg.tbptt_k, cfg.seed)
        evaluate_tbptt(model, ds.ids, k=cfg.tbptt_k, batch_size=1, loss="cross_entropy")
        return
    ds = load_task_data(cfg.task, cfg.batch_size, cfg.seed)
    evaluate(model, _xyl(ds), loss=_loss_and_metrics(cfg, ds)[0])


def _evaluation(cfg, rd: RunDir) -> dict:
    from rnnkit.apps.gradients import gradient_norms
    from rnnkit.serialization import load_model

    model = load_model(rd.model)
    norms, note = gradient_norms(model, lambda: probe_generated(cfg, model))
    return {"task": cfg.task, "on": "fresh data of the task (rnnkit evaluate DIR)", "metrics": {}, "entries": [],
            "gradient_flow": norms, "gradient_note": note}
