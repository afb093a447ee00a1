"""Waterfall chart of :func:`specroof.speculation.explain.explain`: from tau down to the speedup.

The first bar is the ideal speedup (tau: every candidate verified for free), each following
bar the points of speedup one group of causes takes away (linear layers, attention, LM head,
elementwise/overhead, drafting; see the explain module for how the gap is split), and the
last bar the predicted speedup. A dashed line marks 1.0, where speculation stops paying.
matplotlib is imported only when a chart is drawn, and only its Figure API (no ``pyplot``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specroof.datafiles import check_writable, save_figure
from specroof.errors import SpecroofError
from specroof.report.charts.common import figure, styled
from specroof.report.formats import signed

SUFFIXES = (".png", ".svg", ".pdf")
TOTAL_COLOR, LOSS_COLOR, GAIN_COLOR = "#4c72b0", "#c44e52", "#55a868"


def check_path(path: str | Path) -> Path:
    """The output path, if its suffix is one matplotlib writes and its folder exists."""
    out = Path(path)
    if out.suffix.lower() not in SUFFIXES:
        raise SpecroofError(f"chart file {str(out)!r} must end in {', '.join(SUFFIXES)}")
    if not out.parent.exists():
        raise SpecroofError(f"folder {str(out.parent)!r} for the chart does not exist")
    return check_writable(out, "chart")


def waterfall_bars(explanation: Any) -> tuple[list[str], list[float], list[float], list[str], list[str]]:
    """(labels, bottoms, heights, colours, texts) of the bars: tau, each group's lost points, the speedup."""
    e = explanation
    groups = [g for g in e.groups() if g["added_ms"] != 0.0 or g["speedup_lost_points"] != 0.0]
    labels = ["ideal (tau)"] + [g["group"] for g in groups] + ["predicted"]
    bottoms, heights, colors, texts = [0.0], [e.tau], [TOTAL_COLOR], [f"{e.tau:.2f}"]
    level = e.tau
    for g in groups:
        lost = g["speedup_lost_points"]
        bottoms.append(min(level, level - lost))
        heights.append(abs(lost))
        colors.append(LOSS_COLOR if lost > 0 else GAIN_COLOR)
        texts.append(f"{signed(-lost, 2)}\n{signed(g['added_ms'], 3)} ms")
        level -= lost
    bottoms.append(0.0)
    heights.append(e.speedup)
    colors.append(TOTAL_COLOR)
    texts.append(f"{e.speedup:.2f}")
    return labels, bottoms, heights, colors, texts


@styled
def waterfall_figure(explanation: Any, title: str | None = None) -> Any:
    """The Figure of :func:`waterfall_chart`: axes 0 holds one bar per entry of :func:`waterfall_bars`."""
    e = explanation
    labels, bottoms, heights, colors, texts = waterfall_bars(e)
    fig = figure(1.4 * len(labels) + 2.0, 4.5)
    ax = fig.add_subplot()
    xs = range(len(labels))
    ax.bar(xs, heights, bottom=bottoms, color=colors, width=0.6)
    for x, bottom, height, text in zip(xs, bottoms, heights, texts):
        ax.text(x, bottom + height, text, ha="center", va="bottom", fontsize=8)
    ax.axhline(1.0, color="0.3", linestyle="--", linewidth=1)
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, rotation=20, ha="right")
    ax.set_ylabel("speedup over plain decoding")
    ax.set_ylim(0, max(e.tau, e.speedup, 1.0) * 1.18)
    ax.set_title(title or (f"{e.model} on {e.hardware_display}: batch {e.batch}, n={e.candidates}, "
                           f"seq_len {e.seq_len}, acceptance {e.acceptance}\n"
                           "from tau to the predicted speedup: points lost per cause (step time added)"), fontsize=10)
    return fig


@styled
def waterfall_chart(explanation: Any, path: str | Path, title: str | None = None) -> Path:
    """Draw the waterfall of one Explanation to ``path`` (.png, .svg or .pdf); returns the path."""
    out = check_path(path)
    return save_figure(waterfall_figure(explanation, title), out, "chart", dpi=120, facecolor="white")
