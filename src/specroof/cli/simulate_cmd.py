"""``specroof simulate``: one engine instance under arriving requests, speculation on and off.

The simulator (specroof.workload) decides what each step holds under the engine's scheduler
rules; every step is priced by the same operation lists as ``specroof latency``. See
docs/simulate.md for the model and what it leaves out.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from specroof.app.settings import model_options, resolve_settings, speculation_options
from specroof.cli.common import format_option
from specroof.datafiles import write_atomic
from specroof.errors import SpecroofError
from specroof.report.charts import check_chart_path
from specroof.report.charts.load import plot_load
from specroof.report.formats import render
from specroof.workload.draws import DEFAULT_SPREAD
from specroof.workload.runner import check_output, run_simulation

TABLE_COLUMNS = ["rate_rps", "config", "k_used", "output_tok_s", "request_rps", "ttft_p50_ms", "ttft_p99_ms",
                 "tpot_p50_ms", "tpot_p90_ms", "tpot_p99_ms", "itl_p99_ms", "goodput_rps", "preemptions"]
PROGRESS_REQUESTS = 5000
"""A sweep simulating more requests than this shows a progress bar on a terminal."""


@click.command()
@speculation_options
@model_options
@click.option("--rate", default=None, metavar="R|R,R|START:STOP:STEP",
              help="Request rates (requests/s) to sweep, e.g. 0.5:16:0.5.")
@click.option("--concurrency", type=click.IntRange(min=1), default=None, metavar="N",
              help="A closed loop instead of arrivals: N requests in flight, the next one sent when one ends.")
@click.option("--arrivals", default="poisson", show_default=True, metavar="poisson|KIND[:ARGS]|trace:FILE",
              help="How requests arrive at each --rate (kinds of specroof.workload.arrivals).")
@click.option("--requests", "count", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Requests per simulation.")
@click.option("--max-requests", type=click.IntRange(min=1), default=None, help="Cap on requests read from a trace.")
@click.option("--isl", type=click.IntRange(min=1), default=1024, show_default=True, help="Prompt tokens per request.")
@click.option("--osl", type=click.IntRange(min=1), default=256, show_default=True, help="Output tokens per request.")
@click.option("--k", "ks", default=None, metavar="K,K",
              help="Draft tokens per step to simulate, each as its own configuration (speculation off always "
                   "runs). [default: 3 with a --method]")
@click.option("--schedule", default=None, metavar="plan|FILE.json",
              help="Also a dynamic-K configuration: the plan's per-batch K, or a JSON {batch: candidates}.")
@click.option("--slo", default=None, metavar="ttft=2s,tpot=50ms", help="Goodput: requests/s within every bound.")
@click.option("--acceptance-spread", "spread", type=float, default=DEFAULT_SPREAD, show_default=True, metavar="SD",
              help="Standard deviation of the per-request acceptance rate around the model's: the default is "
                   "fitted to SpecDecode-Bench's per-request traces; 0: every request accepts alike "
                   "(docs/simulate.md).")
@click.option("--max-batched-tokens", type=click.IntRange(min=1), default=None,
              help="Token budget per step. [default: the engine's]")
@click.option("--max-sequences", type=click.IntRange(min=1), default=None,
              help="Sequences running at once. [default: the engine's]")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of arrivals and acceptance draws.")
@click.option("--executor", default=None, help="Where the sweep's simulations run (specroof.workload.executors). "
                                                 "[default: its default]")
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
