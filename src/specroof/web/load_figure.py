"""The load chart of the explorer: one metric of a ``simulate`` sweep against request rate.

One line per configuration, as ``specroof simulate --chart`` draws them
(:mod:`specroof.report.charts.load`): speculation off in grey dashes, each K and a schedule in
colour; the SLO bound of the metric (TTFT or TPOT percentiles, E2E) as a horizontal line. A
Plotly figure specification (a plain dict), drawn by the page with ``Plotly.react``.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

from specroof.errors import SpecroofError
from specroof.report.charts.load import OFF

METRICS: dict[str, tuple[str, str | None]] = {
    "output_tok_s": ("generated tokens/s", None),
    "request_rps": ("completed requests/s", None),
    **{f"{m}_p{p}_ms": (f"{label} p{p} (ms)", bound)
       for m, label, bound in (("ttft", "TTFT", "ttft"), ("tpot", "TPOT", "tpot"), ("itl", "ITL", None),
                               ("e2e", "end-to-end latency", "e2e"))
       for p in (50, 90, 99)},
    "goodput_rps": ("goodput (requests/s within the SLO)", None),
}
"""Metric key of a simulate record -> (axis label with unit, the SLO bound drawn on it)."""
_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
_FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}
_SLO_COLOR = "crimson"


def load_figure(rows: list[dict[str, Any]], metric: str, title: str,
                slo: dict[str, float] | None = None) -> dict[str, Any]:
    """``metric`` against ``rate_rps``, one trace per configuration, the SLO line when it bounds ``metric``."""
    label, bound = METRICS[metric]
    if not rows or rows[0].get("rate_rps") is None:
        raise SpecroofError("the load chart draws metrics against rate; a closed loop (concurrency) has no rate axis")
    if metric == "goodput_rps" and not slo:
        raise SpecroofError("goodput needs an SLO, e.g. slo=ttft=2s,tpot=50ms")
    traces = [_trace(config, points, metric, index) for index, (config, points) in enumerate(_series(rows).items())]
    shapes, annotations = [], []
    if slo and bound in slo:
        bound_ms = slo[bound] * 1e3
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": bound_ms,
                       "y1": bound_ms, "line": {"color": _SLO_COLOR, "dash": "dot", "width": 1.5}})
        annotations.append({"xref": "paper", "x": 1, "xanchor": "right", "yref": "y", "y": bound_ms,
                            "yanchor": "bottom", "text": f"SLO {bound} {bound_ms:g} ms", "showarrow": False,
                            "font": {"color": _SLO_COLOR, "size": 12}})
    subtitle = "<br>".join(textwrap.wrap(title, 130))
    layout = {
        "title": {"text": f"<b>{label} against request rate</b><br><span style='font-size:11px;color:#555'>"
                          f"{subtitle}</span>", "x": 0.01, "xanchor": "left"},
        "font": _FONT, "plot_bgcolor": "white", "paper_bgcolor": "white", "hovermode": "closest",
        "margin": {"t": 100 + 18 * subtitle.count("<br>"), "r": 20, "b": 60, "l": 70},
        "xaxis": {"title": {"text": "request rate (requests/s)"}, "zeroline": False, "gridcolor": "#eee"},
        "yaxis": {"title": {"text": label}, "zeroline": False, "gridcolor": "#eee", "rangemode": "tozero"},
        "legend": {"title": {"text": "configuration"}}, "shapes": shapes, "annotations": annotations,
    }
    return {"data": traces, "layout": layout}


def _series(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Rows by configuration, in the order the sweep ran them (speculation off first)."""
    by_config: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_config.setdefault(str(row["config"]), []).append(row)
    return by_config


def _trace(config: str, points: list[dict[str, Any]], metric: str, index: int) -> dict[str, Any]:
    """One configuration's line; a value no request defines (NaN, None) is a gap, never a number."""
    x = [float(p["rate_rps"]) for p in points]
    y = [_num(p.get(metric)) for p in points]
    k_used = [str(p.get("k_used", "")) for p in points]
    off = config == OFF
    color = "#595959" if off else _COLORS[(index - 1) % len(_COLORS)]
    return {"type": "scatter", "mode": "lines+markers", "name": config, "x": x, "y": y,
            "customdata": k_used, "line": {"color": color, "dash": "dash" if off else "solid", "width": 2},
            "marker": {"symbol": "square" if off else "circle", "size": 7, "color": color},
            "hovertemplate": f"{config}<br>rate %{{x:g}} requests/s<br>%{{y:.4g}}<br>K used %{{customdata}}"
                             "<extra></extra>"}


def _num(value: Any) -> float | None:
    """A finite number, else None (Plotly leaves a gap; strict JSON refuses NaN)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
