"""Everything the explorer page draws for one state of its form, in one JSON answer.

The page's state is its URL's query string: the speedup parameters (grid included), the
plan's ``max_candidates`` and ``objective``, and the point the waterfall and the roofline
look at (``focus_batch``, ``focus_n``; by default the first batch size and its best n).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from specroof.app.tables import normalized_rows, physical_ms
from specroof.errors import SpecroofError
from specroof.report.charts import read_reference_csv
from specroof.speculation.engines import ENGINES, Engine
from specroof.web import figures
from specroof.web.guard import require_finite
from specroof.web.queries import Explorer

VIEW_ONLY = ("max_candidates", "objective", "focus_batch", "focus_n")
PLAN_COLUMNS = ["batch", "seq_len", "best_candidates", "speculative_tokens", "acceptance_length", "speedup",
                "throughput", "latency_ms", "footprint_gb", "note"]
COLUMN_FORMATS = {  # plan table: label with unit, and one number of decimals per column
    "batch": ("batch", 0), "seq_len": ("context (tokens)", 0), "best_candidates": ("best n", 0),
    "speculative_tokens": ("speculative tokens k", 0), "acceptance_length": ("τ (tokens/step)", 3),
    "speedup": ("speedup (×)", 3), "throughput": ("throughput (tokens/s)", 0), "latency_ms": ("step (ms)", 3),
    "normalized_latency": ("T_spec / T_plain", 3), "footprint_gb": ("memory (GB)", 1), "note": ("note", None),
}


def page_view(explorer: Explorer, params: Mapping[str, str]) -> dict[str, Any]:
    params = dict(params)
    view = {k: params.pop(k) for k in VIEW_ONLY if k in params}
    speed_q = explorer.query("speedup", params)
    result, label, reference_path = explorer.speedup_result(speed_q)
    require_finite([float(v) for v in result.speedup.max(axis=1).ravel()], "the speedup grid")
    profile = result.step.profile
    physical = physical_ms(profile)

    plan_params = {k: v for k, v in params.items() if k != "candidates"}
    plan_params["max_candidates"] = view.get("max_candidates") or str(int(max(result.candidates)))
    if view.get("objective"):
        plan_params["objective"] = view["objective"]
    plan_q = explorer.query("plan", plan_params)
    plan, _, _ = explorer.plan_result(plan_q)
    records = explorer.plan_records(plan_params)
    columns = list(PLAN_COLUMNS)
    if not physical:
        records, columns = normalized_rows(records, columns)
    if not any(r.get("note") for r in records):
        columns.remove("note")
    exports = {engine.name: _export_text(explorer, plan_params, engine, plan.method) for engine in ENGINES}

    b, n = _focus(view, result, plan)
    s = int(result.seq_len[0])
    point = explorer.point_ops(params, b, n, s)
    explain_params = {**params, "batch": str(b), "candidates": str(n), "seq_len": str(s)}
    explanation, note = explorer.explain_result(explorer.query("explain", explain_params))

    reference = None
    if reference_path is not None and len(result.seq_len) == 1:
        reference = [r for r in read_reference_csv(reference_path)
                     if not r.get("seq_len") or int(float(r["seq_len"])) == s]
    return {
        "title": f"{'[' + label + '] ' if label else ''}{result.step.model.name} on "
                 f"{result.step.hardware.display_name}",
        "subtitle": figures.subtitle(result),
        "caveat": profile.caveats,
        "note": note,
        "physical_ms": physical,
        "focus": {"batch": b, "candidates": n, "seq_len": s},
        "grid": {"batch": [int(v) for v in result.batch], "candidates": [int(v) for v in result.candidates],
                 "seq_len": [int(v) for v in result.seq_len]},
        "figures": {
            "speedup": figures.speedup_figure(result, reference),
            "heatmap": figures.heatmap_figure(result),
            "waterfall": figures.waterfall_figure(explanation, normalized=not physical),
            "roofline": figures.roofline_figure(point),
        },
        "plan": {"columns": [{"key": c, "label": COLUMN_FORMATS[c][0], "digits": COLUMN_FORMATS[c][1]}
                             for c in columns], "records": records, "limit": int(plan.limit), "objective": plan.objective},
        "exports": exports,
        "cache": {"hits": explorer.cache.hits, "misses": explorer.cache.misses},
    }


def _focus(view: Mapping[str, str], result: Any, plan: Any) -> tuple[int, int]:
    """(batch, n) for the waterfall and roofline: asked, else the first batch and its best n."""
    batches = [int(v) for v in result.batch]
    try:
        b = int(view["focus_batch"]) if view.get("focus_batch") else batches[0]
        n = int(view["focus_n"]) if view.get("focus_n") else 0
    except ValueError:
        raise SpecroofError("focus_batch and focus_n must be positive integers") from None
    if b < 1 or n < 0:
        raise SpecroofError("focus_batch and focus_n must be positive integers")
    if n == 0:
        rows = [i for i, v in enumerate(plan.batch) if int(v) == b]
        best = int(plan.best_candidates[rows[0], 0]) if rows else 0
        n = best if best > 1 else int(max(result.candidates))
    return b, n


def _export_text(explorer: Explorer, plan_params: dict[str, str], engine: Engine, method: str) -> str:
    """One engine's export as text. An engine without a spelling of the method says so in its tab
    (the other engines' exports and the charts still show); any other error fails the view."""
    import json

    try:
        engine.spell(method)
    except SpecroofError as exc:
        return f"# {exc}"
    exported = explorer.export(plan_params, engine.name)
    return exported if isinstance(exported, str) else json.dumps(exported)


def format_cell(value: Any, digits: int | None) -> str:
    """One plan-table cell as the page shows it: fixed decimals per column, '–' for nothing."""
    if value is None or value == "":
        return "–"
    if digits is None or isinstance(value, (bool, str)):
        return str(value)
    return f"{value:,.{digits}f}"
