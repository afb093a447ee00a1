"""Output options and printing shared by several commands (parsing and settings: :mod:`specroof.app`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from specroof.app.parsing import MAX_OUTPUT_ROWS, parse_int_list, positive_flag
from specroof.report.formats import render

__all__ = ["FORMATS", "MAX_OUTPUT_ROWS", "emit", "format_option", "mark_unfit", "parse_int_list", "positive_flag"]

FORMATS = ("table", "csv", "json")

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
    help="table for people, csv or json for machines.",
)


def emit(rows: Sequence[dict[str, Any]], fmt: str, table_columns: Sequence[str] | None = None,
         title: str | None = None, caveat: str = "") -> None:
    """Print records as a table, CSV or JSON (see specroof.report.formats).

    A ``caveat`` (the implementation profile's) goes to stderr, so machine formats stay clean.
    """
    click.echo(render(rows, fmt, table_columns=table_columns, title=title))
    if caveat:
        click.echo(f"note: {caveat}", err=True)


def mark_unfit(records: Sequence[dict[str, Any]], rows: Sequence[dict[str, Any]], columns: Sequence[str]
               ) -> tuple[list[dict[str, Any]], list[str]]:
    """Table rows with a ``fits`` column ("NO" where the point does not fit) when any does not.

    ``records`` are the results' own records (with ``fits``); ``rows`` the rows shown, one per
    record (possibly normalized). When every point fits the table is left as it was.
    """
    if all(r.get("fits", True) for r in records):
        return list(rows), list(columns)
    marked = [{**row, "fits": "yes" if rec.get("fits", True) else "NO"} for rec, row in zip(records, rows)]
    return marked, [*columns, "fits"]
