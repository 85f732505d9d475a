"""The HTML report of a training run (``rnnkit report DIR``): curves, forecasts with intervals,
confusion matrices, gradient flow through time and the configuration, in one page."""

from rnnkit.report.page import SECTIONS, render_report

__all__ = ["render_report", "SECTIONS"]
