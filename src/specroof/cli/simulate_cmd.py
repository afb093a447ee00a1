"""``specroof simulate``: one engine instance under arriving requests, speculation on and off.

The simulator (specroof.workload) decides what each step holds under the engine's scheduler
rules; every step is priced by the same operation lists as ``specroof latency``. See
docs/simulate.md for the model and what it leaves out.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from specroof.app.parameters import command_options
from specroof.app.settings import resolve_settings
from specroof.cli.common import format_option
from specroof.datafiles import write_atomic
from specroof.errors import SpecroofError
from specroof.report.charts import check_chart_path
from specroof.report.charts.load import plot_load
from specroof.report.formats import render
from specroof.workload.runner import check_output, run_simulation

TABLE_COLUMNS = ["rate_rps", "config", "k_used", "output_tok_s", "request_rps", "ttft_p50_ms", "ttft_p99_ms",
                 "tpot_p50_ms", "tpot_p90_ms", "tpot_p99_ms", "itl_p99_ms", "goodput_rps", "preemptions"]
PROGRESS_REQUESTS = 5000
"""A sweep simulating more requests than this shows a progress bar on a terminal."""


@click.command()
@command_options("simulate")
@click.option("--executor", default=None, metavar="local|ray",
              help="Where the sweep's simulations run: local (processes on this machine) or ray (a Ray cluster, "
                   "RAY_ADDRESS or a local instance; pip install 'specroof[ray]'). [default: local]")
@format_option
@click.option("--output", "output_path", default=None, metavar="FILE", help="Write the table/CSV/JSON here.")
@click.option("--chart", "chart_path", default=None, metavar="FILE.png|FILE.svg",
              help="Each metric against rate, one line per configuration, the SLO as a horizontal line.")
def simulate(fmt: str, scenario: str | None, output_path: str | None, chart_path: str | None,
             **values: Any) -> None:
    """Serve arriving requests on one engine instance: throughput, TTFT/TPOT/ITL and goodput.

    \b
    Examples:
      specroof simulate -m llama-3.1-8b -H h100-sxm --profile vllm --method eagle3 --rate 2,8
      specroof simulate -m llama-3.1-8b -H h100-sxm --profile vllm --method eagle3 \\
          --rate 0.5:16:0.5 --k 2,4 --slo ttft=2s,tpot=50ms --chart load.png
      specroof simulate -m llama-3.1-8b -H h100-sxm --profile vllm --method eagle3 --concurrency 64
    """
    check_output(output_path)
    if chart_path is not None:
        check_chart_path(chart_path)
        if values.get("concurrency") is not None:
            raise SpecroofError("--chart plots metrics against --rate; a closed-loop (--concurrency) run has no rate axis")
    options = {k: values.pop(k) for k in ("rate", "concurrency", "arrivals", "count", "max_requests", "isl", "osl",
                                          "ks", "schedule", "slo", "spread", "max_batched_tokens", "max_sequences",
                                          "seed", "executor")}
    settings = resolve_settings(values, scenario, "simulate")
    rows, title, caveat, slo = run_simulation(settings, options, progress_bar=_progress_bar)
    _emit(rows, fmt, title, caveat, output_path, slo)
    if chart_path is not None:
        click.echo(f"wrote load chart: {plot_load(rows, chart_path, title, slo)}", err=True)


def _progress_bar(total_requests: int, steps: int) -> Any:
    """A click progress bar over ``steps`` simulations on a terminal for a long sweep, else None."""
    if total_requests <= PROGRESS_REQUESTS or not sys.stderr.isatty():
        return None
    return click.progressbar(length=steps, label="simulating", file=sys.stderr, show_pos=True)


def _emit(rows: list[dict[str, Any]], fmt: str, title: str, caveat: str, output_path: str | None,
          slo: dict[str, float] | None) -> None:
    columns = [c for c in TABLE_COLUMNS if slo or c != "goodput_rps"]
    if rows and rows[0]["rate_rps"] is None:
        columns[0] = "concurrency"
    text = render(rows, fmt, table_columns=columns, title=title)
    if output_path is None:
        click.echo(text)
    else:
        click.echo(f"wrote {fmt}: {write_atomic(output_path, text + chr(10), 'simulation output')}", err=True)
    if caveat:
        click.echo(f"note: {caveat}", err=True)
    if not rows:
        raise SpecroofError("the simulation produced no rows")
