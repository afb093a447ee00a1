"""``specroof plan``: the best candidate count per batch size and context.

It takes the model and cost-model options of ``specroof latency`` and the speculation options
of ``specroof speedup``; a ``--scenario`` supplies defaults that explicit flags override.
"""

from __future__ import annotations

import json
from typing import Any

import click

from specroof.app.choices import RegistryChoice
from specroof.app.parameters import command_options
from specroof.app.run import run_plan
from specroof.app.tables import normalized_rows, physical_ms
from specroof.bands.apply import warn_unvalidated
from specroof.cli.common import emit, format_option
from specroof.speculation.engines import ENGINES
from specroof.speculation.exports import export_table


@click.command()
@command_options("plan")
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
    result, label, profile = run_plan(values, scenario, max_candidates=max_candidates, objective=objective,
                             current=current, reserve_gb=reserve_gb, min_gain=min_gain, show_progress=True)
    if engine is not None:
        exported = export_table(result, engine)
        click.echo(exported if isinstance(exported, str) else json.dumps(exported))
        return
    rows = result.to_records()
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


def _plan_title(result: Any, label: str | None) -> str:
    drafting = result.drafting.describe()
    prefix = f"[{label}] " if label else ""
    current = f", speedup at current n={result.current} shown" if result.current is not None else ""
    return (f"{prefix}{result.model} on {result.hardware_display}: best n in 1..{result.limit} by {result.objective}, "
            f"acceptance {result.acceptance.describe()}, {drafting}; throughput in tokens/s, memory per device "
            f"of {result.capacity_gb:.0f} GB{current}")
