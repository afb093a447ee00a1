"""``specroof acceptance``: tokens per step tau(n) of an acceptance model, per candidate budget."""

from __future__ import annotations

from typing import Any

import click

from specroof.cli.common import emit, format_option, parse_int_list
from specroof.errors import SpecroofError


@click.command("acceptance")
@click.option("--acceptance", "spec", required=True, metavar="SPEC",
              help="log:A, chain:ALPHA, medusa:MODEL, medusa:FILE[:MODEL], positional:P1,P2,..., curve:FILE.")
@click.option("--candidates", default="1,16,32,64", show_default=True, metavar="LIST",
              help="Candidate tokens per sequence, root included (1 = plain decoding): 1,16,64 or 1..64 or 16:112:16.")
@click.option("--max-depth", type=int, default=None, metavar="D",
              help="Deepest tree level for tree models (medusa, positional).")
@click.option("--show-tree", is_flag=True,
              help="Also print the optimal tree: 0-based rank paths, as in Medusa's medusa_choices.")
@format_option
def acceptance(spec: str, candidates: str, max_depth: int | None, show_tree: bool, fmt: str) -> None:
    """Expected tokens per speculative step, tau(n), for each candidate budget n."""
    from specroof.speculation import parse_acceptance

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
    emit(rows, fmt, title=f"Acceptance length tau(n) of {model.describe()}")
    if show_tree and fmt == "table":
        import textwrap

        click.echo("\n" + textwrap.fill(TREE_LEGEND, width=96))
        for n in budgets:
            click.echo(f"\nn = {n}:")
            click.echo(_compact(model.tree(n) or []))


TREE_LEGEND = ("Trees as 0-based rank paths, as in Medusa's medusa_choices (the root, the base model's own "
               "token, is left out): '0' = the top guess at depth 1, '0.1' = then the second-best guess at "
               "depth 2 (for Medusa heads: head 1's top guess, then head 2's second); dots separate depths, "
               "nodes are listed in the order the greedy search added them, best first.")


def _compact(paths: list[tuple[int, ...]], width: int = 96) -> str:
    """Rank paths wrapped to the terminal: '  0 0.0 1 ...' (root omitted; dots separate depths)."""
    import textwrap

    text = " ".join(".".join(map(str, p)) for p in paths if p) or "(root only)"
    return textwrap.fill(text, width=width, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)
