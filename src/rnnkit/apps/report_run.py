"""``rnnkit report DIR`` (and ``train --report``): DIR/report.html from the run's JSON files.

The page (:func:`rnnkit.report.render_report`) gets the summary, the training curves
(history.json), the held-out evaluation and the gradient norms per step (evaluation.json)
and the configuration (config.json); a file that is absent leaves its section out.
"""

from __future__ import annotations

import os

from rnnkit.apps.run_dir import RunDir

__all__ = ["report_data", "write_report"]


def _flat(summary: dict) -> dict:
    out = {}
    for k, v in summary.items():
        if k == "files" or v is None:
            continue
        if isinstance(v, dict):
            out.update({f"{k}: {kk}": vv for kk, vv in v.items() if vv is not None})
        else:
            out[k] = v
    return out


def report_data(rd: RunDir) -> dict:
    """The dict :func:`rnnkit.report.render_report` draws, from ``rd``'s files."""
    cfg = rd.read_optional("config.json")
    if cfg is None:
        raise ValueError(f"{rd.path}: no config.json (is it a directory written by `rnnkit train`?)")
    summary = rd.read_optional("summary.json") or {}
    ev = rd.read_optional("evaluation.json") or {}
    history = rd.read_optional("history.json")
    task = cfg.get("task", "run")
    data = cfg.get("data")
    title = f"rnnkit {task}" + (f" on {os.path.basename(str(data))}" if data else "") + \
        (f" ({cfg['estimator']})" if cfg.get("estimator") else "")
    table = _flat(summary)
    if ev.get("gradient_note"):
        table["gradient flow"] = ev["gradient_note"]
    return {"title": title, "summary": table, "config": cfg, "history": history,
            "evaluation": ev.get("entries") or [], "gradient_flow": ev.get("gradient_flow")}


def write_report(rd: RunDir) -> str:
    """Write ``rd``/report.html; returns its path."""
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        raise ValueError("the report's plots need matplotlib: pip install 'rnnkit[plot]'") from None
    from rnnkit.io import write_text_atomic
    from rnnkit.report import render_report

    page = render_report(report_data(rd))
    path = rd.file("report.html")
    write_text_atomic(path, page)
    return path
