"""The schema of one line of a measurement file (keys specroof does not know are kept)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from specroof.checks import BOOL, NAME, Check, annotation, check, integer, number, schema_of
from specroof.errors import SpecroofError

MS = Check(number, gt=0, le=1e9)
SIZE = Check(integer, ge=1, le=100_000_000)


@lru_cache(maxsize=1)
def _schema() -> Any:
    return schema_of("MeasurementRow", {
        "model": (NAME, ...), "hardware": (NAME, ...), "dtype": (NAME, ...),
        "batch": (SIZE, ...), "candidates": (SIZE, ...), "seq_len": (SIZE.or_none(), None),
        "latency_ms": (MS, ...), "ops_ms": (Check(build=lambda: dict[str, annotation(MS)], optional=True), None),
        "cuda_graph": (BOOL.or_none(), None), "eager_latency_ms": (MS.or_none(), None),
        "heads": (Check(integer, ge=1, le=64, optional=True), None),
    }, extra="allow")


def measurement_row(obj: dict[str, Any], where: str) -> Any:
    """One measurement line checked; errors start with ``where`` and write keys quoted."""
    row = check(_schema(), obj, where, quote=True)
    if row.seq_len is None and row.heads is None:
        raise SpecroofError(f"{where}: missing required key 'seq_len' (only Medusa-head rows, with 'heads', "
                            "may omit it)")
    return row
