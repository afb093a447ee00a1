"""Charts of speedup results: PNG or SVG files drawn with matplotlib's Agg backend.

matplotlib is imported inside the functions, so importing this module (and the CLI) stays
cheap. Figures are built with ``matplotlib.figure.Figure`` and an Agg canvas, never through
``pyplot``, so drawing touches no global state and never opens a window.

- :func:`plot_speedup_vs_candidates`: Medusa Figure 22 style, one line per batch size (or per
  context length when the grid has one batch and several ``seq_len``), optional published
  points overlaid.
- :func:`plot_figure21`: Medusa Figure 21 style, acceptance length and speedup (left) and the
  speculative step's latency split by operator, normalized by the plain step (right).
- :func:`plot_heatmap`: speedup over batch x candidates, diverging colours centred at 1.
- :func:`plot_roofline`: the operators of one step on the accelerator's roofline.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from specroof.datafiles import check_writable, read_text, save_figure
from specroof.errors import SpecroofError

CHART_FORMATS = (".png", ".svg")
DPI = 150
_STYLE = {
    "font.size": 10.5,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "legend.fontsize": 9,
    "legend.framealpha": 0.92,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "svg.fonttype": "none",
}


def _op_style(name: str) -> tuple[str, str]:
    """(colour, marker) of an operation, from its one home (specroof.cost.operation)."""
    from specroof.cost.operation import DRAFT_COLOR, DRAFTING, op_info

    if name == DRAFTING:
        return DRAFT_COLOR, "o"
    try:
        info = op_info(name)
    except KeyError:
        return "0.5", "o"
    return info.color, info.marker


# --------------------------------------------------------------------------- helpers


def check_chart_path(path: str | Path) -> Path:
    """The path as a Path if its extension is a supported chart format, else SpecroofError."""
    path = Path(path)
    if path.suffix.lower() not in CHART_FORMATS:
        shown = path.suffix or "no extension"
        raise SpecroofError(f"cannot write a chart to {str(path)!r} ({shown}); "
                            f"use a file ending in {' or '.join(CHART_FORMATS)}")
    return check_writable(path, "chart")


def read_reference_csv(path: str | Path) -> list[dict[str, str]]:
    """Rows of a reference CSV ('#' comment lines skipped), e.g. src/specroof/scenarios/reference/*.csv.

    The speedup chart needs ``candidates`` and ``speedup`` columns (``batch`` and ``seq_len``
    select the series a point belongs to).
    """
    path = Path(path)
    lines = [line for line in read_text(path, f"reference file {str(path)!r}").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    rows = list(csv.DictReader(lines))
    if not rows:
        raise SpecroofError(f"reference file {str(path)!r} has no data rows")
    return rows


def _styled(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a plot function inside the shared matplotlib style."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            return func(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, path: Path) -> Path:
    return save_figure(fig, path, "chart", dpi=DPI, facecolor="white")


def _colors(count: int) -> list[Any]:
    """Sequential colours for ordered series (batch sizes, context lengths), dark to light."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    if count == 1:
        return [cmap(0.35)]
    return [cmap(x) for x in np.linspace(0.0, 0.88, count)]


def _titles(fig: Any, ax: Any, main: str, sub: str) -> None:
    fig.suptitle(main, fontsize=12, fontweight="bold")
    ax.set_title(sub, fontsize=9.5, color="0.3")


def _method_label(result: Any) -> str:
    return result.drafting.describe()


def _subtitle(result: Any) -> str:
    step = result.step
    return (f"{step.dtype}, profile {step.profile.name}, acceptance {result.acceptance.describe()}, "
            f"{_method_label(result)}")


def _candidate_ticks(ax: Any, candidates: Sequence[int]) -> None:
    values = [int(c) for c in candidates]
    if len(values) <= 12:
        ax.set_xticks(values)


def _category_ticks(setter: Callable[..., Any], values: Sequence[int]) -> None:
    """Label every cell of a heatmap axis, or about a dozen of them when there are many."""
    stride = 1 if len(values) <= 24 else int(np.ceil(len(values) / 12))
    positions = list(range(0, len(values), stride))
    setter(positions, [str(values[p]) for p in positions])


def _index(axis: np.ndarray, value: int, default: int = 0) -> int:
    hits = np.flatnonzero(np.asarray(axis) == value)
    return int(hits[0]) if hits.size else default


def _number(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    if value is None or str(value).strip() == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpecroofError(f"reference row {row}: {key} {value!r} is not a number") from None


def _reference_points(reference: Iterable[dict[str, Any]], key: str, value: int,
                      fixed: dict[str, int], single: bool) -> tuple[list[float], list[float]]:
    """(candidates, speedup) of the reference rows whose ``key`` equals ``value``.

    A row lacking ``key`` belongs to the chart's series only when there is a ``single`` one;
    a row lacking a ``fixed`` column matches it, one with another value (e.g. another
    seq_len) is left out.
    """
    xs, ys = [], []
    for row in reference:
        own = _number(row, key)
        if (own is None and not single) or (own is not None and int(own) != value):
            continue
        if any(_number(row, k) is not None and int(_number(row, k)) != v for k, v in fixed.items()):
            continue
        n, y = _number(row, "candidates"), _number(row, "speedup")
        if n is None or y is None:
            raise SpecroofError("reference rows need candidates and speedup columns")
        xs.append(n)
        ys.append(y)
    return xs, ys


# --------------------------------------------------------------------------- charts


@_styled
def plot_speedup_vs_candidates(result: Any, path: str | Path,
                               reference: Iterable[dict[str, Any]] | None = None) -> Path:
    """Speedup vs candidate tokens, one line per batch size (Medusa Figure 22 style).

    Lines are drawn for the first ``seq_len``; a grid with a single batch and several
    ``seq_len`` gets one line per context length instead. ``reference`` rows (dicts with
    ``candidates``, ``speedup`` and optionally ``batch``/``seq_len``, as read by
    :func:`read_reference_csv`) are drawn as markers in their series' colour.
    """
    from matplotlib.lines import Line2D

    path = check_chart_path(path)
    step = result.step
    candidates = np.asarray(result.candidates)
    by_seq = len(result.batch) == 1 and len(result.seq_len) > 1
    reference = list(reference) if reference is not None else None
    if by_seq:
        batch = int(result.batch[0])
        series = [(f"{int(s):,}", result.speedup[0, :, k], ("seq_len", int(s)), {"batch": batch})
                  for k, s in enumerate(result.seq_len)]
        legend_title, where = "context length", f"batch {batch}"
    else:
        seq = int(result.seq_len[0])
        series = [(f"{int(b)}", result.speedup[i, :, 0], ("batch", int(b)), {"seq_len": seq})
                  for i, b in enumerate(result.batch)]
        legend_title, where = "batch size", f"seq_len {seq:,}"

    fig = _figure(8.0, 5.0)
    ax = fig.add_subplot()
    handles = []
    for (label, values, (key, value), fixed), color in zip(series, _colors(len(series))):
        (line,) = ax.plot(candidates, values, marker="o", markersize=4, linewidth=2, color=color, label=label)
        handles.append(line)
        if reference:
            xs, ys = _reference_points(reference, key, value, fixed, single=len(series) == 1)
            ax.scatter(xs, ys, marker="D", s=38, color=color, edgecolors="black", linewidths=0.8, zorder=4)
    ax.axhline(1.0, linestyle="--", color="0.25", linewidth=1.1, zorder=1)
    handles.append(Line2D([], [], linestyle="--", color="0.25", linewidth=1.1, label="no speedup (1.0)"))
    if reference:
        handles.append(Line2D([], [], linestyle="none", marker="D", markersize=6, markerfacecolor="0.75",
                              markeredgecolor="black", label="published (paper)"))
        handles.append(Line2D([], [], linestyle="-", marker="o", markersize=4, color="0.45", label="specroof"))
    ax.set_xlabel("candidate tokens verified per sequence, n")
    ax.set_ylabel("speedup over plain decoding (×)")
    _candidate_ticks(ax, candidates)
    top = float(np.nanmax(result.speedup[:, :, 0] if not by_seq else result.speedup[0]))
    if reference:
        top = max([top] + [y for row in reference if (y := _number(row, "speedup")) is not None])
    ax.set_ylim(0, max(1.2, top * 1.08))
    ax.set_xlim(left=0)
    ax.legend(handles=handles, title=legend_title, loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0)
    _titles(fig, ax, f"{step.model.name} on {step.hardware.display_name}: speedup vs candidates, {where}",
            _subtitle(result))
    return _save(fig, path)


@_styled
def plot_figure21(result: Any, path: str | Path, reference: Iterable[dict[str, Any]] | None = None) -> Path:
    """Batch 1 as Medusa Figure 21: tau and speedup (left), normalized latency per operator (right).

    Uses batch 1 if the grid has it (else the first batch) and the first ``seq_len``. The
    right panel stacks each operator's time in the speculative step (drafting included) divided
    by the plain step's total, so the bar height is T_spec / T_plain. ``reference``: rows with
    ``candidates`` and any of ``acceleration_rate``, ``speedup``, ``normalized_latency``
    (src/specroof/scenarios/reference/medusa-appendix-g-figure-21.csv), drawn as markers.
    """
    from matplotlib.lines import Line2D

    path = check_chart_path(path)
    step = result.step
    i = _index(result.batch, 1)
    batch, seq = int(result.batch[i]), int(result.seq_len[0])
    candidates = np.asarray(result.candidates, dtype=float)
    tau = result.acceptance_length[i, :, 0]
    speed = result.speedup[i, :, 0]
    plain = result.ar_latency_ms[i, :, 0]
    reference = list(reference) if reference is not None else []

    fig = _figure(11.5, 4.8)
    left, right = fig.subplots(1, 2)
    left.plot(candidates, tau, marker="o", markersize=4, linewidth=2, color="#1f77b4",
              label="acceptance length τ(n) (tokens/step)")
    left.plot(candidates, speed, marker="s", markersize=4, linewidth=2, color="#d62728", label="speedup (×)")
    left.axhline(1.0, linestyle="--", color="0.25", linewidth=1.0)
    ref_handles = []
    for key, color, marker in (("acceleration_rate", "#1f77b4", "D"), ("speedup", "#d62728", "D")):
        pts = [(_number(r, "candidates"), _number(r, key)) for r in reference]
        pts = [(x, y) for x, y in pts if x is not None and y is not None]
        if pts:
            left.scatter(*zip(*pts), marker=marker, s=30, facecolors="none", edgecolors=color, linewidths=1.3,
                         zorder=4)
            ref_handles = [Line2D([], [], linestyle="none", marker="D", markersize=6, markerfacecolor="none",
                                  markeredgecolor="0.3", label="published (paper)")]
    left.set_xlabel("candidate tokens verified per sequence, n")
    left.set_ylabel("tokens per step  /  speedup (×)")
    left.set_ylim(0, max(float(np.nanmax(tau)), float(np.nanmax(speed))) * 1.15)
    left.set_xlim(left=0)
    _candidate_ticks(left, candidates)
    handles, _ = left.get_legend_handles_labels()
    left.legend(handles=handles + ref_handles, loc="lower right")
    left.set_title("acceptance length and speedup", fontsize=10.5)

    from specroof.cost.operation import DRAFTING, op_info

    parts: dict[str, np.ndarray] = {op: np.asarray(v)[i, :, 0] / plain for op, v in step.ops_ms.items()
                                    if op_info(op).group != DRAFTING}
    if np.any(result.draft_ms[i, :, 0] > 0):  # drafting as one part: a draft model has a dozen operations
        parts[DRAFTING] = result.draft_ms[i, :, 0] / plain
    parts = {op: v for op, v in parts.items() if np.any(v > 0)}
    gaps = np.diff(candidates)
    width = 0.7 * (float(gaps.min()) if gaps.size else 1.0)
    bottom = np.zeros_like(candidates)
    bars = []
    for op, values in parts.items():
        bars.append(right.bar(candidates, values, width=width, bottom=bottom, color=_op_style(op)[0],
                              edgecolor="white", linewidth=0.5, label=op.replace("_", " ")))
        bottom = bottom + values
    plain_line = right.axhline(1.0, linestyle="--", color="0.25", linewidth=1.0, label="plain step (1.0)")
    extra = [plain_line]
    pts = [(_number(r, "candidates"), _number(r, "normalized_latency")) for r in reference]
    pts = [(x, y) for x, y in pts if x is not None and y is not None]
    if pts:
        extra.append(right.scatter(*zip(*pts), marker="D", s=30, color="black", zorder=4,
                                   label="published total (paper)"))
    # Totals as a row along the top of the panel, clear of the bars and the published markers.
    row = right.get_xaxis_transform()
    for x, total in zip(candidates, bottom):
        right.text(x, 0.975, f"{total:.2f}", transform=row, ha="center", va="top", fontsize=8, color="0.15")
    top = max([float(bottom.max())] + [y for _, y in pts])
    right.set_xlabel("candidate tokens verified per sequence, n")
    right.set_ylabel("latency / plain decoding step")
    right.set_ylim(0, top * 1.16)
    right.set_xlim(left=min(0.0, float(candidates.min()) - width))
    _candidate_ticks(right, candidates)
    handles = bars[::-1] + extra  # the top of the stack first, as the bars read
    right.legend(handles=handles, labels=[h.get_label() for h in handles], loc="upper left",
                 bbox_to_anchor=(1.01, 1.0), borderaxespad=0, title="operator")
    right.set_title("speculative step by operator, over the plain step (totals on top)", fontsize=10.5)
    fig.suptitle(f"{step.model.name} on {step.hardware.display_name}: batch {batch}, seq_len {seq:,}\n"
                 f"{_subtitle(result)}", fontsize=11.5, fontweight="bold")
    return _save(fig, path)


@_styled
def plot_heatmap(result: Any, path: str | Path) -> Path:
    """Speedup over batch x candidates at the first ``seq_len``, diverging colours centred at 1.

    Blue cells gain, red cells lose; every value is written in its cell when the grid is small
    enough to read, and the best candidate count of each batch size is outlined.
    """
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    path = check_chart_path(path)
    step = result.step
    data = np.asarray(result.speedup[:, :, 0], dtype=float)
    batches, candidates = [int(b) for b in result.batch], [int(c) for c in result.candidates]
    low, high = float(np.nanmin(data)), float(np.nanmax(data))
    norm = TwoSlopeNorm(vcenter=1.0, vmin=min(low, 0.95), vmax=max(high, 1.05))

    cells = data.size
    fig = _figure(min(13.0, max(6.5, 2.6 + 0.62 * len(candidates))), min(9.0, max(4.0, 1.6 + 0.45 * len(batches))))
    ax = fig.add_subplot()
    ax.grid(False)
    image = ax.imshow(data, cmap="RdBu", norm=norm, aspect="auto", origin="upper", interpolation="nearest")
    _category_ticks(ax.set_xticks, candidates)
    _category_ticks(ax.set_yticks, batches)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if cells <= 300:
        size = 9 if cells <= 80 else 7
        for (r, c), value in np.ndenumerate(data):
            shade = norm(value)
            color = "white" if shade < 0.18 or shade > 0.82 else "black"
            ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=size, color=color)
    best = np.nanargmax(data, axis=1)
    if len(batches) <= 30 and len(candidates) <= 30:
        for r, c in enumerate(best):
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.2, zorder=3))
        marker = Patch(facecolor="none", edgecolor="black", linewidth=2, label="best n for the batch")
    else:
        ax.plot(best, range(len(batches)), color="black", linewidth=1.2, marker="o", markersize=3, zorder=3)
        marker = Line2D([], [], color="black", linewidth=1.2, marker="o", markersize=3, label="best n for the batch")
    bar = fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02)
    bar.set_label("speedup over plain decoding (×)")
    ax.set_xlabel("candidate tokens verified per sequence, n")
    ax.set_ylabel("batch size")
    fig.legend(handles=[marker], loc="outside lower center", frameon=False, fontsize=9)
    _titles(fig, ax, f"{step.model.name} on {step.hardware.display_name}: speedup, seq_len "
            f"{int(result.seq_len[0]):,}", _subtitle(result))
    return _save(fig, path)


@_styled
def plot_roofline(step_latency: Any, path: str | Path, point: tuple[int, int, int] = (0, 0, 0)) -> Path:
    """The operators of one step on the accelerator's roofline (log-log).

    x: arithmetic intensity = FLOPs / bytes moved; y: achieved FLOP/s = FLOPs / the operator's
    modelled time. Solid: the datasheet roofs (peak bandwidth, dense peak of the compute dtype);
    dashed: the ceilings the implementation profile assumes. ``point`` indexes the
    (batch, candidates, seq_len) grid. Operators without FLOPs (all-reduce) have no place on
    a roofline and are left out.
    """
    from specroof.cost.dtypes import compute_dtype

    path = check_chart_path(path)
    step = step_latency
    shape = step.shape
    if len(point) != 3 or any(not -size <= int(p) < size for p, size in zip(point, shape)):
        raise SpecroofError(f"roofline point {tuple(point)} is outside the grid of shape {shape}")
    i, j, k = (int(p) for p in point)
    hw, prof = step.hardware, step.profile
    comp = compute_dtype(step.weight_dtype, step.dtype)
    peak, bandwidth = hw.peak_flops(comp), hw.memory_bandwidth
    total_ms = float(step.latency_ms[i, j, k])

    ops = []
    for op, ms in step.ops_ms.items():
        if op not in step.flops:
            continue
        flops, moved, seconds = float(step.flops[op][i, j, k]), float(step.bytes[op][i, j, k]), float(ms[i, j, k]) * 1e-3
        if flops > 0 and moved > 0 and seconds > 0:
            ops.append((op, flops / moved, flops / seconds, seconds * 1e3))
    if not ops:
        raise SpecroofError("this step has no operator with FLOPs to place on a roofline")
    all_flops = sum(float(step.flops[op][i, j, k]) for op, *_ in ops)
    all_bytes = sum(float(step.bytes[op][i, j, k]) for op, *_ in ops)

    ridge = peak / bandwidth
    xs = [o[1] for o in ops] + [all_flops / all_bytes, ridge]
    x = np.logspace(np.log10(min(xs) / 4), np.log10(max(xs) * 4), 400)
    step_point = (all_flops / all_bytes, all_flops / (total_ms * 1e-3))
    zoom = _zoom_box([(o[1], o[2] / 1e12) for o in ops] + [(step_point[0], step_point[1] / 1e12)])
    fig = _figure(11.5, 5.8)
    # The legend and the zoom sit in their own column, beside the roofline, so neither hides a marker.
    grid = fig.add_gridspec(2, 2, width_ratios=[2.2, 1.3], height_ratios=[1.15, 1.0])
    ax = fig.add_subplot(grid[:, 0])
    legend_ax = fig.add_subplot(grid[0, 1] if zoom else grid[:, 1])
    legend_ax.axis("off")

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
        target.axvline(ridge, color="0.6", linewidth=0.8, linestyle=":")
        for op, intensity, achieved, ms in ops:
            target.scatter(intensity, achieved / 1e12, s=70 if labels else 60, marker=_op_style(op)[1],
                           color=_op_style(op)[0], edgecolors="black", linewidths=0.6, zorder=4,
                           alpha=0.9, label=f"{op.replace('_', ' ')}: {ms:.3f} ms ({ms / total_ms:.0%})")
        target.scatter(step_point[0], step_point[1] / 1e12, s=170, marker="*", color="gold", edgecolors="black",
                       linewidths=0.8, zorder=5, label=f"whole step: {total_ms:.3f} ms")

    draw(ax, labels=True)
    ax.annotate(f"ridge point\n{ridge:,.0f} FLOP/B", (ridge, peak / 1e12), xytext=(-8, 6),
                textcoords="offset points", ha="right", va="bottom", fontsize=8.5, color="0.35")
    low_y = min(p[2] for p in ops + [(None, None, step_point[1])]) / 1e12
    ax.set_ylim(low_y / 3, peak / 1e12 * 2.5)
    if zoom:
        _roofline_zoom(ax, fig.add_subplot(grid[1, 1]), draw, zoom)
    ax.set_xlabel("arithmetic intensity (FLOP / byte moved)")
    ax.set_ylabel("achieved throughput (TFLOP/s)")
    ax.grid(True, which="major", alpha=0.4)
    ax.grid(True, which="minor", alpha=0.12)
    handles, labels = ax.get_legend_handles_labels()
    legend_ax.legend(handles, labels, loc="upper left", borderaxespad=0, fontsize=8.5)
    b, n, s = int(step.batch[i]), int(step.candidates[j]), int(step.seq_len[k])
    _titles(fig, ax, f"{step.model.name} on {hw.display_name}: operators on the roofline",
            f"batch {b}, {n} candidate{'s' if n != 1 else ''} ({b * n:,} tokens), seq_len {s:,}, "
            f"{step.dtype}, profile {prof.name}")
    return _save(fig, path)


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
