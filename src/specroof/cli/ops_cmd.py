"""``specroof ops``: the operations of one step, with their work, roofline position and time."""

from __future__ import annotations

from typing import Any

import click

from specroof.app.parameters import command_options
from specroof.app.run import run_ops
from specroof.cli.common import emit, format_option

COLUMNS = ["name", "group", "kind", "count", "flops", "bytes", "intensity", "bound", "time_ms", "share_pct"]


@click.command()
@command_options("ops")
@format_option
def ops(fmt: str, batch: int, candidates: int, seq_len: int, acceptance: str | None, **values: Any) -> None:
    """One step's operations: FLOPs, bytes, intensity, bound and time of each.

    The time_ms column adds up to the step's latency (`specroof latency`'s latency_ms; with a
    drafting method, `specroof speedup`'s speculative latency_ms). count is how many times the
    operation runs in the step (layers, heads, draft passes).

    \b
    Examples:
      specroof ops -m llama-3-8b -H h200 --batch 16 --candidates 8 --seq-len 4096
      specroof ops -m llama-3-8b -H h200 --batch 8 --candidates 6 --draft-model llama-3.2-1b --format json
    """
    result = run_ops(values, batch, candidates, seq_len, acceptance)
    step = result.step
    title = (f"{step.model.name} on {step.hardware.display_name}, {step.dtypes_label}, profile {step.profile.name}: "
             f"batch {batch}, {candidates} candidate(s), seq_len {seq_len}, {result.drafting.describe()}; "
             f"step {result.latency_ms:.3f} ms, ridge point {result.ridge_flops_per_byte:.0f} FLOP/byte")
    fit = step.fit.record((0, 0, 0))
    if not fit["fits"]:
        title += (f"\nDOES NOT FIT ({fit['footprint_gb']:.1f} GB needed per device; the warning says why): "
                  "priced anyway")
    emit(result.to_records(), fmt, table_columns=COLUMNS, title=title, caveat=step.profile.caveats)
