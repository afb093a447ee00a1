"""The published set's section of ``docs/validation-e2e.md`` (made by ``compare_published.py``).

Kept apart from the pricing so that the doc's layout can change without touching what is
priced. ``section(priced)`` is pure: the same rows give the same text, which is what
``tests/test_published_validation.py`` and ``tests/test_e2e_validation.py`` compare.
"""

from __future__ import annotations

import math

HEADING = "## Published measurements, dev and test (data/validation/published-e2e.csv)"
INTRO = """\
Made by `tools/validation/compare_published.py` (written here by `python tools/validation/compare_e2e.py
--write`) from `data/validation/published-e2e.csv` (sources: `data/validation/README.md` section 4).
The set was split by source into a development and a test set **before** any prediction of its
rows was computed (rule, dates and the commit order: `docs/validation-published.md`). The test
set is scored once per release and reported; nothing is fitted on it and no structure is chosen
on it. Each row is priced with its own stated acceptance length (never fitted) and stated layout;
kernel costs come from the engine profiles (fitted to NVIDIA's kernel database, not to these
rows). The `profile` column names the profile that priced each row (`<engine>@<release>` where
such a profile exists, else `<engine>`). A refused row is a result: specroof cannot price it
yet, and says why. Error = predicted / measured - 1. `over`: what the predicted speedup covers,
`requests` where the metric counts whole requests (output throughput, end-to-end runtime: the
batch's prefill included, paid once either way) and the row states its prompt and output
lengths, else the decode `steps`; `plain ms/token` is specroof's plain time per output token on
the same basis.
"""


def _pct(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{100 * value:+.1f}%"


def _stat_row(label: str, s: dict) -> str:
    if "mape_pct" not in s:
        return f"| {label} | {s['points']} | | | |"
    return f"| {label} | {s['points']} | {s['mape_pct']:.1f}% | {s['bias_pct']:+.1f}% | {s['worst_pct']:+.1f}% |"


def _table(title: str, table: dict[str, dict], prefix: str) -> list[str]:
    """One table of the summary: the keys ``<split>: speedup<prefix>...`` for both splits."""
    lines = [f"### {title}", "", "| split, group | points | MAPE | bias | worst |", "|---|---|---|---|---|"]
    for name, s in table.items():
        split, _, what = name.partition(": ")
        if what.startswith("speedup" + prefix) and (prefix or what == "speedup"):
            group = what.removeprefix("speedup").removeprefix(prefix).strip(", ") or "all priced rows"
            lines.append(_stat_row(f"{split}, {group}", s))
    return lines + [""]


def _summary(table: dict[str, dict]) -> list[str]:
    lines = _table("Overall", table, "")
    lines += _table("Per engine", table, ", engine ")
    lines += _table("Per method", table, ", method ")
    lines += ["### Plain step and refusals", "", "| split, check | points | MAPE | bias | worst |", "|---|---|---|---|---|"]
    for name, s in table.items():
        if name.endswith(("plain time per token", "refused")):
            lines.append(_stat_row(name.replace(": ", ", "), s))
    return lines + [""]


def _priced_rows(priced: list) -> list[str]:
    lines = ["### Priced rows", "",
             "| split | row | model (priced as) | GPU | engine | profile | method | batch | k | tau | over | measured "
             "| predicted | error | plain ms/token | error | warnings |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in (p for p in priced if not p.refused):
        warned = "; ".join(p.warnings).replace("|", "/")
        lines.append(f"| {p.split} | {p.row_id} | {p.model} ({p.config}) | {p.gpu} | {p.engine} | {p.profile} | {p.method} "
                     f"| {p.batch} | {p.k} | {p.acceptance_length:.2f} | {p.over} | {p.measured_speedup:.3f} | "
                     f"{p.predicted_speedup:.3f} | {_pct(p.error)} | {p.plain_per_token_ms:.2f} | {_pct(p.plain_tpot_error)} "
                     f"| {warned} |")
    return lines + [""]


def _refused_rows(priced: list) -> list[str]:
    lines = ["### Refused rows", "", "| split | row | model | engine | profile | method | why |", "|---|---|---|---|---|---|---|"]
    for p in (p for p in priced if p.refused):
        lines.append(f"| {p.split} | {p.row_id} | {p.model} | {p.engine} | {p.profile} | {p.method} "
                     f"| {p.refused.replace('|', '/')} |")
    return lines


def section(priced: list, table: dict[str, dict]) -> str:
    """The section's markdown: the summary tables (``table``: ``compare_published.summary``), every
    priced row, every refused row with its reason."""
    lines = [HEADING, "", INTRO, *_summary(table), *_priced_rows(priced), *_refused_rows(priced)]
    return "\n".join(lines) + "\n"
