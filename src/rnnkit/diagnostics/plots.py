"""PNG plots of gradient flow and gate statistics (matplotlib, optional: ``rnnkit[plot]``).

matplotlib is imported inside the functions and drawn with the Agg canvas on a bare
``Figure``, so the global pyplot backend of the caller is left alone and no display is needed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from rnnkit.diagnostics.flow import GradientFlow
from rnnkit.diagnostics.gates import ActivationStats

__all__ = ["plot_gradient_flow", "plot_gate_stats"]


def _figure(nrows: int, ncols: int, figsize):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError("plotting needs matplotlib: pip install 'rnnkit[plot]'") from err
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _check_path(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    return os.fspath(path)


def _curve(value, layer: int, direction: int) -> np.ndarray:
    """One (T,) curve from a GradientFlow or an (L, D, T) array such as jacobian_norms."""
    if isinstance(value, GradientFlow):
        arr = value.norms
    elif isinstance(value, np.ndarray) and value.ndim == 3:
        arr = value
    else:
        raise TypeError(
            f"results values must be GradientFlow or (L, D, T) arrays, got {type(value).__name__}"
        )
    try:
        y = np.asarray(arr[layer, direction], dtype=np.float64)
    except IndexError as err:
        raise ValueError(
            f"layer={layer}, direction={direction} is out of range for shape {arr.shape[:2]}"
        ) from err
    return np.where(y > 0, y, np.nan)            # log axis: zeros and NaN are gaps


def plot_gradient_flow(results: Mapping, path, *, layer: int = -1, direction: int = 0,
                       title: str | None = None, ylabel: str | None = None) -> str:
    """Line plot (log y) of the per-step norm against the time step t.

    ``results`` is ``{label: GradientFlow or (L, D, T) array}`` for one panel, or
    ``{panel title: {label: ...}}`` for several panels side by side. Returns the path.

    Example::

        plot_gradient_flow(compare_cells(T=50), "flow.png")
    """
    path = _check_path(path)
    if not isinstance(results, Mapping) or not results:
        raise ValueError("results must be a non-empty mapping {label: GradientFlow}")
    nested = all(isinstance(v, Mapping) for v in results.values())
    panels = dict(results) if nested else {title or "": results}
    fig, axes = _figure(1, len(panels), (6.4 * len(panels), 4.6))
    for ax, (ptitle, series) in zip(axes[0], panels.items()):
        is_flow = True
        colors: dict[str, str] = {}                  # '<label>, clip=c' reuses <label>'s colour, dashed
        for label, value in series.items():
            y = _curve(value, layer, direction)
            is_flow = is_flow and isinstance(value, GradientFlow)
            base, dashed = str(label).split(", clip=")[0], ", clip=" in str(label)
            color = colors.setdefault(base, f"C{len(colors) % 10}")
            ax.plot(np.arange(y.size), y, label=str(label), color=color,
                    linestyle="--" if dashed else "-", linewidth=1.6)
        ax.set_yscale("log")
        ax.set_xlabel("time step t (loss at the last step)")
        ax.set_ylabel(ylabel or (r"$\|\partial L / \partial h_t\|_2$" if is_flow
                                 else r"$\|\partial s_T / \partial s_t\|_2$"))
        if ptitle:
            ax.set_title(ptitle)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    if nested and title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    return path


def plot_gate_stats(stats: Mapping, path, *, title: str | None = None) -> str:
    """Histograms of gate activations, one row per model and one panel per activation.

    ``stats`` is a :func:`gate_stats` result ``{key: ActivationStats}`` or
    ``{model label: {key: ActivationStats}}``. Each panel's title gives the mean and the
    saturated fraction. Returns the path.
    """
    path = _check_path(path)
    if not isinstance(stats, Mapping) or not stats:
        raise ValueError("stats must be a non-empty mapping {key: ActivationStats}")
    nested = all(isinstance(v, Mapping) for v in stats.values())
    rows = dict(stats) if nested else {"": stats}
    for label, row in rows.items():
        for k, s in row.items():
            if not isinstance(s, ActivationStats):
                raise TypeError(f"stats[{label!r}][{k!r}] must be ActivationStats, got {type(s).__name__}")
    ncols = max(len(r) for r in rows.values())
    fig, axes = _figure(len(rows), ncols, (2.6 * ncols + 0.6, 2.2 * len(rows) + 0.4))
    for r, (label, row) in enumerate(rows.items()):
        for c in range(ncols):
            ax = axes[r, c]
            if c >= len(row):
                ax.set_axis_off()
                continue
            key, s = list(row.items())[c]
            widths = np.diff(s.edges)
            ax.bar(s.edges[:-1], s.hist, width=widths, align="edge", color=f"C{c % 10}", alpha=0.8)
            ax.set_title(f"{label + ': ' if label else ''}{key}\nmean {s.mean:.2f}, saturated "
                         f"{100 * s.saturated:.0f}%", fontsize=8)
            ax.tick_params(labelsize=7)
            if c == 0:
                ax.set_ylabel("fraction", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    return path
