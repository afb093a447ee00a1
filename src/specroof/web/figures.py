"""The explorer's and the report's charts, as Plotly figure specifications (plain dicts).

Built here in Python, once, from the same result objects the CLI prints; the page hands them
to ``Plotly.react`` and the report inlines them, so both show the same thing. No plotly Python
API is needed (the figures are JSON), only the plotly.js bundle that draws them.

Every chart names what it shows: model, device, profile in the title, units on the axes.
Under a profile whose absolute milliseconds are not physical (``medusa-appendix-g``), latency
appears as T_spec / T_plain, never in milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from specroof.app.tables import physical_ms
from specroof.cost.dtypes import compute_dtype
from specroof.cost.operation import op_info
from specroof.report.formats import signed

_FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}
_PLOTLY_SYMBOLS = {"o": "circle", "s": "square", "^": "triangle-up", "v": "triangle-down", "<": "triangle-left",
                   ">": "triangle-right", "D": "diamond", "P": "cross", "X": "x", "x": "x-thin", "h": "hexagon",
                   "p": "pentagon", "*": "star"}


def op_style(name: str) -> tuple[str, str]:
    """(colour, plotly symbol) of an operation, from its one home (specroof.cost.operation)."""
    try:
        info = op_info(name)
    except (ImportError, KeyError):
        return "#888", "circle"
    return info.color, _PLOTLY_SYMBOLS.get(info.marker, "circle")


_UNFIT = "#bbbbbb"
"""Colour of a point that does not fit in memory or context (:mod:`specroof.cost.capacity`)."""

_METHOD = {"none": "free drafts", "heads": "Medusa heads", "draft": "draft model"}


def _viridis(count: int) -> list[str]:
    """Dark-to-light sequential colours for ordered series (batch sizes, context lengths)."""
    stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
    out = []
    for x in (np.linspace(0.0, 0.85, count) if count > 1 else [0.3]):
        pos = x * (len(stops) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(stops) - 1)
        t = pos - lo
        rgb = [round(a + (b - a) * t) for a, b in zip(stops[lo], stops[hi])]
        out.append(f"rgb({rgb[0]},{rgb[1]},{rgb[2]})")
    return out


def _layout(title: str, subtitle: str, x: dict[str, Any], y: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": f"<b>{title}</b><br><span style='font-size:12px;color:#555'>{subtitle}</span>",
                  "x": 0.01, "xanchor": "left"},
        "font": _FONT, "xaxis": {"zeroline": False, **x}, "yaxis": {"zeroline": False, **y},
        "margin": {"t": 80, "r": 20, "b": 60, "l": 70}, "plot_bgcolor": "white", "paper_bgcolor": "white",
        "hovermode": "closest", **extra,
    }


def _where(result: Any) -> str:
    step = result.step
    return f"{step.model.name} on {step.hardware.display_name}"


def subtitle(result: Any) -> str:
    step = result.step
    return (f"{step.dtype}, profile {step.profile.name}, acceptance {result.acceptance.describe()}, "
            f"{_drafting(result)}")


def _drafting(result: Any) -> str:
    """'draft model llama-3.2-1b', '5 Medusa heads', 'free drafts'."""
    drafting = getattr(result, "drafting", None)
    if drafting is not None and hasattr(drafting, "describe"):
        return drafting.describe()
    return _METHOD.get(result.method, result.method)


def _one_line(y: float) -> dict[str, Any]:
    return {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y,
            "line": {"dash": "dash", "color": "#444", "width": 1}}


def _band_trace(name: str, candidates: list[int], bands: dict[str, np.ndarray], index: tuple,
                color: str) -> dict[str, Any]:
    """The error band of one series, shaded (docs/error-bands.md); hatched outside validated domains."""
    low = [_num(v) for v in np.asarray(bands["speedup_low"][index], dtype=float)]
    high = [_num(v) for v in np.asarray(bands["speedup_high"][index], dtype=float)]
    validated = bool(np.all(bands["validated"][index]))
    trace = {"type": "scatter", "mode": "lines", "name": f"band: {name}", "x": candidates + candidates[::-1],
             "y": high + low[::-1], "fill": "toself", "fillcolor": color, "opacity": 0.18, "line": {"width": 0},
             "hoverinfo": "skip", "showlegend": False}
    if not validated:
        trace.update(opacity=0.1, fillpattern={"shape": "/", "fgcolor": color})
    return trace


MAX_SERIES = 16
"""Lines the speedup chart draws at most: beyond that (e.g. 256 batch sizes) the lines can no
longer be told apart and drawing them takes the browser seconds; evenly spaced ones are drawn,
the first and last included, and the subtitle says how many of how many (the heatmap has all)."""


def drawn_series(count: int) -> list[int]:
    """Indices of the series the speedup chart draws: all, or MAX_SERIES evenly spaced ones."""
    if count <= MAX_SERIES:
        return list(range(count))
    return sorted({int(i) for i in np.round(np.linspace(0, count - 1, MAX_SERIES))})


def _speedup_series(result: Any) -> tuple[list[tuple[str, tuple, tuple[str, int]]], str, str]:
    """(name, index into the result, (reference column, value)) per drawn line, the fixed axis, and a
    note when only some series are drawn."""
    by_seq = len(result.batch) == 1 and len(result.seq_len) > 1
    if by_seq:
        axis, label, where = result.seq_len, "seq_len", f"batch {int(result.batch[0])}"
        series = [(f"seq_len {int(s):,}", (0, slice(None), k), ("seq_len", int(s))) for k, s in enumerate(axis)]
    else:
        axis, label, where = result.batch, "batch", f"seq_len {int(result.seq_len[0]):,}"
        series = [(f"batch {int(b)}", (i, slice(None), 0), ("batch", int(b))) for i, b in enumerate(axis)]
    drawn = drawn_series(len(series))
    note = "" if len(drawn) == len(series) else f"; {len(drawn)} of {len(series)} {label} values drawn"
    return [series[i] for i in drawn], where, note


def _speedup_line(result: Any, name: str, index: tuple, color: str, normalized: bool) -> dict[str, Any]:
    """One series' speedup vs n, greyed where it does not fit; hover: tau and the step time."""
    speed = np.asarray(result.speedup[index], dtype=float)
    ok = np.asarray(result.step.fit.fits)[index]
    tau = np.asarray(result.acceptance_length[index], dtype=float)
    spec = np.asarray(result.latency_ms[index], dtype=float)
    plain = np.asarray(result.ar_latency_ms[index], dtype=float)
    if normalized:
        extra, hover = (spec / plain).round(4).tolist(), "T_spec / T_plain %{customdata[1]:.3f}"
    else:
        extra, hover = spec.round(4).tolist(), "step %{customdata[1]:.3f} ms"
    return {
        "type": "scatter", "mode": "lines+markers", "name": name, "x": [int(c) for c in result.candidates],
        "y": [_num(v) for v in speed], "customdata": [[_num(t), e] for t, e in zip(tau, extra)],
        "line": {"color": color, "width": 2.5},
        "marker": {"size": 6, "color": [color if f else _UNFIT for f in ok]},
        "text": ["" if f else "DOES NOT FIT (memory or context)" for f in ok],
        "hovertemplate": f"{name}<br>n = %{{x}}<br>speedup %{{y:.3f}}×<br>τ(n) %{{customdata[0]:.3f}} "
                         f"tokens/step<br>{hover}<br>%{{text}}<extra></extra>",
    }


