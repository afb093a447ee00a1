"""Results as rows for people and machines: normalized latencies, JSON-safe values.

Used by the CLI's tables and the explorer's views alike, so both show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

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


def jsonable(value: Any) -> Any:
    """Standard JSON: non-finite floats become null, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
