"""The accuracy gates of the test suite, read from ``tests/gates.toml``.

Every gate names its metric, its level, the level reached when it was set, what the figure was
fitted on, and the reason for its level; the tests that compute a metric look its gate up here
instead of writing the number in the test.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

GATES_FILE = Path(__file__).resolve().parent / "gates.toml"
REQUIRED = ("id", "group", "test", "levels", "reached", "set", "evidence", "reason")


def all_gates() -> list[dict[str, Any]]:
    with GATES_FILE.open("rb") as fh:
        return tomllib.load(fh)["gate"]


def gates(group: str) -> dict[str, dict[str, Any]]:
    """``{check: gate}`` of one group (the ``check`` key, else the ``id``)."""
    return {g.get("check", g["id"]): g for g in all_gates() if g["group"] == group}


def failures(gate: dict[str, Any], values: dict[str, float | None]) -> list[str]:
    """The metrics of ``values`` above the gate's level (``*_abs`` levels bound the absolute value)."""
    out = []
    for metric, level in gate["levels"].items():
        key = metric.removesuffix("_abs")
        value = values.get(key)
        if value is None:
            out.append(f"{gate['id']}: {key} missing")
            continue
        if (abs(value) if metric.endswith("_abs") else value) > level:
            out.append(f"{gate['id']}: {key} = {value:.3f} above its gate {level}")
    return out
