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
from specroof.cli.options import collect_step_options, model_options
from specroof.errors import SpecroofError

DEFAULT_ACCEPTANCE = "log:0.477"
PROGRESS_CELLS = 20
_SPECULATION_KEYS = ("acceptance", "method", "draft_model", "heads", "max_depth")


def speculation_options(func: Any) -> Any:
    """--scenario, --acceptance, --max-depth, --method, --draft-model, --heads."""
    options = [
        click.option("--heads", type=int, default=None, metavar="N",
                     help="Number of Medusa heads for --method heads. [default: 5]"),
        click.option("--draft-model", default=None, metavar="NAME|FILE",
                     help="Draft model for --method draft: catalog name (e.g. llama-3.2-1b) or a config.json."),
        click.option("--method", type=click.Choice(["none", "heads", "draft"]), default=None,
                     help="Drafting cost: none (free candidates), heads (Medusa-style heads), draft (a draft "
                          "model). [default: none, or draft with --draft-model]"),
        click.option("--max-depth", type=int, default=None, metavar="D",
                     help="Deepest tree level for tree acceptance models (medusa, positional)."),
        click.option("--acceptance", default=None, metavar="SPEC",
                     help="log:A, chain:ALPHA, medusa:MODEL, medusa:FILE[:MODEL], positional:P1,P2,..., "
                          f"curve:FILE. [default: {DEFAULT_ACCEPTANCE}]"),
        click.option("--scenario", default=None, metavar="NAME|FILE",
                     help="Shipped scenario (e.g. medusa-appendix-g) or a scenario .toml: defaults for every "
                          "setting (and, for plan, the batch and seq_len grid); flags override them."),
    ]
    for option in options:
        func = option(func)
    return func


def _resolve(values: dict[str, Any], scenario: str | None, command: str
             ) -> tuple[str, str, dict[str, Any], dict[str, Any], dict[str, list[int]], str | None]:
    """(model, hardware, speculation options, step options, scenario grid, scenario name)."""
    settings: dict[str, Any] = {}
    grid: dict[str, list[int]] = {}
    label = None
    if scenario is not None:
        from specroof.scenarios import load_scenario

        loaded = load_scenario(scenario)
        settings = {**loaded.profile_overrides, **loaded.settings}
        grid, label = dict(loaded.grid), loaded.name
    model = values.get("model") or settings.pop("model", None)
    hardware = values.get("hardware") or settings.pop("hardware", None)
    settings.pop("model", None)
    settings.pop("hardware", None)
    if not model or not hardware:
        raise SpecroofError(f"{command} needs --model and --hardware, or a --scenario that sets them "
                            "(see `specroof models`, `specroof hardware`)")
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
    spec: dict[str, Any] = {
        "acceptance": values.get("acceptance") or scen.get("acceptance") or DEFAULT_ACCEPTANCE,
        "method": method,
    }
    max_depth = values.get("max_depth") if values.get("max_depth") is not None else scen.get("max_depth")
    if max_depth is not None:
        spec["max_depth"] = max_depth
    if method == "draft":
        spec["draft_model"] = flag_draft or scen.get("draft_model")
        if not spec["draft_model"]:
            raise SpecroofError("--method draft needs --draft-model NAME (e.g. llama-3.2-1b)")
    if method == "heads":
        heads = flag_heads if flag_heads is not None else scen.get("heads")
        if heads is not None:
            spec["heads"] = heads
    step = {**settings, **collect_step_options(values)}
    return model, hardware, spec, step, grid, label


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
@click.option("--export", "engine", type=click.Choice(["vllm", "sglang", "json"], case_sensitive=False), default=None,
              help="Print the plan as a batch-size schedule for an engine instead of the table: json gives "
                   "[[start_batch, end_batch, k], ...]; vllm and sglang add their launch options.")
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
    from specroof.speculation.plan import export_table
    from specroof.speculation.plan import plan as compute

    _positive_flag(max_candidates, "--max-candidates")
    _positive_flag(current, "--current")
    if reserve_gb is not None and not (reserve_gb >= 0 and reserve_gb != float("inf")):
        raise SpecroofError(f"--reserve-gb must be a non-negative number, got {reserve_gb}")
    model, hardware, spec, step, grid, label = _resolve(values, scenario, "plan")
    batch = parse_int_list(values["batch"], "batch") if values.get("batch") else grid.get("batch", [1, 2, 4, 8, 16, 32, 64])
    seq_len = parse_int_list(values["seq_len"], "seq-len") if values.get("seq_len") else grid.get("seq_len", [1024])
    kwargs: dict[str, Any] = {**spec, **step, "max_candidates": max_candidates, "objective": objective,
                              "current": current}
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
    emit(rows, fmt, table_columns=columns, title=_plan_title(result, label))


def _plan_title(result: Any, label: str | None) -> str:
    drafting = {"none": "free drafts", "heads": f"{result.heads} Medusa heads",
                "draft": f"draft model {result.draft_model}"}[result.method]
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
    model, hardware, spec, step, _, _ = _resolve(values, scenario, "explain")
    result = compute(model, hardware, batch, candidates, seq_len, **spec, **step)
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
    drafting = {"none": "free drafts", "heads": "Medusa heads", "draft": "draft model"}[e.method]
    head = [
        f"{e.model} on {e.hardware_display}: batch {e.batch}, n={e.candidates} candidates, seq_len {e.seq_len}, "
        f"acceptance {e.acceptance}, {drafting}",
        f"ideal speedup tau = {e.tau:.3f}, predicted speedup = {e.speedup:.3f} "
        f"(gap {e.tau - e.speedup:.3f} points, ln(tau/speedup) = {e.log_gap:.4f})",
        f"plain step {e.t_plain_ms:.3f} ms; speculative step {e.t_spec_ms:.3f} ms = verify {e.verify_ms:.3f} ms "
        f"+ draft {e.draft_ms:.3f} ms; ridge point {e.ridge_flops_per_byte:.0f} FLOP/byte",
    ]
    columns = ["cause", "group", "plain_ms", "spec_ms", "added_ms", "share", "speedup_lost_factor",
               "speedup_lost_points", "intensity", "bound"]
    emit(e.causes, "table", table_columns=columns, title="\n".join(head))
    click.echo("")
    emit(e.groups(), "table", table_columns=["group", "added_ms", "share", "speedup_lost_factor",
                                             "speedup_lost_points"], title="by group")
