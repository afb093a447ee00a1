"""``specroof acceptance --catalog [--model M --method X --domain D]``: the catalog's rows.

One record per (entry, K) in every format; the table then lists each entry's source once, so
the rows stay readable and every number still traces to its URL.
"""

from __future__ import annotations

import json
from typing import Any

import click

from specroof.cli.common import emit
from specroof.errors import SpecroofError, suggest
from specroof.speculation.acceptance_catalog import KEY, CatalogEntry, catalog_entries
from specroof.speculation.acceptance_compare import compare_to_catalog
from specroof.speculation.catalog_match import normalize

TABLE_COLUMNS = ("model", "method", "domain", "dataset", "setting", "temperature", "k_draft_tokens",
                 "acceptance_length", "spread", "engine", "chat_template", "dataset_kind")


def _pick(entries: list[CatalogEntry], field: str, value: str | None) -> list[CatalogEntry]:
    """Entries whose ``field`` is ``value`` (None: all); an absent value is an error naming those there."""
    if value is None:
        return entries
    wanted = normalize(value) if field == "model" else value.strip().lower()
    kept = [e for e in entries if (normalize(e.key[field]) if field == "model" else e.key[field]) == wanted]
    if not kept:
        have = sorted({e.key[field] for e in entries})
        raise SpecroofError(f"the acceptance catalog has no row with {field} {value!r}{suggest(wanted, have)}; "
                            f"it has {', '.join(have)}")
    return kept


def catalog_records(model: str | None, method: str | None, domain: str | None) -> list[CatalogEntry]:
    """The entries asked for, filtered in the order method, model, domain (errors name what exists)."""
    entries = list(catalog_entries())
    for field, value in (("method", method), ("model", model), ("domain", domain)):
        entries = _pick(entries, field, value)
    return entries


def _records(entries: list[CatalogEntry]) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        for (k, tau), spread in zip(entry.points, entry.spreads):
            rows.append({**{c: entry.key[c] for c in KEY}, "k_draft_tokens": k, "acceptance_length": tau,
                         "spread": spread, **entry.info})
    return rows


def show_catalog(model: str | None, method: str | None, domain: str | None, fmt: str) -> None:
    """Print the catalog rows asked for; the table also prints each entry's source once."""
    entries = catalog_records(model, method, domain)
    rows = _records(entries)
    if fmt != "table":
        emit(rows, fmt)
        return
    title = (f"Acceptance catalog: {len(rows)} rows in {len(entries)} curves (tau = tokens per step of a chain "
             "of K draft tokens; empty = not stated by the source)")
    emit(rows, fmt, table_columns=TABLE_COLUMNS, title=title)
    click.echo("\nsources:")
    for entry in entries:
        click.echo(f"  {entry.label()}: {entry.info['source_url']} ({entry.info['source_where']}); "
                   f"tau {entry.info['derivation']}")


def check_catalog_options(catalog: bool, model: str | None, domain: str | None, compare: str | None = None) -> None:
    """--model and --domain filter --catalog or pick --compare's row: alone they would silently do
    nothing (--method also names what --write-profile records and what --measure drafts with)."""
    given = [f"--{name}" for name, value in (("model", model), ("domain", domain)) if value]
    if given and not catalog and compare is None:
        raise SpecroofError(f"{', '.join(given)} only filter(s) the catalog listing; add --catalog (or use --acceptance "
                            "catalog:MODEL/METHOD[/DOMAIN] for one row's tau)")


def list_catalog(ctx: click.Context, profile: dict[str, Any], model: str | None, method: str | None,
                 domain: str | None, fmt: str) -> None:
    """``--catalog``: the listing, refusing the options that would do nothing with it."""
    flags = {"spec": "--acceptance", "source": "--from", "candidates": "--candidates",
             "max_depth": "--max-depth", "show_tree": "--show-tree"}
    extra = [flag for name, flag in flags.items()
             if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
    extra += [f"--{name.replace('_', '-')}" for name, value in profile.items() if value]
    if extra:
        raise SpecroofError(f"--catalog lists the catalog's measured K; drop {', '.join(extra)} (or use "
                            "--acceptance catalog:MODEL/METHOD[/DOMAIN] for one row's tau at --candidates)")
    show_catalog(model, method, domain, fmt)


def compare_option(command: Any) -> Any:
    """``--compare catalog``: the measured tau next to the catalog's (with --from)."""
    return click.option("--compare", type=click.Choice(["catalog"]), default=None,
                        help="With --from: put the measured tau next to the acceptance catalog's row for --model "
                             "and --method (--domain), flag a gap beyond the catalog's spread and list the usual "
                             "causes.")(command)


def run_compare(measured: Any, model: str | None, method: str | None, domain: str | None, fmt: str) -> None:
    """Print the comparison of an engine's (or profile's) measured tau with the catalog."""
    missing = [flag for flag, value in (("--model", model), ("--method", method)) if not value]
    if missing:
        raise SpecroofError(f"--compare catalog needs {' and '.join(missing)} (the target model and the drafting "
                            "method the metrics come from)")
    max_k = getattr(measured, "max_candidates", None)
    result = compare_to_catalog(measured, str(model), str(method), domain, None if max_k is None else int(max_k) - 1)
    rows = [p.record() for p in result.points]
    advice = result.advice()
    if fmt == "json":
        click.echo(json.dumps({"catalog_row": result.row_line, "band": result.band_note, "rows": rows,
                               "advice": advice}, indent=1))
        return
    title = f"Measured ({measured.describe()}) against the {result.row_line}\n{result.band_note}"
    emit(rows, fmt, title=title if fmt == "table" else None, caveat="; ".join(advice) if fmt == "csv" else "")
    if fmt == "table":
        for line in advice:
            click.echo(line)
