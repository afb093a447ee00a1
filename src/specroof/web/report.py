"""``specroof report``: one study as a single self-contained HTML file.

The file holds the study's settings, the explorer's charts (the same figure specifications,
drawn by plotly.js inlined into the file), its plan table with the engine exports, and the
accuracy caveat of the implementation profile. It loads nothing when opened: no CDN, no
fonts, no images from elsewhere; it can be mailed to a colleague and opened offline.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from specroof.datafiles import write_atomic
from specroof.errors import SpecroofError
from specroof.speculation.engines import ENGINES
from specroof.web.assets import plotly_js_path
from specroof.web.queries import Explorer
from specroof.web.view import format_cell, page_view

CHARTS = (
    ("speedup", "Speedup vs candidate tokens, per batch size"),
    ("heatmap", "Speedup over batch × candidates (best n outlined)"),
    ("waterfall", "Explain: from τ down to the predicted speedup"),
    ("roofline", "Roofline: the operations of one speculative step"),
)
_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330; max-width: 1100px;
       margin: 24px auto; padding: 0 18px; }
h1 { font-size: 22px; margin-bottom: 2px; } h2 { font-size: 17px; margin-top: 28px; }
.sub { color: #5a6478; margin-top: 0; }
.caveat { background: #fff4d6; border: 1px solid #e8c667; padding: 8px 12px; border-radius: 5px; }
.note { background: #e9f1fd; border: 1px solid #a9c4ee; padding: 8px 12px; border-radius: 5px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e4e7ec; text-align: right; white-space: nowrap; }
th { background: #f0f2f5; } td.text, th.text { text-align: left; white-space: normal; }
table.settings td:first-child { text-align: left; color: #5a6478; } table.settings td { text-align: left; }
.chart { width: 100%; height: 480px; border: 1px solid #e4e7ec; border-radius: 6px; margin: 8px 0 18px; }
pre { background: #1e2430; color: #e7ebf3; padding: 10px 12px; border-radius: 6px; white-space: pre-wrap;
      word-break: break-all; font-size: 12.5px; }
footer { color: #6b7385; font-size: 12px; margin: 30px 0; }
"""


def write_report(params: Mapping[str, str], path: str | Path, settings: Mapping[str, Any]) -> Path:
    """Compute the study for ``params`` (the explorer's query parameters) and write it to ``path``.

    ``settings``: what the user asked for, shown at the top of the report.
    """
    out = Path(path)
    if out.suffix.lower() not in (".html", ".htm"):
        raise SpecroofError(f"report file {str(out)!r} must end in .html")
    if out.parent != Path("") and not out.parent.is_dir():
        raise SpecroofError(f"folder {str(out.parent)!r} for the report does not exist")
    plotly_js = plotly_js_path().read_text(encoding="utf-8")
    view = page_view(Explorer(max_points=10**7, max_plan_points=10**8), params)
    text = render(view, settings, plotly_js)
    write_atomic(out, text, "report")  # a failed write (a full disk) keeps the previous report whole
    return out


def render(view: Mapping[str, Any], settings: Mapping[str, Any], plotly_js: str) -> str:
    e = html.escape
    focus = view["focus"]
    rows = "".join(f"<tr><td>{e(str(k))}</td><td>{e(str(v))}</td></tr>" for k, v in settings.items())
    grid = view["grid"]
    rows += (f"<tr><td>grid</td><td>batch {e(_list(grid['batch']))}; candidates {e(_list(grid['candidates']))}; "
             f"seq_len {e(_list(grid['seq_len']))}</td></tr>")
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>specroof study: {e(view['title'])}</title>", f"<style>{_CSS}</style>",
        f"<script id='plotly-js'>{plotly_js}</script>", "</head><body>",
        f"<h1>specroof study: {e(view['title'])}</h1>", f"<p class='sub'>{e(view['subtitle'])}</p>",
    ]
    if view.get("caveat"):
        parts.append(f"<p class='caveat'><b>Accuracy caveat of the profile:</b> {e(view['caveat'])}.</p>")
    else:
        parts.append("<p class='caveat'><b>Accuracy:</b> a datasheet profile is a prior (pure rooflines are "
                     "often 30-100% optimistic); calibrate on your own measurements (specroof calibrate) "
                     "before quoting milliseconds.</p>")
    if view.get("note"):
        parts.append(f"<p class='note'><b>Acceptance</b> {e(view['note'])}.</p>")
    parts += ["<h2>Settings</h2>", f"<table class='settings'>{rows}</table>"]
    figures = {}
    for name, heading in CHARTS:
        if name == "waterfall":
            parts += _plan_html(view)
        extra = (f" (batch {focus['batch']}, n = {focus['candidates']}, seq_len {focus['seq_len']:,})"
                 if name in ("waterfall", "roofline") else "")
        parts += [f"<h2>{e(heading)}{e(extra)}</h2>", f"<div class='chart' id='chart-{name}' "
                                                        f"data-testid='{name}-chart'></div>"]
        figures[name] = view["figures"][name]
    payload = json.dumps(figures).replace("</", "<\\/")
    parts += [
        f"<script type='application/json' id='figures'>{payload}</script>",
        "<script>const figs = JSON.parse(document.getElementById('figures').textContent);"
        "for (const [name, fig] of Object.entries(figs)) { Plotly.newPlot('chart-' + name, fig.data, fig.layout,"
        " {displaylogo: false, responsive: true}); }</script>",
        f"<footer>Written by specroof {_version()} on {_dt.date.today().isoformat()}. Self-contained: charts are "
        "drawn by plotly.js inside this file; nothing is loaded from the network.</footer>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _plan_html(view: Mapping[str, Any]) -> list[str]:
    e = html.escape
    plan = view["plan"]
    cls = lambda c: " class='text'" if c["digits"] is None else ""  # noqa: E731
    head = "".join(f"<th{cls(c)}>{e(c['label'])}</th>" for c in plan["columns"])
    body = "".join("<tr>" + "".join(f"<td{cls(c)}>{e(format_cell(r.get(c['key']), c['digits']))}</td>"
                                    for c in plan["columns"]) + "</tr>" for r in plan["records"])
    out = [f"<h2>Plan: the best n per batch size (n in 1..{plan['limit']}, by {e(plan['objective'])})</h2>",
           f"<table data-testid='plan-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"]
    for engine in ENGINES:
        out += [f"<h3>{e(engine.display_name)}</h3>", f"<pre>{e(view['exports'][engine.name])}</pre>"]
    return out


def _list(values: list[int]) -> str:
    return ", ".join(str(v) for v in values)


def _version() -> str:
    """The installed specroof's version (its package metadata: web/ sits below the public API)."""
    from importlib.metadata import version

    return version("specroof")
