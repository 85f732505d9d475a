"""The report's pictures, each a PNG (bytes) drawn with matplotlib's Agg canvas.

Every function takes plain data (lists, arrays, dicts from a run directory's JSON files) and
returns the PNG bytes, so the page can embed them and a test can decode them. matplotlib is
imported inside (``rnnkit[plot]``, part of the README's install command); pyplot's global
state is never touched.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["png", "training_curves", "forecast_figure", "confusion_figure", "scatter_figure",
           "gradient_figure"]


def _figure(nrows: int, ncols: int, figsize):
    from rnnkit.diagnostics.plots import _figure as figure

    return figure(nrows, ncols, figsize)


def png(fig, dpi: int = 96) -> bytes:
    """The figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _finite(values) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def training_curves(epochs: Sequence[Mapping]) -> bytes:
    """Loss and every metric per epoch, training (solid) and validation (dashed) side by side.

    ``epochs`` is ``History.to_dict()['epochs']``: one dict per epoch with ``loss``,
    ``val_loss``, ``<metric>``, ``val_<metric>``.
    """
    keys = []
    for e in epochs:
        keys += [k for k in e if k not in keys]
    skip = {"epoch", "lr", "seconds", "skipped_steps", "step", "batches", "complete"}
    bases = [k for k in keys if not k.startswith("val_") and k not in skip]
    bases += [k[4:] for k in keys if k.startswith("val_") and k[4:] not in bases]
    n = max(1, len(bases))
    fig, axes = _figure(1, n, (4.2 * n, 3.2))
    x = np.array([e.get("epoch", i + 1) for i, e in enumerate(epochs)])
    for ax, base in zip(axes[0], bases):
        for key, style, label in ((base, "-", "train"), ("val_" + base, "--", "validation")):
            if key in keys:
                ax.plot(x, _finite(e.get(key) for e in epochs), style, marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_title(base)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return png(fig)


def forecast_figure(history_index, history, index, truth, forecast, lower=None, upper=None,
                    baselines: Mapping | None = None, level: float | None = None, title: str = "") -> bytes:
    """The series' recent past, the held-out truth, the forecast with its interval band, and
    the baselines' forecasts of the same steps. Indexes are step numbers or ISO dates."""
    fig, axes = _figure(1, 1, (9.0, 3.8))
    ax = axes[0, 0]
    hx, x = _axis(history_index), _axis(index)
    ax.plot(hx, _finite(history), color="0.35", label="history")
    ax.plot(x, _finite(truth), color="black", marker=".", label="held-out truth")
    if lower is not None and upper is not None:
        band = f"{100 * level:.0f}% interval" if level else "interval"
        ax.fill_between(x, _finite(lower), _finite(upper), color="C0", alpha=0.2, label=band)
    ax.plot(x, _finite(forecast), color="C0", linewidth=2, label="forecast")
    for i, (name, values) in enumerate((baselines or {}).items()):
        ax.plot(x, _finite(values), linestyle="--", color=f"C{i + 1}", label=name)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=3)
    return png(fig)


def _axis(index) -> np.ndarray:
    a = np.asarray(index)
    if a.dtype.kind in "US":                       # ISO dates from JSON
        try:
            return a.astype("datetime64[D]")
        except ValueError:
            return np.arange(a.size)
    return a.astype(np.float64)


def confusion_figure(classes: Sequence, matrix) -> bytes:
    """Confusion matrix (rows true class, columns predicted), counts in the cells."""
    m = np.asarray(matrix, dtype=np.int64)
    k = m.shape[0]
    side = min(11.0, 2.5 + 0.45 * k)
    fig, axes = _figure(1, 1, (side + 1.2, side))
    ax = axes[0, 0]
    im = ax.imshow(m, cmap="Blues")
    labels = [str(c) for c in classes]
    ax.set_xticks(range(k), labels, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center", fontsize=8)
    ax.set_yticks(range(k), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 30:
        top = m.max() if m.size else 0
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > top / 2 else "black")
    fig.colorbar(im, ax=ax, shrink=0.8)
    return png(fig)


def scatter_figure(truth, pred, title: str = "") -> bytes:
    """Predicted against true values, with the diagonal."""
    t, p = _finite(np.ravel(truth)), _finite(np.ravel(pred))
    fig, axes = _figure(1, 1, (4.6, 4.4))
    ax = axes[0, 0]
    ax.scatter(t, p, s=10, alpha=0.6)
    lo, hi = np.nanmin([t.min(), p.min()]), np.nanmax([t.max(), p.max()])
    ax.plot([lo, hi], [lo, hi], color="0.4", linestyle="--", linewidth=1)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return png(fig)


def gradient_figure(norms: Mapping[str, Sequence[float]], title: str = "") -> bytes:
    """``||dL/dh_t||`` against the time step t (log scale), one line per layer/direction:
    how much of the loss gradient reaches each step (the vanishing-gradient picture)."""
    fig, axes = _figure(1, 1, (7.0, 3.6))
    ax = axes[0, 0]
    for label, values in norms.items():
        y = _finite(values)
        ax.plot(np.arange(y.size), np.where(y > 0, y, np.nan), label=label)
    ax.set_yscale("log")
    ax.set_xlabel("time step t")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|_2$")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return png(fig)
