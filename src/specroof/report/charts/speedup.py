"""Speedup vs candidate tokens, one line per batch size (Medusa Figure 22 style)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from specroof.report.charts.common import (
    candidate_ticks,
    check_chart_path,
    colors,
    figure,
    number,
    reference_points,
    save,
    styled,
    subtitle,
    titles,
)


def _series(result: Any) -> tuple[list[tuple[str, np.ndarray, tuple[str, int], dict[str, int]]], str, str]:
    """(label, speedup over candidates, (key, value), fixed columns) per line, the legend title
    and what the lines share: one line per batch, or per context length for a single batch."""
    if len(result.batch) == 1 and len(result.seq_len) > 1:
        batch = int(result.batch[0])
        series = [(f"{int(s):,}", result.speedup[0, :, k], ("seq_len", int(s)), {"batch": batch})
                  for k, s in enumerate(result.seq_len)]
        return series, "context length", f"batch {batch}"
    seq = int(result.seq_len[0])
    series = [(f"{int(b)}", result.speedup[i, :, 0], ("batch", int(b)), {"seq_len": seq})
              for i, b in enumerate(result.batch)]
    return series, "batch size", f"seq_len {seq:,}"


@styled
def speedup_figure(result: Any, reference: Iterable[dict[str, Any]] | None = None) -> Any:
    """The Figure of :func:`plot_speedup_vs_candidates`: axes 0 holds one line per series
    (labelled by its batch or context length) and, with ``reference``, one marker set each."""
    from matplotlib.lines import Line2D

    candidates = np.asarray(result.candidates)
    series, legend_title, where = _series(result)
    reference = list(reference) if reference is not None else None
    fig = figure(8.0, 5.0)
    ax = fig.add_subplot()
    handles = []
    for (label, values, (key, value), fixed), color in zip(series, colors(len(series))):
        (line,) = ax.plot(candidates, values, marker="o", markersize=4, linewidth=2, color=color, label=label)
        handles.append(line)
        if reference:
            xs, ys = reference_points(reference, key, value, fixed, single=len(series) == 1)
            ax.scatter(xs, ys, marker="D", s=38, color=color, edgecolors="black", linewidths=0.8, zorder=4)
    ax.axhline(1.0, linestyle="--", color="0.25", linewidth=1.1, zorder=1)
    handles.append(Line2D([], [], linestyle="--", color="0.25", linewidth=1.1, label="no speedup (1.0)"))
    if reference:
        handles.append(Line2D([], [], linestyle="none", marker="D", markersize=6, markerfacecolor="0.75",
                              markeredgecolor="black", label="published (paper)"))
        handles.append(Line2D([], [], linestyle="-", marker="o", markersize=4, color="0.45", label="specroof"))
    ax.set_xlabel("candidate tokens verified per sequence, n")
    ax.set_ylabel("speedup over plain decoding (×)")
    candidate_ticks(ax, candidates)
    top = float(max(np.nanmax(values) for _, values, _, _ in series))
    if reference:
        top = max([top] + [y for row in reference if (y := number(row, "speedup")) is not None])
    ax.set_ylim(0, max(1.2, top * 1.08))
    ax.set_xlim(left=0)
    ax.legend(handles=handles, title=legend_title, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    step = result.step
    titles(fig, ax, f"{step.model.name} on {step.hardware.display_name}: speedup vs candidates, {where}",
           subtitle(result))
    return fig


@styled
def plot_speedup_vs_candidates(result: Any, path: str | Path,
                               reference: Iterable[dict[str, Any]] | None = None) -> Path:
    """Speedup vs candidate tokens, one line per batch size (Medusa Figure 22 style).

    Lines are drawn for the first ``seq_len``; a grid with a single batch and several
    ``seq_len`` gets one line per context length instead. ``reference`` rows (dicts with
    ``candidates``, ``speedup`` and optionally ``batch``/``seq_len``, as read by
    :func:`read_reference_csv`) are drawn as markers in their series' colour.
    """
    path = check_chart_path(path)
    return save(speedup_figure(result, reference), path)
