"""Batch 1 as Medusa Figure 21: acceptance length and speedup (left), the speculative step by
operation over the plain step (right)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.operation import DRAFTING, op_info
from specroof.report.charts.common import (
    candidate_ticks,
    check_chart_path,
    figure,
    index_of,
    number,
    op_style,
    save,
    styled,
    subtitle,
)

TAU_COLOR, SPEEDUP_COLOR = "#1f77b4", "#d62728"


def _points(reference: list[dict[str, Any]], key: str) -> list[tuple[float, float]]:
    """(candidates, value) of the reference rows that have ``key``."""
    pts = [(number(r, "candidates"), number(r, key)) for r in reference]
    return [(x, y) for x, y in pts if x is not None and y is not None]


def _left_panel(ax: Any, candidates: np.ndarray, tau: np.ndarray, speed: np.ndarray,
                reference: list[dict[str, Any]]) -> None:
    """Acceptance length and speedup over n, the published points as open markers."""
    from matplotlib.lines import Line2D

    ax.plot(candidates, tau, marker="o", markersize=4, linewidth=2, color=TAU_COLOR,
            label="acceptance length τ(n) (tokens/step)")
    ax.plot(candidates, speed, marker="s", markersize=4, linewidth=2, color=SPEEDUP_COLOR, label="speedup (×)")
    ax.axhline(1.0, linestyle="--", color="0.25", linewidth=1.0)
    ref_handles = []
    for key, color in (("acceleration_rate", TAU_COLOR), ("speedup", SPEEDUP_COLOR)):
        pts = _points(reference, key)
        if pts:
            ax.scatter(*zip(*pts), marker="D", s=30, facecolors="none", edgecolors=color, linewidths=1.3, zorder=4)
            ref_handles = [Line2D([], [], linestyle="none", marker="D", markersize=6, markerfacecolor="none",
                                  markeredgecolor="0.3", label="published (paper)")]
    ax.set_xlabel("candidate tokens verified per sequence, n")
    ax.set_ylabel("tokens per step  /  speedup (×)")
    ax.set_ylim(0, max(float(np.nanmax(tau)), float(np.nanmax(speed))) * 1.15)
    ax.set_xlim(left=0)
    candidate_ticks(ax, candidates)
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + ref_handles, loc="lower right")
    ax.set_title("acceptance length and speedup", fontsize=10.5)


def step_parts(result: Any, i: int) -> dict[str, np.ndarray]:
    """Each operation's time in the speculative step of batch row ``i`` (first seq_len) over the
    plain step's total, drafting as one part; parts that are zero everywhere left out."""
    plain = result.ar_latency_ms[i, :, 0]
    parts = {op: np.asarray(v)[i, :, 0] / plain for op, v in result.step.ops_ms.items()
             if op_info(op).group != DRAFTING}
    if np.any(result.draft_ms[i, :, 0] > 0):  # a draft model has a dozen operations: one part
        parts[DRAFTING] = result.draft_ms[i, :, 0] / plain
    return {op: v for op, v in parts.items() if np.any(v > 0)}


def _right_panel(ax: Any, candidates: np.ndarray, parts: dict[str, np.ndarray],
                 reference: list[dict[str, Any]]) -> None:
    """The stacked parts per n, the plain step at 1.0, totals along the top."""
    gaps = np.diff(candidates)
    width = 0.7 * (float(gaps.min()) if gaps.size else 1.0)
    bottom = np.zeros_like(candidates)
    bars = []
    for op, values in parts.items():
        bars.append(ax.bar(candidates, values, width=width, bottom=bottom, color=op_style(op)[0],
                           edgecolor="white", linewidth=0.5, label=op.replace("_", " ")))
        bottom = bottom + values
    extra = [ax.axhline(1.0, linestyle="--", color="0.25", linewidth=1.0, label="plain step (1.0)")]
    pts = _points(reference, "normalized_latency")
    if pts:
        extra.append(ax.scatter(*zip(*pts), marker="D", s=30, color="black", zorder=4, label="published total (paper)"))
    row = ax.get_xaxis_transform()  # totals along the top, clear of the bars and the published markers
    for x, total in zip(candidates, bottom):
        ax.text(x, 0.975, f"{total:.2f}", transform=row, ha="center", va="top", fontsize=8, color="0.15")
    ax.set_xlabel("candidate tokens verified per sequence, n")
    ax.set_ylabel("latency / plain decoding step")
    ax.set_ylim(0, max([float(bottom.max())] + [y for _, y in pts]) * 1.16)
    ax.set_xlim(left=min(0.0, float(candidates.min()) - width))
    candidate_ticks(ax, candidates)
    handles = bars[::-1] + extra  # the top of the stack first, as the bars read
    ax.legend(handles=handles, labels=[h.get_label() for h in handles], loc="upper left",
              bbox_to_anchor=(1.01, 1.0), borderaxespad=0, title="operator")
    ax.set_title("speculative step by operator, over the plain step (totals on top)", fontsize=10.5)


@styled
def figure21_figure(result: Any, reference: Iterable[dict[str, Any]] | None = None) -> Any:
    """The Figure of :func:`plot_figure21`: axes 0 the tau and speedup lines, axes 1 one bar
    container per part of :func:`step_parts`."""
    step = result.step
    i = index_of(result.batch, 1)
    batch, seq = int(result.batch[i]), int(result.seq_len[0])
    candidates = np.asarray(result.candidates, dtype=float)
    reference = list(reference) if reference is not None else []
    fig = figure(11.5, 4.8)
    left, right = fig.subplots(1, 2)
    _left_panel(left, candidates, result.acceptance_length[i, :, 0], result.speedup[i, :, 0], reference)
    _right_panel(right, candidates, step_parts(result, i), reference)
    fig.suptitle(f"{step.model.name} on {step.hardware.display_name}: batch {batch}, seq_len {seq:,}\n"
                 f"{subtitle(result)}", fontsize=11.5, fontweight="bold")
    return fig


@styled
def plot_figure21(result: Any, path: str | Path, reference: Iterable[dict[str, Any]] | None = None) -> Path:
    """Batch 1 as Medusa Figure 21: tau and speedup (left), normalized latency per operator (right).

    Uses batch 1 if the grid has it (else the first batch) and the first ``seq_len``. The
    right panel stacks each operator's time in the speculative step (drafting included) divided
    by the plain step's total, so the bar height is T_spec / T_plain. ``reference``: rows with
    ``candidates`` and any of ``acceleration_rate``, ``speedup``, ``normalized_latency``
    (src/specroof/scenarios/reference/medusa-appendix-g-figure-21.csv), drawn as markers.
    """
    path = check_chart_path(path)
    return save(figure21_figure(result, reference), path)
