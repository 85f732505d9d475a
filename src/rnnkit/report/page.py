"""One self-contained HTML page for a training run: every picture is a PNG inside the page
(``data:`` URLs), so the file can be mailed, archived or opened offline.

The page is built from a plain dict (what ``rnnkit train`` writes into its run directory)::

    {"title": str, "summary": {metric: value}, "config": {...},
     "history": {"epochs": [{"epoch": 1, "loss": ..., "val_loss": ...}, ...]},
     "evaluation": [{"kind": "forecast" | "confusion" | "scatter" | "text" | "pairs", ...}],
     "gradient_flow": {"layer 0": [||dL/dh_t|| for t in 0..T-1], ...}}

Sections appear for the keys present; each evaluation entry is drawn by the renderer of its
``kind`` (see ``SECTIONS``).

Example::

    html = render_report({"title": "demo", "summary": {"val_loss": 0.1},
                          "history": {"epochs": [{"epoch": 1, "loss": 1.0, "val_loss": 0.5}]}})
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable, Mapping

from rnnkit.report import figures

__all__ = ["render_report", "SECTIONS"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 3px 10px; border: 1px solid #ddd; }
th { background: #f4f4f4; text-align: left; } img { max-width: 100%; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; white-space: pre-wrap; }
.note { color: #666; font-size: 0.9em; }
"""


def _img(data: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return html.escape(json.dumps(v)[:200])
    return html.escape(str(v))


def _table(rows: Mapping, head: tuple[str, str] = ("", "")) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>" for k, v in rows.items())
    top = f"<tr><th>{html.escape(head[0])}</th><th>{html.escape(head[1])}</th></tr>" if any(head) else ""
    return f"<table>{top}{body}</table>"


def _forecast(ev: Mapping) -> str:
    pic = figures.forecast_figure(ev["history_index"], ev["history"], ev["index"], ev["truth"], ev["forecast"],
                                  ev.get("lower"), ev.get("upper"), ev.get("baselines"), ev.get("level"),
                                  ev.get("title", ""))
    metrics = ev.get("metrics")
    table = ""
    if metrics:                                          # {model or baseline: {metric: value}}
        names = list(next(iter(metrics.values())))
        head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
        rows = "".join(f"<tr><th>{html.escape(m)}</th>" + "".join(f"<td>{_fmt(v.get(n))}</td>" for n in names)
                       + "</tr>" for m, v in metrics.items())
        table = f"<table><tr><th></th>{head}</tr>{rows}</table>"
    return _img(pic, "forecast against the held-out truth") + table


def _confusion(ev: Mapping) -> str:
    acc = ev.get("accuracy")
    note = f'<p class="note">accuracy {acc:.4f} on {html.escape(str(ev.get("on", "held-out data")))}</p>' \
        if acc is not None else ""
    return _img(figures.confusion_figure(ev["classes"], ev["matrix"]), "confusion matrix") + note


def _scatter(ev: Mapping) -> str:
    return _img(figures.scatter_figure(ev["truth"], ev["pred"], ev.get("title", "")), "predicted against true")


def _text(ev: Mapping) -> str:
    return f'<p class="note">{html.escape(ev.get("title", "sample"))}</p><pre>{html.escape(ev["text"])}</pre>'


def _pairs(ev: Mapping) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(s))}</td><td>{html.escape(str(t))}</td>"
                   f"<td>{html.escape(str(p))}</td></tr>" for s, t, p in ev["rows"])
    return f"<table><tr><th>input</th><th>target</th><th>predicted</th></tr>{rows}</table>"


SECTIONS: dict[str, tuple[str, Callable[[Mapping], str]]] = {
    "forecast": ("Forecast on held-out data", _forecast),
    "confusion": ("Confusion matrix", _confusion),
    "scatter": ("Predictions", _scatter),
    "text": ("Generated text", _text),
    "pairs": ("Examples", _pairs),
}


def render_report(run: Mapping) -> str:
    """The HTML page (a string) for ``run`` (see the module docstring)."""
    title = str(run.get("title", "rnnkit run"))
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    if run.get("summary"):
        parts.append("<h2>Results</h2>" + _table(run["summary"]))
    epochs = (run.get("history") or {}).get("epochs") or []
    if epochs:
        parts.append("<h2>Training curves</h2>" + _img(figures.training_curves(epochs), "loss and metric curves"))
    for ev in run.get("evaluation") or []:
        kind = ev.get("kind")
        if kind not in SECTIONS:
            raise ValueError(f"evaluation kind must be one of {sorted(SECTIONS)}, got {kind!r}")
        heading, draw = SECTIONS[kind]
        parts.append(f"<h2>{html.escape(ev.get('heading', heading))}</h2>" + draw(ev))
    if run.get("gradient_flow"):
        parts.append("<h2>Gradient flow through time</h2>"
                     "<p class='note'>The norm of the loss gradient reaching the hidden state at each time "
                     "step, on one training batch: where it falls by orders of magnitude towards early steps, "
                     "the network cannot learn from them (vanishing gradients).</p>"
                     + _img(figures.gradient_figure(run["gradient_flow"]), "gradient norm per time step"))
    if run.get("config"):
        parts.append("<h2>Configuration</h2><pre>" + html.escape(json.dumps(run["config"], indent=2, default=str))
                     + "</pre>")
    parts.append("</body></html>")
    return "".join(parts)
