"""The registered drafting methods as plain data: for the explorer's catalog and the docs table.

Both are read off :data:`~specroof.speculation.methods.METHODS` when asked, so a method
registered later (a plug-in) is listed too; ``docs/drafting-methods.md`` holds the table of
the built-in ones, checked against :func:`methods_markdown` by the tests.
"""

from __future__ import annotations

from typing import Any

from specroof.speculation.methods.base import METHODS, Method
from specroof.speculation.methods.parameters import PARAMETERS


def method_record(method: Method) -> dict[str, Any]:
    """One method: its name, description, label, what it drafts with and the flags it takes."""
    return {
        "name": method.name,
        "description": method.description,
        "label": method.label,
        "pass_based": method.pass_based,
        "tree_capable": method.tree_capable,
        "parameters": [{"name": name, "flag": PARAMETERS[name].flag, "required": name in method.required}
                       for name in method.parameters],
    }


def method_catalog() -> list[dict[str, Any]]:
    """Every registered method, in registration order (JSON-ready)."""
    return [method_record(method) for method in METHODS]


def methods_markdown() -> str:
    """A Markdown table of the registered methods (``docs/drafting-methods.md``)."""
    lines = ["| method | drafts with | tree | flags | what it is |", "|---|---|---|---|---|"]
    for record in method_catalog():
        flags = ", ".join(f"`{p['flag']}`" + (" (required)" if p["required"] else "")
                          for p in record["parameters"] if p["name"] != "tree") or "-"
        drafts = "forward passes" if record["pass_based"] else "no pass of its own"
        tree = "yes" if record["tree_capable"] else "no"
        lines.append(f"| `{record['name']}` | {drafts} | {tree} | {flags} | {record['description']} |")
    return "\n".join(lines) + "\n"
