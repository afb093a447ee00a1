"""Render a list of records as a terminal table, CSV or JSON.

Records are flat dicts, except that a nested dict value (``ops_ms``) is kept as an object in
JSON and flattened to ``op_<name>_ms`` columns in CSV and tables, so machines get a stable
schema and people get one column per operator.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """``{"ops_ms": {"qkv_proj": 1.0}}`` -> ``{"op_qkv_proj_ms": 1.0}``; other keys unchanged."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            prefix = "op" if key == "ops_ms" else key
            for sub, v in value.items():
                flat[f"{prefix}_{sub}_ms" if key == "ops_ms" else f"{prefix}_{sub}"] = v
        elif isinstance(value, (list, tuple)):
            flat[key] = json.dumps(value)
        else:
            flat[key] = value
    return flat


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _clean(value: Any) -> Any:
    """numpy scalars to Python; NaN/inf to None so the JSON is standard."""
    if hasattr(value, "item") and not isinstance(value, (list, dict)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps([{k: _clean(v) for k, v in r.items()} for r in rows], indent=1, default=_json_default)


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    flat = [flatten(r) for r in rows]
    columns: list[str] = []
    for r in flat:
        columns.extend(k for k in r if k not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for r in flat:
        writer.writerow({k: _clean(v) for k, v in r.items()})
    return buffer.getvalue().rstrip("\n")


def to_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, title: str | None = None) -> str:
    from tabulate import tabulate

    flat = [flatten(r) for r in rows]
    if columns is None:
        columns = []
        for r in flat:
            columns.extend(k for k in r if k not in columns)
    decimals = {c: column_decimals([r.get(c) for r in flat]) for c in columns}
    body = [[_cell(r.get(c), decimals[c]) for c in columns] for r in flat]
    headers = [c.replace("op_", "").replace("_ms", " ms").replace("_", " ") for c in columns]
    text = tabulate(body, headers=headers, tablefmt="simple", disable_numparse=True, stralign="right")
    return f"{title}\n\n{text}" if title else text


def column_decimals(values: Sequence[Any]) -> int:
    """Decimals for every float of one column, from its largest magnitude, so a column reads alike.

    10,000 and up: none; 100 and up: one; 1 and up: three; below 1: three significant figures
    of the largest value (at most six decimals).
    """
    floats = [abs(v) for v in map(_clean, values) if isinstance(v, float)]
    top = max(floats, default=0.0)
    if top >= 10_000:
        return 0
    if top >= 100:
        return 1
    if top >= 1 or top == 0:
        return 3
    return min(6, 2 - math.floor(math.log10(top)))


def _cell(value: Any, decimals: int = 3) -> str:
    value = _clean(value)
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:,.{decimals}f}"
        return text.lstrip("-") if float(text.replace(",", "")) == 0 else text  # never "-0.000"
    return str(value)


def signed(value: float, decimals: int) -> str:
    """'+0.12' / '-0.12'; what rounds to zero is '0.00', never '-0.00' or '+0.00'."""
    text = f"{value:+.{decimals}f}"
    return f"{0:.{decimals}f}" if float(text) == 0 else text


def render(rows: Sequence[dict[str, Any]], fmt: str, table_columns: Sequence[str] | None = None,
           title: str | None = None) -> str:
    if fmt == "json":
        return to_json(rows)
    if fmt == "csv":
        return to_csv(rows)
    return to_table(rows, table_columns, title)
