"""The HTML report: every section renders, its pictures decode, and a real headless browser
(Chromium, from Debian's packages in CI) draws the page."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest

from browser import needs_chromium, screenshot

pytest.importorskip("matplotlib", reason="the report's plots need matplotlib")

from rnnkit.report import SECTIONS, render_report  # noqa: E402


def _run() -> dict:
    t = np.arange(120)
    s = np.sin(t / 5.0)
    return {
        "title": "a run <with> markup & symbols",
        "summary": {"val_loss": 0.1, "val_accuracy": 0.9},
        "history": {"epochs": [{"epoch": i, "loss": 1 / i, "val_loss": 1.2 / i, "accuracy": 0.5 + i / 20,
                                "val_accuracy": 0.4 + i / 20, "lr": 1e-3} for i in range(1, 8)]},
        "evaluation": [
            {"kind": "forecast", "history_index": t[:100].tolist(), "history": s[:100].tolist(),
             "index": t[100:].tolist(), "truth": s[100:].tolist(), "forecast": (s[100:] + 0.1).tolist(),
             "lower": (s[100:] - 0.3).tolist(), "upper": (s[100:] + 0.5).tolist(), "level": 0.9,
             "baselines": {"seasonal naive": [0.2] * 20}, "metrics": {"rnn": {"rmse": 0.1}, "naive": {"rmse": 0.5}}},
            {"kind": "confusion", "classes": ["a", "b", "c"], "matrix": [[5, 1, 0], [0, 6, 1], [1, 0, 7]],
             "accuracy": 0.85},
            {"kind": "scatter", "truth": [1, 2, 3], "pred": [1.1, 2.2, 2.7]},
            {"kind": "text", "text": "def f(x):\n    return x  # <b>not bold</b>"},
            {"kind": "pairs", "rows": [["3 March 2021", "2021-03-03", "2021-03-03"]]},
        ],
        "gradient_flow": {"layer 0": (10.0 ** -np.arange(50.0)).tolist()},
        "config": {"task": "classify", "hidden_size": 64},
    }


def _pngs(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_every_section_renders_and_its_pictures_decode():
    from matplotlib.image import imread

    page = render_report(_run())
    assert {"Training curves", "Forecast on held-out data", "Confusion matrix", "Gradient flow through time",
            "Configuration", "Generated text", "Examples", "Predictions"} <= set(re.findall(r"<h2>(.*?)</h2>", page))
    images = _pngs(page)
    assert len(images) == 5                       # curves, forecast, confusion, scatter, gradient flow
    for data in images:
        img = imread(io.BytesIO(data), format="png")
        assert img.shape[0] > 100 and img.shape[1] > 100
        assert img[..., :3].std() > 0.02          # not a blank canvas
    assert "<b>not bold</b>" not in page and "&lt;b&gt;not bold&lt;/b&gt;" in page   # text is escaped
    assert "a run &lt;with&gt; markup &amp; symbols" in page


def test_an_unknown_evaluation_kind_is_refused():
    with pytest.raises(ValueError, match="evaluation kind must be one of"):
        render_report({"evaluation": [{"kind": "histogram"}]})
    assert set(SECTIONS) == {"forecast", "confusion", "scatter", "text", "pairs"}


@needs_chromium
def test_headless_chromium_renders_the_page(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_report(_run()), encoding="utf-8")
    img = screenshot(page, tmp_path, 1200, 3600)                    # (H, W, 3) in [0, 1]
    rows_with_ink = np.flatnonzero((img < 0.9).any(axis=2).any(axis=1))
    assert rows_with_ink.size > 0
    assert rows_with_ink.max() > 2000, "the page should reach far down (all plots drawn)"
    blue = (img[..., 2] > 0.6) & (img[..., 0] < 0.4)               # the confusion matrix and the lines
    assert blue.sum() > 5000, "the embedded plots did not render"
