"""Speedup over batch x candidates, diverging colours centred at 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from specroof.report.charts.common import category_ticks, check_chart_path, figure, save, styled, subtitle, titles

MAX_LABELLED_CELLS = 300
MAX_OUTLINED = 30


def _write_values(ax: Any, data: np.ndarray, norm: Any) -> None:
    """Each cell's value in it, white on the darkest colours."""
    size = 9 if data.size <= 80 else 7
    for (r, c), value in np.ndenumerate(data):
        shade = norm(value)
        color = "white" if shade < 0.18 or shade > 0.82 else "black"
        ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=size, color=color)


def _mark_best(ax: Any, data: np.ndarray) -> Any:
    """Outline the best n of each batch (a line through them on large grids); the legend handle."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    best = np.nanargmax(data, axis=1)
    rows, cols = data.shape
    if rows <= MAX_OUTLINED and cols <= MAX_OUTLINED:
        for r, c in enumerate(best):
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.2, zorder=3))
        return Patch(facecolor="none", edgecolor="black", linewidth=2, label="best n for the batch")
    ax.plot(best, range(rows), color="black", linewidth=1.2, marker="o", markersize=3, zorder=3)
    return Line2D([], [], color="black", linewidth=1.2, marker="o", markersize=3, label="best n for the batch")


@styled
def heatmap_figure(result: Any) -> Any:
    """The Figure of :func:`plot_heatmap`: axes 0 holds the image of ``speedup[:, :, 0]``."""
    from matplotlib.colors import TwoSlopeNorm

    data = np.asarray(result.speedup[:, :, 0], dtype=float)
    batches, candidates = [int(b) for b in result.batch], [int(c) for c in result.candidates]
    low, high = float(np.nanmin(data)), float(np.nanmax(data))
    norm = TwoSlopeNorm(vcenter=1.0, vmin=min(low, 0.95), vmax=max(high, 1.05))
    fig = figure(min(13.0, max(6.5, 2.6 + 0.62 * len(candidates))), min(9.0, max(4.0, 1.6 + 0.45 * len(batches))))
    ax = fig.add_subplot()
    ax.grid(False)
    image = ax.imshow(data, cmap="RdBu", norm=norm, aspect="auto", origin="upper", interpolation="nearest")
    category_ticks(ax.set_xticks, candidates)
    category_ticks(ax.set_yticks, batches)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if data.size <= MAX_LABELLED_CELLS:
        _write_values(ax, data, norm)
    marker = _mark_best(ax, data)
    bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
    bar.set_label("speedup over plain decoding (×)")
    ax.set_xlabel("candidate tokens verified per sequence, n")
    ax.set_ylabel("batch size")
    fig.legend(handles=[marker], loc="outside lower center", frameon=False, fontsize=9)
    step = result.step
    titles(fig, ax, f"{step.model.name} on {step.hardware.display_name}: speedup, seq_len "
           f"{int(result.seq_len[0]):,}", subtitle(result))
    return fig


@styled
def plot_heatmap(result: Any, path: str | Path) -> Path:
    """Speedup over batch x candidates at the first ``seq_len``, diverging colours centred at 1.

    Blue cells gain, red cells lose; every value is written in its cell when the grid is small
    enough to read, and the best candidate count of each batch size is outlined.
    """
    path = check_chart_path(path)
    return save(heatmap_figure(result), path)
