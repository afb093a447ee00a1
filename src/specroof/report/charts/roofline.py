"""The operations of one step on the accelerator's roofline (log-log)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from specroof.cost.dtypes import compute_dtype
from specroof.errors import SpecroofError
from specroof.report.charts.common import check_chart_path, figure, op_style, save, styled, titles


class RoofPoint(NamedTuple):
    """One operation on the roofline: FLOP per byte, achieved FLOP/s and its milliseconds."""

    op: str
    intensity: float
    achieved_flops: float
    ms: float


def roof_points(step: Any, i: int, j: int, k: int) -> list[RoofPoint]:
    """The operations of grid point (i, j, k) with FLOPs, bytes and time (all-reduce has no FLOPs)."""
    out = []
    for op, ms in step.ops_ms.items():
        if op not in step.flops:
            continue
        flops, moved, seconds = float(step.flops[op][i, j, k]), float(step.bytes[op][i, j, k]), float(ms[i, j, k]) * 1e-3
        if flops > 0 and moved > 0 and seconds > 0:
            out.append(RoofPoint(op, flops / moved, flops / seconds, seconds * 1e3))
    if not out:
        raise SpecroofError("this step has no operator with FLOPs to place on a roofline")
    return out


def _grid_point(step: Any, point: tuple[int, int, int]) -> tuple[int, int, int]:
    shape = step.shape
    if len(point) != 3 or any(not -size <= int(p) < size for p, size in zip(point, shape)):
        raise SpecroofError(f"roofline point {tuple(point)} is outside the grid of shape {shape}")
    i, j, k = (int(p) for p in point)
    return i, j, k


def _drawer(step: Any, ops: list[RoofPoint], x: np.ndarray, step_point: tuple[float, float],
            total_ms: float) -> Callable[[Any, bool], None]:
    """A function drawing the roofs and the markers on an axes (the main one, or the zoom)."""
    hw, prof = step.hardware, step.profile
    comp = compute_dtype(step.weight_dtype, step.dtype)
    peak, bandwidth = hw.peak_flops(comp), hw.memory_bandwidth

    def draw(target: Any, labels: bool) -> None:
        if labels:  # the main axes; the zoom inset stays linear, easier to read over a narrow range
            target.set_xscale("log")
            target.set_yscale("log")
        target.plot(x, np.minimum(bandwidth * x, peak) / 1e12, color="black", linewidth=2,
                    label=f"datasheet roof: {hw.memory_bandwidth_gbps:,.0f} GB/s, {peak / 1e12:,.0f} TFLOP/s {comp}")
        target.plot(x, np.minimum(bandwidth * prof.bandwidth_efficiency * x, peak * prof.compute_efficiency) / 1e12,
                    color="0.45", linewidth=1.4, linestyle="--",
                    label=f"profile ceilings: {prof.bandwidth_efficiency:.0%} of bandwidth, "
                          f"{prof.compute_efficiency:.0%} of FLOP/s")
        target.axvline(peak / bandwidth, color="0.6", linewidth=0.8, linestyle=":")
        for op, intensity, achieved, ms in ops:
            target.scatter(intensity, achieved / 1e12, s=70 if labels else 60, marker=op_style(op)[1],
                           color=op_style(op)[0], edgecolors="black", linewidths=0.6, zorder=4,
                           alpha=0.9, label=f"{op.replace('_', ' ')}: {ms:.3f} ms ({ms / total_ms:.0%})")
        target.scatter(step_point[0], step_point[1] / 1e12, s=170, marker="*", color="gold", edgecolors="black",
                       linewidths=0.8, zorder=5, label=f"whole step: {total_ms:.3f} ms")

    return draw


@styled
def roofline_figure(step_latency: Any, point: tuple[int, int, int] = (0, 0, 0)) -> Any:
    """The Figure of :func:`plot_roofline`: axes 0 the roofline, one marker collection per
    operation of :func:`roof_points` and a star for the whole step."""
    step = step_latency
    i, j, k = _grid_point(step, point)
    hw, prof = step.hardware, step.profile
    peak = hw.peak_flops(compute_dtype(step.weight_dtype, step.dtype))
    ridge = peak / hw.memory_bandwidth
    total_ms = float(step.latency_ms[i, j, k])
    ops = roof_points(step, i, j, k)
    all_flops = sum(float(step.flops[p.op][i, j, k]) for p in ops)
    all_bytes = sum(float(step.bytes[p.op][i, j, k]) for p in ops)
    xs = [p.intensity for p in ops] + [all_flops / all_bytes, ridge]
    x = np.logspace(np.log10(min(xs) / 4), np.log10(max(xs) * 4), 400)
    step_point = (all_flops / all_bytes, all_flops / (total_ms * 1e-3))
    zoom = _zoom_box([(p.intensity, p.achieved_flops / 1e12) for p in ops] + [(step_point[0], step_point[1] / 1e12)])
    fig = figure(11.5, 5.8)
    # The legend and the zoom sit in their own column, beside the roofline, so neither hides a marker.
    grid = fig.add_gridspec(2, 2, width_ratios=[2.2, 1.3], height_ratios=[1.15, 1.0])
    ax = fig.add_subplot(grid[:, 0])
    legend_ax = fig.add_subplot(grid[0, 1] if zoom else grid[:, 1])
    legend_ax.axis("off")
    draw = _drawer(step, ops, x, step_point, total_ms)
    draw(ax, labels=True)
    ax.annotate(f"ridge point\n{ridge:,.0f} FLOP/B", (ridge, peak / 1e12), xytext=(-8, 6),
                textcoords="offset points", ha="right", va="bottom", fontsize=8.5, color="0.35")
    ax.set_ylim(min([p.achieved_flops for p in ops] + [step_point[1]]) / 1e12 / 3, peak / 1e12 * 2.5)
    if zoom:
        _roofline_zoom(ax, fig.add_subplot(grid[1, 1]), draw, zoom)
    ax.set_xlabel("arithmetic intensity (FLOP / byte moved)")
    ax.set_ylabel("achieved throughput (TFLOP/s)")
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.12)
    handles, labels = ax.get_legend_handles_labels()
    legend_ax.legend(handles, labels, loc="upper left", borderaxespad=0, fontsize=8.5)
    b, n, s = int(step.batch[i]), int(step.candidates[j]), int(step.seq_len[k])
    titles(fig, ax, f"{step.model.name} on {hw.display_name}: operators on the roofline",
           f"batch {b}, {n} candidate{'s' if n != 1 else ''} ({b * n:,} tokens), seq_len {s:,}, "
           f"{step.dtype}, profile {prof.name}")
    return fig


@styled
def plot_roofline(step_latency: Any, path: str | Path, point: tuple[int, int, int] = (0, 0, 0)) -> Path:
    """The operators of one step on the accelerator's roofline (log-log).

    x: arithmetic intensity = FLOPs / bytes moved; y: achieved FLOP/s = FLOPs / the operator's
    modelled time. Solid: the datasheet roofs (peak bandwidth, dense peak of the compute dtype);
    dashed: the ceilings the implementation profile assumes. ``point`` indexes the
    (batch, candidates, seq_len) grid. Operators without FLOPs (all-reduce) have no place on
    a roofline and are left out.
    """
    path = check_chart_path(path)
    return save(roofline_figure(step_latency, point), path)


def _zoom_box(points: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray] | None:
    """(low, high) log10 corners around the largest cluster of markers (within ~2.5x on both
    axes), or None when no three markers crowd together.

    On a log-log roofline the GEMMs of a step often land on top of each other (all
    compute-bound, or all streaming weights); a zoom on that cluster separates them.
    """
    logs = np.log10(np.array(points))
    best: list[int] = []
    for p in logs:
        group = [q for q, other in enumerate(logs) if np.all(np.abs(other - p) <= 0.4)]
        if len(group) > len(best):
            best = group
    if len(best) < 3:
        return None
    cluster = logs[best]
    span = np.maximum(cluster.max(axis=0) - cluster.min(axis=0), 0.08)
    return cluster.min(axis=0) - 0.35 * span, cluster.max(axis=0) + 0.35 * span


def _roofline_zoom(ax: Any, zoom: Any, draw: Callable[..., None], box: tuple[np.ndarray, np.ndarray]) -> None:
    """Draw the roofline again on ``zoom`` (its own axes, beside the chart), limited to ``box``,
    and outline that region on the main axes."""
    from matplotlib.ticker import MaxNLocator

    lo, hi = box
    draw(zoom, labels=False)
    zoom.set_xlim(10 ** lo[0], 10 ** hi[0])
    zoom.set_ylim(10 ** lo[1], 10 ** hi[1])
    zoom.tick_params(labelsize=7.5)
    zoom.xaxis.set_major_locator(MaxNLocator(4))
    zoom.yaxis.set_major_locator(MaxNLocator(4))
    zoom.grid(True, which="both", alpha=0.25)
    zoom.set_title("zoom on the grey box", fontsize=8.5, color="0.35", pad=3)
    zoom.set_xlabel("FLOP / byte", fontsize=8)
    zoom.set_ylabel("TFLOP/s", fontsize=8)
    ax.indicate_inset((10 ** lo[0], 10 ** lo[1], 10 ** hi[0] - 10 ** lo[0], 10 ** hi[1] - 10 ** lo[1]),
                      edgecolor="0.4", facecolor="0.85", alpha=0.5)
