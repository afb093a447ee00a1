"""``specroof speedup``: speculative-decoding speedup over a grid, optionally from a scenario.

A scenario (``--scenario NAME|FILE``) supplies defaults for every setting and the grid;
any flag given on the command line beats the scenario's value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from specroof.cli.common import emit, format_option
from specroof.cli.options import collect_step_options, grid_options, model_options, parse_grid
from specroof.errors import SpecroofError

CHARTS = ("speedup", "heatmap", "figure21", "roofline")
DEFAULT_ACCEPTANCE = "log:0.477"
# Settings of a scenario that belong to speculation rather than to the cost of a step.
_SPECULATION_KEYS = ("acceptance", "method", "draft_model", "heads", "max_depth")


@click.command()
@click.option("--scenario", default=None, metavar="NAME|FILE",
              help="Shipped scenario (medusa-appendix-g, medusa-appendix-g-seq) or a scenario .toml; "
                   "its settings and grid are defaults that flags override.")
@model_options
@grid_options
@click.option("--acceptance", default=None, metavar="SPEC",
              help="log:A, chain:ALPHA, medusa:MODEL, medusa:FILE[:MODEL], positional:P1,P2,..., "
                   f"curve:FILE. [default: {DEFAULT_ACCEPTANCE}]")
@click.option("--max-depth", type=int, default=None, metavar="D",
              help="Deepest tree level for tree acceptance models (medusa, positional).")
@click.option("--method", type=click.Choice(["none", "heads", "draft"]), default=None,
              help="Drafting cost: none (free candidates), heads (Medusa/EAGLE-style heads), "
                   "draft (a draft model). [default: none, or draft with --draft-model]")
@click.option("--draft-model", default=None, metavar="NAME|FILE",
              help="Draft model for --method draft: catalog name (e.g. llama-68m) or a config.json.")
@click.option("--heads", type=int, default=None, metavar="N",
              help="Number of Medusa heads for --method heads. [default: 5]")
@format_option
@click.option("--plot", "plot_path", default=None, metavar="FILE.png|FILE.svg",
              help="Also draw a chart (see --chart) to this file.")
@click.option("--chart", type=click.Choice(CHARTS), default="speedup", show_default=True,
              help="speedup: vs candidates per batch (or per seq_len); heatmap: batch x candidates; "
                   "figure21: acceptance, speedup and latency split at batch 1; roofline: the operators "
                   "of one step (first batch, largest candidates, first seq_len).")
@click.option("--reference", "reference_path", default=None, metavar="FILE.csv",
              help="Overlay published points (CSV with batch,candidates,speedup) on the speedup chart.")
def speedup(fmt: str, scenario: str | None, plot_path: str | None, chart: str,
            reference_path: str | None, **values: Any) -> None:
    """Speedup of speculative decoding over plain decoding: tau(n) * T_plain / T_spec.

    \b
    Examples:
      specroof speedup --scenario medusa-appendix-g
      specroof speedup --scenario medusa-appendix-g --hardware h200 --batch 1,8
      specroof speedup -m llama-2-7b -H h200 --batch 1,8,32 --candidates 1,4,8 \\
          --acceptance chain:0.8 --draft-model llama-68m --plot speedup.png
    """
    from specroof.speculation.speedup import speedup as compute

    if plot_path is not None:
        from specroof.report.charts import check_chart_path

        check_chart_path(plot_path)  # before the work, so a typo fails fast
    elif reference_path is not None:
        raise SpecroofError("--reference overlays points on a chart; add --plot FILE.png")
    settings, grid_defaults, scenario_label, scenario_reference = _scenario_defaults(scenario)
    if reference_path is None and chart == "speedup":
        reference_path = scenario_reference  # a scenario's published points are overlaid by default
    scenario_model, scenario_hardware = settings.pop("model", None), settings.pop("hardware", None)
    model = values.get("model") or scenario_model
    hardware = values.get("hardware") or scenario_hardware
    if not model or not hardware:
        raise SpecroofError("speedup needs --model and --hardware, or a --scenario that sets them "
                            "(see `specroof models`, `specroof hardware`)")
    spec = _speculation_options(values, settings)
    step_options = {**settings, **collect_step_options(values)}
    grid = parse_grid(values, grid_defaults)
    result = compute(model, hardware, grid["batch"], grid["candidates"], grid["seq_len"], **spec, **step_options)

    rows = result.to_records()
    drafts = result.method != "none"
    columns = ["batch", "candidates", "seq_len", "acceptance_length", "latency_ms", "ar_latency_ms"]
    if drafts:
        columns.insert(5, "draft_ms")
    columns.append("speedup")
    emit(rows, fmt, table_columns=columns, title=_title(result, scenario_label))

    if plot_path is not None:
        path = _plot(result, plot_path, chart, reference_path)
        click.echo(f"wrote {chart} chart: {path}", err=True)


def _scenario_defaults(scenario: str | None) -> tuple[dict[str, Any], dict[str, list[int]], str | None, Any]:
    """(settings incl. model/hardware and profile overrides, grid, label, reference CSV) of the scenario."""
    if scenario is None:
        return {}, {}, None, None
    from specroof.scenarios import load_scenario

    loaded = load_scenario(scenario)
    settings = {**loaded.profile_overrides, **loaded.settings}
    return settings, dict(loaded.grid), loaded.name, loaded.reference_file()


def _speculation_options(values: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """acceptance, method, draft_model, heads and max_depth: flags first, then the scenario.

    Removes the scenario's speculation keys from ``settings`` (the rest are step options).
    """
    scen = {k: settings.pop(k) for k in _SPECULATION_KEYS if k in settings}
    flag_method, flag_draft, flag_heads = values.get("method"), values.get("draft_model"), values.get("heads")
    if flag_method is not None:
        method = flag_method
    elif flag_draft is not None:
        method = "draft"
    else:
        method = scen.get("method") or ("draft" if scen.get("draft_model") else "none")
    if flag_draft is not None and method != "draft":
        raise SpecroofError(f"--draft-model applies only to --method draft, not {method}; drop one of them")
    if flag_heads is not None and method != "heads":
        raise SpecroofError(f"--heads applies only to --method heads, not {method}; drop one of them")
    options: dict[str, Any] = {
        "acceptance": values.get("acceptance") or scen.get("acceptance") or DEFAULT_ACCEPTANCE,
        "method": method,
    }
    max_depth = values.get("max_depth") if values.get("max_depth") is not None else scen.get("max_depth")
    if max_depth is not None:
        options["max_depth"] = max_depth
    if method == "draft":
        options["draft_model"] = flag_draft or scen.get("draft_model")
    if method == "heads":
        heads = flag_heads if flag_heads is not None else scen.get("heads")
        if heads is not None:
            options["heads"] = heads
    return options


def _title(result: Any, scenario: str | None) -> str:
    step = result.step
    seq = ", ".join(str(int(s)) for s in step.seq_len)
    method = {"none": "free drafts", "heads": "Medusa heads", "draft": "draft model"}[result.method]
    prefix = f"[{scenario}] " if scenario else ""
    return (f"{prefix}{step.model.name} on {step.hardware.display_name}, {step.dtype}, profile {step.profile.name}: "
            f"speedup, acceptance {result.acceptance.describe()}, {method}, seq_len {seq}")


def _plot(result: Any, path: str, chart: str, reference_path: str | None) -> Path:
    from specroof.report import charts

    if reference_path is not None and chart != "speedup":
        raise SpecroofError("--reference applies to --chart speedup only")
    if chart == "speedup":
        reference = charts.read_reference_csv(reference_path) if reference_path else None
        return charts.plot_speedup_vs_candidates(result, path, reference=reference)
    if chart == "heatmap":
        return charts.plot_heatmap(result, path)
    if chart == "figure21":
        return charts.plot_figure21(result, path)
    return charts.plot_roofline(result.step, path, point=(0, len(result.candidates) - 1, 0))
