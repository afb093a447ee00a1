"""``specroof speedup``: speculative-decoding speedup over a grid, optionally from a scenario.

A scenario (``--scenario NAME|FILE``) supplies defaults for every setting and the grid;
any flag given on the command line beats the scenario's value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from specroof.app.parameters import command_options
from specroof.app.run import run_speedup
from specroof.app.tables import normalized_rows, physical_ms
from specroof.bands.apply import warn_unvalidated
from specroof.cli.common import MAX_OUTPUT_ROWS, emit, format_option, mark_unfit
from specroof.cost.grid import Grid
from specroof.errors import SpecroofError
from specroof.report import charts
from specroof.report.charts import check_chart_path
from specroof.speculation.study import Study
from specroof.workload.request_table import COLUMNS, parse_workload, rules_label, workload_records

CHARTS = ("speedup", "heatmap", "figure21", "roofline")


@click.command()
@command_options("speedup")
@format_option
@click.option("--plot", "plot_path", default=None, metavar="FILE.png|FILE.svg",
              help="Also draw a chart (see --chart) to this file.")
@click.option("--chart", type=click.Choice(CHARTS), default="speedup", show_default=True,
              help="speedup: vs candidates per batch (or per seq_len); heatmap: batch x candidates; "
                   "figure21: acceptance, speedup and latency split at batch 1; roofline: the operators "
                   "of one step (first batch, largest candidates, first seq_len).")
@click.option("--reference", "reference_path", default=None, metavar="FILE.csv",
              help="Overlay published points (CSV with batch,candidates,speedup) on the speedup chart.")
@click.option("--workload", "workload", default=None, metavar="ISL:OSL|FILE.csv",
              help="Whole requests instead of steps: ISL:OSL is one prompt replicated batch times "
                   "(SpecDecode-Bench); a CSV of prompt_tokens,output_tokens is served batch at a time. "
                   "Reports tokens/s, TTFT, TPOT, E2E with and without speculation (docs/simulate.md).")
def speedup(fmt: str, scenario: str | None, plot_path: str | None, chart: str,
            reference_path: str | None, workload: str | None = None, **values: Any) -> None:
    """Speedup of speculative decoding over plain decoding: tau(n) * T_plain / T_spec.

    \b
    Examples:
      specroof speedup --scenario medusa-appendix-g
      specroof speedup --scenario medusa-appendix-g --hardware h200 --batch 1,8
      specroof speedup -m llama-2-7b -H h200 --batch 1,8,32 --candidates 1,4,8 \\
          --acceptance chain:0.8 --draft-model llama-68m --plot speedup.png
    """
    if plot_path is not None:
        check_chart_path(plot_path)  # before the work, so a typo fails fast
    elif reference_path is not None:
        raise SpecroofError("--reference overlays points on a chart; add --plot FILE.png")
    result, scenario_label, scenario_reference = run_speedup(values, scenario, MAX_OUTPUT_ROWS)
    if workload is not None:
        if plot_path is not None:
            raise SpecroofError("--workload prints request-level columns; it draws no chart (drop --plot)")
        _emit_workload(result, workload, fmt, scenario_label)
        return
    if reference_path is None and chart == "speedup":
        reference_path = scenario_reference  # a scenario's published points are overlaid by default

    records = rows = result.to_records()
    warn_unvalidated(rows)
    drafts = result.method != "none"
    columns = ["batch", "candidates", "seq_len", "acceptance_length", "latency_ms", "ar_latency_ms"]
    if drafts:
        columns.insert(5, "draft_ms")
    columns += ["speedup", "speedup_low", "speedup_high", "validated"]
    if fmt == "table" and not physical_ms(result.step.profile):
        rows, columns = normalized_rows(rows, columns)
    if fmt == "table":
        rows, columns = mark_unfit(records, rows, columns)
    # An engine-metrics acceptance (vllm-metrics:, sglang:) states its assumption with the profile's caveat.
    caveat = "; ".join(c for c in (result.step.profile.caveats, getattr(result.acceptance, "assumption", "")) if c)
    emit(rows, fmt, table_columns=columns, title=_title(result, scenario_label), caveat=caveat)

    if plot_path is not None:
        path = _plot(result, plot_path, chart, reference_path)
        click.echo(f"wrote {chart} chart: {path}", err=True)


def _emit_workload(result: Any, workload: str, fmt: str, scenario: str | None) -> None:
    """The request-level table of ``--workload`` (specroof.workload.request_table)."""
    prompts, outputs, label = parse_workload(workload)
    study = Study(result.setup, Grid.of(result.batch, result.candidates, result.seq_len), result.drafting,
                  result.acceptance)
    rows = workload_records(study, result.batch, result.candidates, prompts, outputs)
    title = _title(result, scenario).split(": speedup,")[0] + f": request-level, workload {label}, {rules_label(study)}"
    emit(rows, fmt, table_columns=COLUMNS, title=title, caveat=result.step.profile.caveats)


def _title(result: Any, scenario: str | None) -> str:
    step = result.step
    seq = ", ".join(str(int(s)) for s in step.seq_len)
    method = result.drafting.describe()
    prefix = f"[{scenario}] " if scenario else ""
    return (f"{prefix}{step.model.name} on {step.hardware.display_name}, {step.dtypes_label}, profile {step.profile.name}: "
            f"speedup, acceptance {result.acceptance.describe()}, {method}, seq_len {seq}")


def _plot(result: Any, path: str, chart: str, reference_path: str | None) -> Path:
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
