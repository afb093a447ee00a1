"""Options and parsing shared by several commands."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import click

from specroof.errors import SpecroofError

FORMATS = ("table", "csv", "json")

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
    help="table for people, csv or json for machines.",
)


#: Most values one grid axis may list, and the largest value (no batch, candidate count or
#: context is larger). Both are checked before a list is built, so a typo like
#: ``1:1000000000:1`` is refused at once instead of allocating a billion integers.
MAX_LIST_VALUES = 100_000
MAX_LIST_VALUE = 100_000_000

#: Most rows ``latency`` and ``speedup`` print (their grid cap): one row per grid point, and
#: formatting a row costs far more than computing it (about 50 us against under 1 us), so
#: larger sweeps belong to the Python API, which returns arrays.
MAX_OUTPUT_ROWS = 100_000


def parse_int_list(text: str, what: str) -> list[int]:
    """Parse '1,2,4' or '1..64' (powers of two) or '16:112:16' (start:stop:step, inclusive).

    Every value must be a positive integer up to MAX_LIST_VALUE and the list at most
    MAX_LIST_VALUES long; the error says which value or range is at fault.
    """
    values: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if ".." in part:
            lo, hi = (_positive(p, what) for p in part.split("..", 1))
            if hi < lo:
                raise SpecroofError(f"--{what}: range {part!r} is empty (end below start)")
            v = lo
            while v <= hi:
                values.append(v)
                v *= 2
        elif ":" in part:
            pieces = part.split(":")
            if len(pieces) != 3:
                raise SpecroofError(f"--{what}: {part!r} should be start:stop:step")
            lo, hi, step = (_positive(p, what) for p in pieces)
            if hi < lo:
                raise SpecroofError(f"--{what}: range {part!r} is empty (end below start)")
            _check_count(len(values) + (hi - lo) // step + 1, what, part)
            values.extend(range(lo, hi + 1, step))
        else:
            values.append(_positive(part, what))
        _check_count(len(values), what, part)
    if not values:
        raise SpecroofError(f"--{what} needs at least one value, e.g. 1,16,64")
    return values


def positive_flag(value: int | None, flag: str) -> None:
    """SpecroofError unless an integer option given on the command line is >= 1."""
    if value is not None and value < 1:
        raise SpecroofError(f"{flag} must be a positive integer, got {value}")


def _check_count(count: int, what: str, part: str) -> None:
    if count > MAX_LIST_VALUES:
        raise SpecroofError(f"--{what}: {part!r} makes {count:,} values, more than the {MAX_LIST_VALUES:,} "
                            "one sweep takes; use a larger step (start:stop:step) or powers of two (a..b)")


def _positive(text: str, what: str) -> int:
    try:
        number = float(text)
    except (ValueError, OverflowError):
        raise SpecroofError(f"--{what}: {text!r} is not a number; give positive integers like 1,16,64") from None
    if not math.isfinite(number) or number != int(number) or number <= 0:
        raise SpecroofError(f"--{what}: {text!r} must be a positive integer")
    if number > MAX_LIST_VALUE:
        raise SpecroofError(f"--{what}: {text!r} is larger than {MAX_LIST_VALUE:,}, the most any axis allows")
    return int(number)


def emit(rows: Sequence[dict[str, Any]], fmt: str, table_columns: Sequence[str] | None = None,
         title: str | None = None, caveat: str = "") -> None:
    """Print records as a table, CSV or JSON (see specroof.report.formats).

    A ``caveat`` (the implementation profile's) goes to stderr, so machine formats stay clean.
    """
    from specroof.report.formats import render

    click.echo(render(rows, fmt, table_columns=table_columns, title=title))
    if caveat:
        click.echo(f"note: {caveat}", err=True)


NON_PHYSICAL_PROFILES = ("medusa-appendix-g",)
"""Profiles fitted to reproduce speedup *ratios* only (their caveat says so): their absolute
milliseconds are not physical, so tables and charts show T(b, n) / T(b, 1) instead."""


def physical_ms(profile: Any) -> bool:
    """Whether a profile's absolute latencies mean something (a ``physical_ms`` field wins)."""
    flag = getattr(profile, "physical_ms", None)
    if flag is not None:
        return bool(flag)
    return getattr(profile, "name", "") not in NON_PHYSICAL_PROFILES


def normalized_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str]
                    ) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows and table columns with latency as T_spec / T_plain instead of milliseconds.

    ``latency_ms`` becomes ``normalized_latency`` (the speculative step over the plain one,
    as in the Medusa paper's Figure 21), ``draft_ms`` becomes ``draft_normalized``; the plain
    step's milliseconds and tokens/s, which only restate the absolute scale, are dropped.
    """
    out = []
    for row in rows:
        plain = row.get("ar_latency_ms")
        new = dict(row)
        for key, name in (("latency_ms", "normalized_latency"), ("draft_ms", "draft_normalized")):
            value = row.get(key)
            new[name] = value / plain if value is not None and plain else None
        out.append(new)
    renamed = {"latency_ms": "normalized_latency", "draft_ms": "draft_normalized"}
    kept = [renamed.get(c, c) for c in columns if c not in ("ar_latency_ms", "throughput", "tokens_per_s")]
    return out, kept


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
