"""``specroof latency``: the time of one step over a grid, per operator."""

from __future__ import annotations

from typing import Any

import click

from specroof.app.parameters import command_options
from specroof.app.run import run_latency
from specroof.app.tables import physical_ms
from specroof.bands.apply import warn_unvalidated
from specroof.cli.common import MAX_OUTPUT_ROWS, emit, format_option, mark_unfit


@click.command()
@command_options("latency")
@format_option
def latency(fmt: str, **values: Any) -> None:
    """Latency of one decoding (candidates 1) or verification step, with the operator split.

    \b
    Example:
      specroof latency --model llama-7b --hardware h200 --batch 1,64 --candidates 1,64
    """
    result = run_latency(values, MAX_OUTPUT_ROWS)  # one printed row per point
    records = rows = result.to_records()
    warn_unvalidated(rows)
    title = (f"{result.model.name} on {result.hardware.display_name}, {result.dtypes_label}, "
             f"profile {result.profile.name}: step latency (ms)")
    columns = (["batch", "candidates", "seq_len", "latency_ms", "latency_ms_low", "latency_ms_high", "validated"]
               + [f"op_{op}_ms" for op in result.ops_ms])
    if fmt == "table" and not physical_ms(result.profile):
        rows, columns = _normalized(rows, result, values)
        title = (f"{result.model.name} on {result.hardware.display_name}, {result.dtypes_label}, profile "
                 f"{result.profile.name}: step latency as a multiple of the plain step T(b, 1, s) (this profile's "
                 "milliseconds are not physical)")
    if fmt == "table":
        rows, columns = mark_unfit(records, rows, columns)
    emit(rows, fmt, table_columns=columns, title=title, caveat=result.profile.caveats)


def _normalized(rows: list[dict[str, Any]], result: Any, values: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows with every time divided by the plain step's at the same batch and seq_len."""
    import numpy as np

    plain = run_latency({**values, "candidates": "1"}).latency_ms[:, 0, :]  # (B, S)
    b_index = {int(b): i for i, b in enumerate(result.batch)}
    s_index = {int(s): k for k, s in enumerate(result.seq_len)}
    out = []
    for row in rows:
        t = float(plain[b_index[row["batch"]], s_index[row["seq_len"]]])
        out.append({"batch": row["batch"], "candidates": row["candidates"], "seq_len": row["seq_len"],
                    "latency_x_plain": row["latency_ms"] / t,
                    **{f"{op}_x_plain": float(np.float64(ms) / t) for op, ms in row["ops_ms"].items()}})
    return out, ["batch", "candidates", "seq_len", "latency_x_plain"] + [f"{op}_x_plain" for op in result.ops_ms]