def _published_points(reference: list[dict[str, Any]], name: str, key: str, value: int,
                      color: str) -> list[dict[str, Any]]:
    """The paper's points of one series, as diamonds in its colour (none if it has none)."""
    pts = [(float(row["candidates"]), float(row["speedup"])) for row in reference
           if row.get(key) not in (None, "") and int(float(row[key])) == value]
    if not pts:
        return []
    return [{"type": "scatter", "mode": "markers", "name": f"{name}, published",
             "x": [p[0] for p in pts], "y": [p[1] for p in pts], "showlegend": False,
             "marker": {"symbol": "diamond", "size": 9, "color": color, "line": {"color": "black", "width": 1}},
             "hovertemplate": f"{name}, published<br>n = %{{x}}<br>speedup %{{y:.3f}}×<extra></extra>"}]


_PUBLISHED_LEGEND = {"type": "scatter", "mode": "markers", "name": "published (paper)", "x": [None], "y": [None],
                     "marker": {"symbol": "diamond", "size": 9, "color": "#bbb", "line": {"color": "black", "width": 1}}}


def speedup_figure(result: Any, reference: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Speedup vs candidates, one line per batch size (or per seq_len with a single batch).

    ``reference``: published points (rows with candidates, speedup, batch) drawn as diamonds.
    """
    candidates = [int(c) for c in result.candidates]
    series, where, drawn_note = _speedup_series(result)
    normalized = not physical_ms(result.step.profile)
    fits = np.asarray(result.step.fit.fits)  # points that do not fit are greyed out
    bands = result.bands()
    traces = []
    for (name, index, (key, value)), color in zip(series, _viridis(len(series))):
        traces.append(_band_trace(name, candidates, bands, index, color))
        traces.append(_speedup_line(result, name, index, color, normalized))
        traces += _published_points(reference or [], name, key, value, color)
    if reference:
        traces.append(dict(_PUBLISHED_LEGEND))
    top = max([1.2] + [v for t in traces if not t["name"].startswith("band: ") for v in t["y"] if v is not None])
    return {"data": traces, "layout": _layout(
        f"{_where(result)}: speedup vs candidates, {where}",
        subtitle(result) + drawn_note
        + ("" if fits.all() else "; grey points: do not fit (memory per device or context)"),
        {"title": {"text": "candidate tokens verified per sequence, n"}, "rangemode": "tozero"},
        {"title": {"text": "speedup over plain decoding (×)"}, "range": [0, top * 1.08]},
        shapes=[_one_line(1.0)], legend={"title": {"text": "series"}},
        annotations=[{"xref": "paper", "x": 1, "y": 1.0, "yref": "y", "text": "no speedup (1.0)",
                      "showarrow": False, "xanchor": "right", "yanchor": "bottom", "font": {"size": 11,
                                                                                          "color": "#444"}}])}


def heatmap_figure(result: Any) -> dict[str, Any]:
    """Speedup over batch x candidates at the first seq_len; the best n of each batch outlined."""
    data = np.asarray(result.speedup[:, :, 0], dtype=float)
    batches = [str(int(b)) for b in result.batch]
    candidates = [str(int(c)) for c in result.candidates]
    low, high = float(np.nanmin(data)), float(np.nanmax(data))
    lo, hi = min(low, 0.95), max(high, 1.05)
    mid = (1.0 - lo) / (hi - lo)
    scale = [[0.0, "#b2182b"], [mid * 0.5, "#ef8a62"], [mid, "#f7f7f7"], [mid + (1 - mid) * 0.5, "#67a9cf"],
             [1.0, "#2166ac"]]
    fits = np.asarray(result.step.fit.fits[:, :, 0])
    best = np.argmax(np.where(fits, np.nan_to_num(data, nan=-np.inf), -np.inf), axis=1)
    heat = {"type": "heatmap", "x": candidates, "y": batches, "z": [[_num(v) for v in row] for row in data],
            "zmin": lo, "zmax": hi, "colorscale": scale, "xgap": 1, "ygap": 1,
            "colorbar": {"title": {"text": "speedup (×)", "side": "right"}},
            "hovertemplate": "batch %{y}, n = %{x}<br>speedup %{z:.3f}×<extra></extra>"}
    if data.size <= SHAPE_CELLS:
        heat["texttemplate"] = "%{z:.2f}"
        heat["textfont"] = {"size": 11 if data.size <= 120 else 9}
    marks = {"type": "scatter", "mode": "markers", "name": "best n for the batch",
             "x": [candidates[c] for c in best], "y": batches, "showlegend": False,
             "marker": {"symbol": "square", "size": 18, "opacity": 0},
             "hovertemplate": "best for batch %{y}: n = %{x}<extra></extra>"}
    if data.size <= SHAPE_CELLS:
        traces, outlines, best_is = [heat, marks], _cell_shapes(best, fits), "outlined"
    else:
        marks["x"] = [candidates[c] if fits[r].any() else None for r, c in enumerate(best)]
        marks["marker"] = {"symbol": "square-open", "size": 5, "color": "black", "line": {"width": 1.5}}
        traces, outlines, best_is = [heat, marks] + _unfit_overlay(candidates, batches, fits), [], "squares"
    unfit = "; grey: does not fit" if not fits.all() else ""
    return {"data": traces, "layout": _layout(
        f"{_where(result)}: speedup, seq_len {int(result.seq_len[0]):,}",
        f"{subtitle(result)}; {best_is}: the best n of each batch size that fits{unfit}",
        {"title": {"text": "candidate tokens verified per sequence, n"}, "type": "category"},
        {"title": {"text": "batch size"}, "type": "category", "autorange": "reversed"},
        shapes=outlines)}


SHAPE_CELLS = 400
"""Heatmap cells up to which the best n is framed and unfit cells greyed by shapes (an SVG
element each, framing the printed number); above, a marker per batch and one grey overlay
trace do it, as shapes by the thousand take the browser seconds to draw."""


def _cell_shapes(best: np.ndarray, fits: np.ndarray) -> list[dict[str, Any]]:
    """An outline around each batch's best cell (framing its number rather than covering it), and a
    grey rectangle over each cell that does not fit."""
    outlines = [{"type": "rect", "xref": "x", "yref": "y", "x0": int(c) - 0.46, "x1": int(c) + 0.46,
                 "y0": r - 0.44, "y1": r + 0.44, "line": {"color": "black", "width": 3}}
                for r, c in enumerate(best) if fits[r].any()]
    return outlines + [{"type": "rect", "xref": "x", "yref": "y", "x0": c - 0.5, "x1": c + 0.5, "y0": r - 0.5,
                        "y1": r + 0.5, "fillcolor": _UNFIT, "opacity": 0.8, "line": {"width": 0}}
                       for r, c in zip(*np.nonzero(~fits))]


def _unfit_overlay(candidates: list[str], batches: list[str], fits: np.ndarray) -> list[dict[str, Any]]:
    """The cells that do not fit, grey, as one heatmap trace over the speedup (none if all fit)."""
    if fits.all():
        return []
    z = [[None if f else 1 for f in row] for row in fits]
    return [{"type": "heatmap", "name": "does not fit", "x": candidates, "y": batches, "z": z, "opacity": 0.8,
             "colorscale": [[0, _UNFIT], [1, _UNFIT]], "showscale": False, "xgap": 1, "ygap": 1,
             "hovertemplate": "batch %{y}, n = %{x}: does not fit<extra></extra>"}]


def waterfall_figure(explanation: Any, normalized: bool = False) -> dict[str, Any]:
    """From tau down to the predicted speedup: the points each group of causes takes away.

    Each bar is labelled with the step time its causes add, in ms, or (``normalized``, for
    profiles without physical milliseconds) as a share of the plain step.
    """
    e = explanation

    def added(ms: float) -> str:
        return f"{signed(100 * ms / e.t_plain_ms, 1)}% of T_plain" if normalized else signed_ms(ms)

    groups = [g for g in e.groups() if abs(g["speedup_lost_points"]) >= 5e-4 or abs(g["added_ms"]) >= 5e-4]
    x = ["ideal (τ)"] + [g["group"] for g in groups] + ["predicted"]
    y = [e.tau] + [-g["speedup_lost_points"] for g in groups] + [e.speedup]
    measure = ["absolute"] + ["relative"] * len(groups) + ["total"]
    text = [f"{e.tau:.2f}"] + [f"{signed(-g['speedup_lost_points'], 2)}<br>{added(g['added_ms'])}"
                               for g in groups] + [f"{e.speedup:.2f}"]
    trace = {"type": "waterfall", "x": x, "y": [_num(v) for v in y], "measure": measure, "text": text,
             "textposition": "outside", "connector": {"line": {"color": "#999", "width": 1}},
             "increasing": {"marker": {"color": "#55a868"}}, "decreasing": {"marker": {"color": "#c44e52"}},
             "totals": {"marker": {"color": "#4c72b0"}}, "hoverinfo": "x+text", "name": "speedup"}
    top = max(e.tau, e.speedup, 1.0) * 1.2
    return {"data": [trace], "layout": _layout(
        f"{e.model} on {e.hardware_display}: why the speedup is below τ",
        f"batch {e.batch}, n = {e.candidates}, seq_len {e.seq_len:,}, acceptance {e.acceptance}; "
        f"bars: speedup points lost (and step time added)",
        {"title": {"text": "cause"}},
        {"title": {"text": "speedup over plain decoding (×)"}, "range": [0, top]},
        shapes=[_one_line(1.0)], showlegend=False)}


def roofline_figure(point: Any) -> dict[str, Any]:
    """The operations of one step on the device's roofline (log-log), from ``specroof ops``' records.

    ``point``: a StepOperations (:func:`specroof.ops`). x: FLOPs per byte moved; y: achieved
    TFLOP/s (FLOPs over the operation's modelled time); operations without FLOPs (all-reduce,
    host waits) have no place on a roofline and are left out.
    """
    step = point.step
    hw, prof = step.hardware, step.profile
    comp = compute_dtype(step.weight_dtype, step.dtype)
    peak, bandwidth = hw.peak_flops(comp), hw.memory_bandwidth
    normalized = not physical_ms(prof)
    records = [r for r in point.to_records() if r["flops"] > 0 and r["bytes"] > 0 and r["time_ms"] > 0]
    intensities = [r["intensity"] for r in records] + [peak / bandwidth]
    xs = np.logspace(np.log10(min(intensities) / 4), np.log10(max(intensities) * 4), 200)
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "mode": "lines", "x": xs.tolist(), "y": (np.minimum(bandwidth * xs, peak) / 1e12).tolist(),
         "line": {"color": "black", "width": 2}, "hoverinfo": "skip",
         "name": f"datasheet roof: {hw.memory_bandwidth_gbps:,.0f} GB/s, {peak / 1e12:,.0f} TFLOP/s {comp}"},
        {"type": "scatter", "mode": "lines", "x": xs.tolist(),
         "y": (np.minimum(bandwidth * prof.bandwidth_efficiency * xs, peak * prof.compute_efficiency) / 1e12).tolist(),
         "line": {"color": "#777", "width": 1.5, "dash": "dash"}, "hoverinfo": "skip",
         "name": f"profile ceilings: {prof.bandwidth_efficiency:.0%} of bandwidth, "
                 f"{prof.compute_efficiency:.0%} of FLOP/s"},
    ]
    totals = {n: sum(r["name"] == n for r in records) for n in {r["name"] for r in records}}
    seen: dict[str, int] = {}
    for r in records:
        name = r["name"].replace("draft:", "draft: ").replace("_", " ")
        if totals[r["name"]] > 1:  # e.g. separate q, k and v GEMMs under one operation name
            seen[r["name"]] = seen.get(r["name"], 0) + 1
            name += f" ({seen[r['name']]} of {totals[r['name']]})"
        share = f"{r['share_pct']:.0f}% of the step"
        label = f"{name}: {share}" if normalized else f"{name}: {r['time_ms']:.3f} ms ({share})"
        color, symbol = op_style(r["name"])
        traces.append({
            "type": "scatter", "mode": "markers", "x": [r["intensity"]],
            "y": [r["flops"] / (r["time_ms"] * 1e-3) / 1e12], "name": label,
            "marker": {"size": 13, "color": color, "opacity": 0.85, "symbol": symbol,
                       "line": {"color": "black", "width": 1}},
            "hovertemplate": f"{label}<br>{r['kind']}, {r['bound']}-bound, x{r['count']:g} in the step<br>"
                             "%{x:.1f} FLOP/byte<br>%{y:.2f} TFLOP/s<extra></extra>",
        })
    b, n, s = point.batch, point.candidates, point.seq_len
    drafting = any(r["group"] == "drafting" for r in records)
    return {"data": traces, "layout": _layout(
        f"{step.model.name} on {hw.display_name}: operations of one step on the roofline",
        f"batch {b}, n = {n} ({b * n:,} tokens), seq_len {s:,}, {step.dtype}, profile {prof.name}"
        + ("; verification and drafting (draft: ...)" if drafting else ""),
        {"title": {"text": "arithmetic intensity (FLOP / byte moved)"}, "type": "log"},
        {"title": {"text": "achieved throughput (TFLOP/s)"}, "type": "log"},
        legend={"font": {"size": 11}})}


def signed_ms(value: float) -> str:
    """Added milliseconds with three decimals, zero shown unsigned: '+0.006 ms', '0.000 ms'."""
    return f"{signed(value, 3)} ms"


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
