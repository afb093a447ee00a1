"""``specroof acceptance``: tokens per step tau(n) of an acceptance model, per candidate budget."""

from __future__ import annotations

import json
from typing import Any

import click

from specroof.cli.acceptance_catalog_cmd import check_catalog_options, compare_option, list_catalog, run_compare
from specroof.cli.acceptance_profile_opts import METHOD_HELP, profile_options, run_profile_options, write_profile_of
from specroof.cli.common import emit, format_option, parse_int_list
from specroof.errors import SpecroofError
from specroof.speculation.acceptance_spec import parse_acceptance
from specroof.speculation.engine_metrics import EngineAcceptance
from specroof.speculation.engines import metrics_kinds


@click.command("acceptance")
@click.option("--acceptance", "spec", default=None, metavar="SPEC",
              help="log:A, chain:ALPHA, medusa:MODEL, medusa:FILE[:MODEL], positional:P1,P2,..., curve:FILE, "
                   "profile:FILE[:CATEGORY], catalog:MODEL/METHOD[/DOMAIN[/WHICH]], vllm-metrics:FILE[:MODEL], "
                   "sglang:FILE[:N].")
@click.option("--from", "source", default=None, metavar="SOURCE",
              help="Show what an engine's metrics give instead: vllm-metrics:FILE[:MODEL] (a saved vLLM /metrics "
                   "scrape), sglang:FILE[:N] (SGLang server info JSON or log) or profile:FILE (a "
                   "speculation_profile.json): counters, per-position acceptance rates and tau(n) for every n "
                   "they cover.")
@click.option("--candidates", default="1,16,32,64", show_default=True, metavar="LIST",
              help="Candidate tokens per sequence, root included (1 = plain decoding): 1,16,64 or 1..64 or 16:112:16.")
@click.option("--max-depth", type=int, default=None, metavar="D",
              help="Deepest tree level for tree models (medusa, positional).")
@click.option("--show-tree", is_flag=True,
              help="Also print the optimal tree: 0-based rank paths, as in Medusa's medusa_choices.")
# --- the acceptance catalog (docs/acceptance-catalog.md) ---
@click.option("--catalog", is_flag=True,
              help="List the acceptance catalog's rows: published tau per K, each with its source.")
@click.option("--model", default=None, metavar="M", help="With --catalog: only this target model's rows.")
@click.option("--method", default=None, metavar="X", help=METHOD_HELP)
@click.option("--domain", default=None, metavar="D", help="With --catalog: only this domain (chat, coding, math...).")
@compare_option
# --- end of the catalog options ---
# --- speculation_profile.json out, and the offline measurement (cli/acceptance_profile_opts.py)
@profile_options
@format_option
@click.pass_context
def acceptance(ctx: click.Context, spec: str | None, source: str | None, candidates: str, max_depth: int | None,
               show_tree: bool, catalog: bool, model: str | None, method: str | None, domain: str | None,
               compare: str | None, fmt: str, **profile: Any) -> None:
    """Expected tokens per speculative step, tau(n), for each candidate budget n.

    With --from, what an engine's own metrics say instead (acceptance is then assumed
    independent of batch size and context length); --write-profile saves it as a
    speculation_profile.json. With --measure, acceptance measured offline on local models.
    """
    check_catalog_options(catalog, model, domain, compare)
    if compare is not None and (source is None or catalog):
        raise SpecroofError("--compare catalog compares what --from reads; add --from SOURCE (and drop --catalog)")
    if catalog:
        list_catalog(ctx, profile, model, method, domain, fmt)
        return
    profile["profile_method"] = method if compare is None or profile["write_profile"] else None
    if run_profile_options(ctx, spec, source, profile):
        return
    if (spec is None) == (source is None):
        raise SpecroofError("give either --acceptance SPEC (tau at --candidates) or --from SOURCE "
                            "(what an engine's metrics give), not both or neither (--catalog lists the catalog)")
    if source is not None:
        explicit = [f"--{name.replace('_', '-')}" for name in ("candidates", "max_depth", "show_tree")
                    if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
        if explicit:
            raise SpecroofError(f"--from lists every n the metrics cover; drop {', '.join(explicit)} "
                                "(or use --acceptance SOURCE --candidates LIST)")
        measured = _show_source(source, fmt) if compare is None else parse_acceptance(source)
        write_profile_of(measured, profile)
        if compare is not None:
            run_compare(measured, model, method, domain, fmt)
        return
    budgets = parse_int_list(candidates, "candidates")
    model = parse_acceptance(spec, max_depth=max_depth)
    taus = model.tau(budgets)
    if show_tree and model.tree(1) is None:
        raise SpecroofError(f"--show-tree needs a tree model (medusa or positional); {model.describe()} has no tree")
    rows: list[dict[str, Any]] = []
    for n, tau in zip(budgets, taus):
        row: dict[str, Any] = {"candidates": n, "acceptance_length": float(tau)}
        if show_tree and fmt != "table":
            row["tree"] = [list(p) for p in model.tree(n) or []]
        rows.append(row)
    assumption = getattr(model, "assumption", "")
    title = f"Acceptance length tau(n) of {model.describe()}" + (f"; {assumption}" if assumption else "")
    emit(rows, fmt, title=title, caveat=assumption if fmt != "table" else "")
    if show_tree and fmt == "table":
        import textwrap

        click.echo("\n" + textwrap.fill(TREE_LEGEND, width=96))
        for n in budgets:
            click.echo(f"\nn = {n}:")
            click.echo(_compact(model.tree(n) or []))


def _show_source(source: str, fmt: str) -> EngineAcceptance:
    """The counters an engine-metrics source holds, per-position rates and tau(n)."""
    kind = source.strip().partition(":")[0].strip().lower()
    kinds = (*metrics_kinds(), "profile")
    if kind not in kinds:
        raise SpecroofError(f"--from reads engine metrics or a profile ({', '.join(k + ':FILE' for k in kinds)}), "
                            f"not {kind!r}; for other models use --acceptance {source}")
    model = parse_acceptance(source)
    assert isinstance(model, EngineAcceptance)
    rows = model.rows()
    if fmt == "json":
        click.echo(json.dumps({"source": model.describe(), "engine": model.engine, "assumption": model.assumption,
                               "counters": model.counters, "notes": model.notes, "rows": rows}, indent=1))
        return model
    counters = ", ".join(f"{k} {_number(v)}" for k, v in model.counters.items())
    if fmt == "csv":
        emit(rows, fmt, caveat=f"{model.describe()}: {counters}; {'; '.join(model.notes)}; {model.assumption}")
        return model
    title = (f"What {model.describe()} holds ({model.engine}; {'; '.join(model.notes)})\n"
             f"counters: {counters}\n"
             f"note: {model.assumption}")
    emit(rows, fmt, title=title)
    return model


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "[" + ", ".join(_number(v) for v in value) + "]"
    return str(value)


TREE_LEGEND = ("Trees as 0-based rank paths, as in Medusa's medusa_choices (the root, the base model's own "
               "token, is left out): '0' = the top guess at depth 1, '0.1' = then the second-best guess at "
               "depth 2 (for Medusa heads: head 1's top guess, then head 2's second); dots separate depths, "
               "nodes are listed in the order the greedy search added them, best first.")


def _compact(paths: list[tuple[int, ...]], width: int = 96) -> str:
    """Rank paths wrapped to the terminal: '  0 0.0 1 ...' (root omitted; dots separate depths)."""
    import textwrap

    text = " ".join(".".join(map(str, p)) for p in paths if p) or "(root only)"
    return textwrap.fill(text, width=width, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)
