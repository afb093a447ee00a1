"""``specroof plan`` (best candidate count per batch size and context) and ``specroof explain``.

Both take the model and cost-model options of ``specroof latency`` and the speculation options
of ``specroof speedup``; a ``--scenario`` supplies defaults that explicit flags override.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import click

from specroof.cli.common import emit, format_option, parse_int_list
from specroof.cli.options import model_options, resolve_settings, speculation_options
from specroof.errors import SpecroofError

PROGRESS_CELLS = 20


def _positive_flag(value: int | None, flag: str) -> None:
    if value is not None and value < 1:
        raise SpecroofError(f"{flag} must be a positive integer, got {value}")


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
@click.option("--export", "engine", type=click.Choice(["vllm", "sglang", "trtllm", "json"], case_sensitive=False), default=None,
              help="Print the plan as a batch-size schedule for an engine instead of the table: json gives "
                   "[[start_batch, end_batch, k], ...]; vllm, sglang and trtllm add their launch options.")
@format_option
def plan(fmt: str, scenario: str | None, max_candidates: int, objective: str, current: int | None,
         reserve_gb: float | None, engine: str | None, **values: Any) -> None:
    """Best number of candidate tokens for each batch size and context length.

    Every n from 1 to --max-candidates is priced (n = 1: do not speculate) and the fastest
    one that fits in the device's memory is kept.

    \b
    Examples:
      specroof plan --scenario medusa-appendix-g
      specroof plan -m llama-3-8b -H h200 --batch 1..64 --acceptance chain:0.8 \\
          --method draft --draft-model llama-3.2-1b --export vllm
    """
    from specroof.speculation.exports import export_table
    from specroof.speculation.plan import plan as compute

    _positive_flag(max_candidates, "--max-candidates")
    _positive_flag(current, "--current")
    if reserve_gb is not None and not (reserve_gb >= 0 and reserve_gb != float("inf")):
        raise SpecroofError(f"--reserve-gb must be a non-negative number, got {reserve_gb}")
    settings = resolve_settings(values, scenario, "plan")
    model, hardware, grid, label = settings.model, settings.hardware, settings.grid, settings.scenario
    batch = parse_int_list(values["batch"], "batch") if values.get("batch") else grid.get("batch", [1, 2, 4, 8, 16, 32, 64])
    seq_len = parse_int_list(values["seq_len"], "seq-len") if values.get("seq_len") else grid.get("seq_len", [1024])
    kwargs: dict[str, Any] = {**settings.speculation(), **settings.step, "max_candidates": max_candidates,
                              "objective": objective, "current": current}
    if reserve_gb is not None:
        kwargs["reserve_bytes"] = reserve_gb * 1e9
    cells = len(batch) * len(seq_len)
    if cells > PROGRESS_CELLS and sys.stderr.isatty():
        with click.progressbar(length=cells, label="planning", file=sys.stderr) as bar:
            result = compute(model, hardware, batch, seq_len, progress=bar.update, **kwargs)
    else:
        result = compute(model, hardware, batch, seq_len, **kwargs)

    if engine is not None:
        exported = export_table(result, engine.lower())
        click.echo(json.dumps(exported) if engine.lower() == "json" else exported)
        return
    rows = result.to_records()
    columns = ["batch", "seq_len", "best_candidates", "speculative_tokens", "acceptance_length", "speedup"]
    if current is not None:
        columns.append("speedup_at_current")
    columns += ["throughput", "latency_ms", "memory_gb"]
    if any(r["note"] for r in rows):
        columns.append("note")
    emit(rows, fmt, table_columns=columns, title=_plan_title(result, label), caveat=result.caveat)


def _plan_title(result: Any, label: str | None) -> str:
    drafting = result.drafting.describe()
    prefix = f"[{label}] " if label else ""
    current = f", speedup at current n={result.current} shown" if result.current is not None else ""
    return (f"{prefix}{result.model} on {result.hardware_display}: best n in 1..{result.limit} by {result.objective}, "
            f"acceptance {result.acceptance.describe()}, {drafting}; throughput in tokens/s, memory per device "
            f"of {result.capacity_gb:.0f} GB{current}")


@click.command()
@speculation_options
@model_options
@click.option("--batch", type=int, default=1, show_default=True, metavar="B", help="Batch size.")
@click.option("--candidates", type=int, default=None, metavar="N",
              help="Candidate tokens verified per sequence, root included (required).")
@click.option("--seq-len", "seq_len", type=int, default=1024, show_default=True, metavar="S",
              help="Tokens already in the KV cache.")
@format_option
@click.option("--plot", "plot_path", default=None, metavar="FILE.png",
              help="Also draw a waterfall chart from tau down to the predicted speedup.")
def explain(fmt: str, scenario: str | None, batch: int, candidates: int | None, seq_len: int,
            plot_path: str | None, **values: Any) -> None:
    """Why the speedup of one configuration is below tau: the cost of each cause.

    ln(tau) - ln(speedup) = ln(T_spec / T_plain) is split over the operators' growth and the
    drafting, in proportion to the milliseconds each adds.

    \b
    Example:
      specroof explain -m llama-3-8b -H h200 --batch 8 --candidates 6 \\
          --acceptance chain:0.8 --draft-model llama-3.2-1b --plot why.png
    """
    from specroof.speculation.explain import explain as compute

    if candidates is None:
        raise SpecroofError("explain needs --candidates N (verified tokens per sequence, e.g. 16)")
    for value, flag in ((batch, "--batch"), (candidates, "--candidates"), (seq_len, "--seq-len")):
        _positive_flag(value, flag)
    if plot_path is not None:
        from specroof.report.waterfall import check_path

        check_path(plot_path)
    settings = resolve_settings(values, scenario, "explain")
    result = compute(settings.model, settings.hardware, batch, candidates, seq_len, **settings.speculation(),
                     **settings.step)
    if fmt == "json":
        click.echo(json.dumps(_jsonable(result.to_dict()), indent=1))
    elif fmt == "csv":
        context = {"batch": result.batch, "candidates": result.candidates, "seq_len": result.seq_len}
        emit([{**context, **c} for c in result.causes], "csv")
    else:
        _explain_table(result)
    if plot_path is not None:
        from specroof.report.waterfall import waterfall_chart

        path = waterfall_chart(result, plot_path)
        click.echo(f"wrote waterfall chart: {path}", err=True)


def _jsonable(value: Any) -> Any:
    """Standard JSON: non-finite floats become null, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _explain_table(e: Any) -> None:
    drafting = e.drafting
    head = [
        f"{e.model} on {e.hardware_display}: batch {e.batch}, n={e.candidates} candidates, seq_len {e.seq_len}, "
        f"acceptance {e.acceptance}, {drafting}",
        f"ideal speedup tau = {e.tau:.3f}, predicted speedup = {e.speedup:.3f} "
        f"(gap {e.tau - e.speedup:.3f} points, ln(tau/speedup) = {e.log_gap:.4f})",
        f"plain step {e.t_plain_ms:.3f} ms; speculative step {e.t_spec_ms:.3f} ms = verify {e.verify_ms:.3f} ms "
        f"+ draft {e.draft_ms:.3f} ms; ridge point {e.ridge_flops_per_byte:.0f} FLOP/byte",
    ]
    columns = ["cause", "group", "plain_ms", "spec_ms", "added_ms", "log_share", "speedup_lost_factor",
               "speedup_lost_points", "intensity", "bound"]
    emit(e.causes, "table", table_columns=columns, title="\n".join(head))
    click.echo("")
    emit(e.groups(), "table", table_columns=["group", "added_ms", "log_share", "speedup_lost_factor",
                                             "speedup_lost_points"], title="by group")
