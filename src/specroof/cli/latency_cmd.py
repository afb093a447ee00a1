"""``specroof latency``: the time of one step over a grid, per operator."""

from __future__ import annotations

from typing import Any

import click

from specroof.cli.common import check_output_rows, emit, format_option
from specroof.cli.options import collect_step_options, grid_options, model_options, parse_grid
from specroof.errors import SpecroofError


@click.command()
@model_options
@grid_options
@format_option
def latency(fmt: str, **values: Any) -> None:
    """Latency of one decoding (candidates 1) or verification step, with the operator split.

    \b
    Example:
      specroof latency --model llama-7b --hardware h200 --batch 1,64 --candidates 1,64
    """
    from specroof.cost.step import latency as compute

    if not values.get("model") or not values.get("hardware"):
        raise SpecroofError("latency needs --model and --hardware (see `specroof models`, `specroof hardware`)")
    grid = parse_grid(values)
    check_output_rows(grid)
    result = compute(values["model"], values["hardware"], grid["batch"], grid["candidates"], grid["seq_len"],
                     **collect_step_options(values))
    rows = result.to_records()
    title = (f"{result.model.name} on {result.hardware.display_name}, {result.dtype}, "
             f"profile {result.profile.name}: step latency (ms)")
    columns = ["batch", "candidates", "seq_len", "latency_ms"] + [f"op_{op}_ms" for op in result.ops_ms]
    emit(rows, fmt, table_columns=columns, title=title, caveat=result.profile.caveat)
