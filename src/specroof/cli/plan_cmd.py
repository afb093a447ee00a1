"""``specroof plan``: the best candidate count per batch size and context.

It takes the model and cost-model options of ``specroof latency`` and the speculation options
of ``specroof speedup``; a ``--scenario`` supplies defaults that explicit flags override.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from specroof.cli.choices import RegistryChoice
from specroof.cli.common import emit, format_option, normalized_rows, parse_int_list, physical_ms, positive_flag
from specroof.cli.options import model_options, resolve_settings, speculation_options
from specroof.errors import SpecroofError
from specroof.speculation.engines import ENGINES
from specroof.speculation.schedule import DEFAULT_MIN_GAIN

PROGRESS_CELLS = 20


@click.command()
@speculation_options
@model_options
@click.option("--batch", default=None, metavar="LIST",
              help="Batch sizes to plan for, e.g. 1,2,4 or 1..256 (powers of two) or 1:64:1. "
                   "[default: the scenario's, else 1..64]")
@click.option("--seq-len", "seq_len", default=None, metavar="LIST",
              help="Tokens already in the KV cache, e.g. 1024 or 512,4096. [default: the scenario's, else 1024]")
@click.option("--max-candidates", type=int, default=64, show_default=True, metavar="N",
              help="Search every n from 1 (no speculation) to N (also capped by the acceptance model).")
@click.option("--objective", type=click.Choice(["speedup", "throughput"]), default="speedup", show_default=True,
              help="Maximize speedup over plain decoding, or tokens/s (b * tau / T_spec).")
@click.option("--current", type=int, default=None, metavar="N",
              help="The candidate count you use today (n = k + 1 for k draft tokens): also report its speedup.")
@click.option("--reserve-gb", type=float, default=None, metavar="GB",
              help="Memory kept free for CUDA context, workspaces and fragmentation. [default: 1 GiB]")
@click.option("--min-gain", "min_gain", type=float, default=DEFAULT_MIN_GAIN, show_default=True, metavar="FRACTION",
              help="Speculate, or switch k in an exported schedule, only for a speedup gain above this "
                   "(0.01 = 1%).")
@click.option("--export", "engine", type=RegistryChoice(ENGINES), default=None,
              help="Print the plan as a batch-size schedule for an engine instead of the table: json gives "
                   "[[start_batch, end_batch, k], ...]; the engines add their launch options.")
@format_option
def plan(fmt: str, scenario: str | None, max_candidates: int, objective: str, current: int | None,
         reserve_gb: float | None, min_gain: float, engine: str | None, **values: Any) -> None:
    """Best number of candidate tokens for each batch size and context length.

    Every n from 1 to --max-candidates is priced (n = 1: do not speculate) and the fastest
    one that fits (memory per device, context within the model's maximum) is kept; speculation
    only where it gains more than --min-gain. --export writes the batch-size schedule
    (contiguous ranges, k never growing with batch; see docs/plan.md) and refuses a plan where
    nothing fits.

    \b
    Examples:
      specroof plan --scenario medusa-appendix-g
      specroof plan -m llama-3-8b -H h200 --batch 1..64 --acceptance chain:0.8 \\
          --method draft --draft-model llama-3.2-1b --export vllm
    """
    from specroof.speculation.exports import export_table

    result, label, profile = run_plan(values, scenario, max_candidates=max_candidates, objective=objective,
                             current=current, reserve_gb=reserve_gb, min_gain=min_gain, show_progress=True)
    if engine is not None:
        exported = export_table(result, engine)
        click.echo(exported if isinstance(exported, str) else json.dumps(exported))
        return
    rows = result.to_records()
    from specroof.bands.apply import warn_unvalidated

    warn_unvalidated(rows, "plan cells")
    columns = ["batch", "seq_len", "best_candidates", "speculative_tokens", "acceptance_length", "speedup",
               "speedup_low", "speedup_high", "validated"]
    if current is not None:
        columns.append("speedup_at_current")
    columns += ["throughput", "latency_ms", "footprint_gb"]
    if any(r["note"] for r in rows):
        columns.append("note")
    if fmt == "table" and not physical_ms(profile):
        rows, columns = normalized_rows(rows, columns)
    emit(rows, fmt, table_columns=columns, title=_plan_title(result, label), caveat=result.caveat)


def run_plan(values: dict[str, Any], scenario: str | None, max_candidates: int = 64, objective: str = "speedup",
             current: int | None = None, reserve_gb: float | None = None, max_points: int | None = None,
             show_progress: bool = False, min_gain: float | None = None) -> tuple[Any, str | None, Any]:
    """(PlanResult, scenario name, implementation profile) for the command's option values; shared with the web API.

    ``max_points`` caps batch x candidates searched x seq_len (the web explorer's limit).
    """
    from specroof.cost.setup import setup_step
    from specroof.speculation.plan import plan as compute

    positive_flag(max_candidates, "--max-candidates")
    positive_flag(current, "--current")
    if reserve_gb is not None and not (reserve_gb >= 0 and reserve_gb != float("inf")):
        raise SpecroofError(f"--reserve-gb must be a non-negative number, got {reserve_gb}")
    settings = resolve_settings(values, scenario, "plan")
    model, hardware, grid, label, step = (settings.model, settings.hardware, settings.grid, settings.scenario,
                                          settings.step)
    batch = parse_int_list(values["batch"], "batch") if values.get("batch") else grid.get("batch", [1, 2, 4, 8, 16, 32, 64])
    seq_len = parse_int_list(values["seq_len"], "seq-len") if values.get("seq_len") else grid.get("seq_len", [1024])
    points = len(batch) * len(seq_len) * max(max_candidates, current or 1)
    if max_points is not None and points > max_points:
        raise SpecroofError(f"the plan searches {points:,} points (batch x 1..max candidates x seq_len), more "
                            f"than the {max_points:,} allowed here; use fewer values")
    kwargs: dict[str, Any] = {**settings.speculation(), **step, "max_candidates": max_candidates,
                              "objective": objective, "current": current}
    if reserve_gb is not None:
        kwargs["reserve_bytes"] = reserve_gb * 1e9
    if min_gain is not None:
        kwargs["min_gain"] = min_gain
    cells = len(batch) * len(seq_len)
    if show_progress and cells > PROGRESS_CELLS and sys.stderr.isatty():
        with click.progressbar(length=cells, label="planning", file=sys.stderr) as bar:
            result = compute(model, hardware, batch, seq_len, progress=bar.update, **kwargs)
    else:
        result = compute(model, hardware, batch, seq_len, **kwargs)
    profile = setup_step(model, hardware, **step).profile
    return result, label, profile



def _plan_title(result: Any, label: str | None) -> str:
    drafting = result.drafting.describe()
    prefix = f"[{label}] " if label else ""
    current = f", speedup at current n={result.current} shown" if result.current is not None else ""
    return (f"{prefix}{result.model} on {result.hardware_display}: best n in 1..{result.limit} by {result.objective}, "
            f"acceptance {result.acceptance.describe()}, {drafting}; throughput in tokens/s, memory per device "
            f"of {result.capacity_gb:.0f} GB{current}")
