"""``specroof explain``: why one configuration's speedup falls short of tau, cause by cause.

It takes the model and cost-model options of ``specroof latency`` and the speculation options
of ``specroof speedup``; a ``--scenario`` supplies defaults that explicit flags override.
"""

from __future__ import annotations

import json
from typing import Any

import click

from specroof.app.parameters import command_options
from specroof.app.run import run_explain
from specroof.app.tables import jsonable, physical_ms
from specroof.cli.common import emit, format_option
from specroof.errors import SpecroofError
from specroof.report.waterfall import check_path, waterfall_chart
from specroof.speculation.explain_mla import mla_line
from specroof.speculation.explain_parallel import all_to_all_line
from specroof.speculation.moe_explain import moe_tax_line
from specroof.speculation.window_cap import describe as describe_window_cap


@click.command()
@command_options("explain")
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
    if candidates is None:
        raise SpecroofError("explain needs --candidates N (verified tokens per sequence, e.g. 16)")
    if plot_path is not None:
        check_path(plot_path)
    result, assumed = run_explain(values, scenario, batch, candidates, seq_len)
    if fmt == "json":
        click.echo(json.dumps(jsonable(result.to_dict()), indent=1))
    elif fmt == "csv":
        context = {"batch": result.batch, "candidates": result.candidates, "seq_len": result.seq_len, **result.fit}
        emit([{**context, **c} for c in result.causes], "csv")
    else:
        _explain_table(result, assumed, physical=physical_ms(result.profile))
    if assumed and fmt != "table":
        click.echo(f"note: {assumed}", err=True)
    if plot_path is not None:
        path = waterfall_chart(result, plot_path)
        click.echo(f"wrote waterfall chart: {path}", err=True)


def _bounded(e: Any) -> str:
    """' (bounded by the drafting shape; ... claims X)' where the shape cut tau, else ''."""
    if e.acceptance_bound != "drafting shape":
        return ""
    return f" (bounded by the drafting shape; {e.acceptance} claims {e.model_tau:.3f})"


def _explain_table(e: Any, assumed: str = "", physical: bool = True) -> None:
    drafting = e.drafting
    acceptance = f"acceptance {e.acceptance} (ASSUMED, see the note)" if assumed else f"acceptance {e.acceptance}"
    head = [
        f"{e.model} on {e.hardware_display}: batch {e.batch}, n={e.candidates} candidates, seq_len {e.seq_len}, "
        f"{acceptance}, {drafting}",
        f"ideal speedup tau = {e.tau:.3f}{_bounded(e)}, predicted speedup = {e.speedup:.3f} "
        f"(gap {e.tau - e.speedup:.3f} points, ln(tau/speedup) = {e.log_gap:.4f})",
        f"plain step {e.t_plain_ms:.3f} ms; speculative step {e.t_spec_ms:.3f} ms = verify {e.verify_ms:.3f} ms "
        f"+ draft {e.draft_ms:.3f} ms; ridge point {e.ridge_flops_per_byte:.0f} FLOP/byte",
    ]
    if not e.fit.get("fits", True):
        head.append(f"DOES NOT FIT ({e.fit['footprint_gb']:.1f} GB needed per device; the warning says why): "
                    "priced anyway")
    if e.moe_tax:
        tax = e.moe_tax
        head.append(moe_tax_line(tax, e.batch * e.candidates))
    if e.window_cap:
        head.append(describe_window_cap(e.window_cap))
    if e.all_to_all:  # --- parallel
        head.append(all_to_all_line(e.all_to_all))
    head.extend([e.linear_rollback["line"]] if e.linear_rollback else [])  # --- linear attention
    if e.mla:
        head.append(mla_line(e.mla))
    causes, groups = list(e.causes), e.groups()
    ms_columns = ["plain_ms", "spec_ms", "added_ms"]
    if not physical:  # milliseconds of this profile are not physical: times as multiples of T_plain
        head[2] = (f"times below are multiples of the plain step T_plain (this profile's milliseconds are not "
                   f"physical): speculative step = {e.t_spec_ms / e.t_plain_ms:.3f} T_plain = verify "
                   f"{e.verify_ms / e.t_plain_ms:.3f} + draft {e.draft_ms / e.t_plain_ms:.3f}")
        causes = [{**c, **{k.removesuffix("_ms"): c[k] / e.t_plain_ms for k in ms_columns}} for c in causes]
        groups = [{**g, "added": g["added_ms"] / e.t_plain_ms} for g in groups]
        ms_columns = [k.removesuffix("_ms") for k in ms_columns]
    if assumed:
        head.append(f"note: {assumed}")
    columns = ["cause", "group", *ms_columns, "log_share", "speedup_lost_factor", "speedup_lost_points",
               "intensity", "bound"]
    emit(causes, "table", table_columns=columns, title="\n".join(head))
    click.echo("")
    emit(groups, "table", table_columns=["group", ms_columns[2], "log_share", "speedup_lost_factor",
                                         "speedup_lost_points"], title="by group")
