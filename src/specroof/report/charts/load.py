"""Load chart of a ``specroof simulate`` sweep: each metric against request rate.

One panel per metric (generated tokens/s, TTFT p99, TPOT p50 and p99, goodput when an SLO was
given), one line per configuration (speculation off in grey dashes, each K and a schedule in
colour), the SLO bound as a horizontal line on its metric's panels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from specroof.errors import SpecroofError
from specroof.report.charts.common import check_chart_path, colors, figure, save, styled

PANELS = (("output_tok_s", "generated tokens/s", None), ("ttft_p99_ms", "TTFT p99 (ms)", "ttft"),
          ("tpot_p50_ms", "TPOT p50 (ms)", "tpot"), ("tpot_p99_ms", "TPOT p99 (ms)", "tpot"))
OFF = "no speculation"


def _series(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_config: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_config.setdefault(str(row["config"]), []).append(row)
    return by_config


@styled
def load_figure(rows: list[dict[str, Any]], title: str, slo: dict[str, float] | None = None) -> Any:
    """The Figure of :func:`plot_load` (axes in PANELS order, then goodput when ``slo``)."""
    if not rows or rows[0].get("rate_rps") is None:
        raise SpecroofError("the load chart plots metrics against --rate; a closed-loop run has no rate axis")
    panels = list(PANELS) + ([("goodput_rps", "goodput (requests/s within the SLO)", None)] if slo else [])
    fig = figure(11.0, 3.0 * ((len(panels) + 1) // 2) + 0.8)
    series = _series(rows)
    palette = colors(max(len(series) - 1, 1))
    for index, (key, label, bound) in enumerate(panels):
        ax = fig.add_subplot((len(panels) + 1) // 2, 2, index + 1)
        spec_index = 0
        for config, points in series.items():
            rates = np.array([p["rate_rps"] for p in points], dtype=float)
            values = np.array([np.nan if p[key] is None else p[key] for p in points], dtype=float)
            if config == OFF:
                ax.plot(rates, values, linestyle="--", marker="s", markersize=3, color="0.35", label=config)
            else:
                ax.plot(rates, values, marker="o", markersize=3, color=palette[spec_index], label=config)
                spec_index += 1
        if slo and bound in slo:
            ax.axhline(slo[bound] * 1e3, color="crimson", linewidth=1.0, linestyle=":",
                       label=f"SLO {bound} {slo[bound] * 1e3:g} ms")
        ax.set_xlabel("request rate (requests/s)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if index == 0 or (slo and bound in slo):
            ax.legend(fontsize=7.5)
    fig.suptitle(title, fontsize=8.5, fontweight="bold", wrap=True)
    return fig


@styled
def plot_load(rows: list[dict[str, Any]], path: str | Path, title: str, slo: dict[str, float] | None = None) -> Path:
    """Write the load chart of a sweep's rows to ``path`` (PNG or SVG, atomically)."""
    path = check_chart_path(path)
    return save(load_figure(rows, title, slo), path)
