"""Write the coverage part of ``docs/acceptance-catalog.md`` from the shipped acceptance catalog.

The doc lists every catalog entry (a test checks that none is missing) and which method has a
source for which domain. Typed by hand, that list went stale each time rows were added; made
from the catalog it cannot. The part between the ``coverage:begin`` and ``coverage:end``
markers is replaced; the prose around it (what has no source, and why) stays hand-written.

Run: ``python tools/acceptance/catalog_coverage_doc.py`` (``--check`` compares instead of writing).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import urlparse

from specroof.speculation.acceptance_catalog import DOMAINS, CatalogEntry, catalog_entries
from specroof.speculation.methods import METHODS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "acceptance-catalog.md"
BEGIN, END = "<!-- coverage:begin (made by tools/acceptance/catalog_coverage_doc.py) -->", "<!-- coverage:end -->"
CUT = re.compile(r"curve cut: K = (\d+)")


def _k_measured(entry: CatalogEntry) -> str:
    """``1..15``, ``2,4`` or ``3``, with the K a curve cut left out."""
    ks = [k for k, _ in entry.points]
    contiguous = len(ks) > 2 and ks == list(range(ks[0], ks[-1] + 1))
    text = f"{ks[0]}..{ks[-1]}" if contiguous else ",".join(str(k) for k in ks)
    cut = CUT.search(entry.info["derivation"])
    return f"{text} (cut: K = {cut.group(1)} fell)" if cut else text


def _cell(text: str) -> str:
    return text.replace("|", "/")


def entry_row(entry: CatalogEntry) -> str:
    """One markdown table row: the ``catalog:`` name, its conditions and its source."""
    url = entry.info["source_url"]
    cells = [f"`{entry.name()}`", _cell(entry.key["dataset"] or "not stated"), entry.key["setting"],
             entry.key["temperature"] or "not stated", _k_measured(entry), entry.info["engine"],
             entry.info["chat_template"], f"[{urlparse(url).netloc}]({url})"]
    return "| " + " | ".join(cells) + " |"


def entries_table(entries: tuple[CatalogEntry, ...]) -> list[str]:
    head = ["| entry (`catalog:` name) | dataset | setting | temperature | K measured | engine | chat template | source |",
            "|---|---|---|---|---|---|---|---|"]
    return head + [entry_row(e) for e in entries]


def matrix(entries: tuple[CatalogEntry, ...]) -> list[str]:
    """Method x domain: the models with an entry there, or ``no source``."""
    domains = [d for d in DOMAINS if d != "unstated"] + ["unstated"]
    lines = ["| method | " + " | ".join(domains) + " |", "|---" * (len(domains) + 1) + "|"]
    for method in METHODS.names():
        if method == "none":
            continue
        cells = []
        for domain in domains:
            models = sorted({e.model for e in entries if e.method == method and e.domain == domain})
            cells.append(", ".join(models) if models else "no source")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def render() -> str:
    entries = catalog_entries()
    body = [BEGIN, "", f"{len(entries)} entries, {sum(len(e.points) for e in entries)} (entry, K) points.", "",
            *entries_table(entries), "", "By method and domain (the models with an entry there):", "", *matrix(entries),
            "", END]
    return "\n".join(body)


def updated(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + render() + text[end:]


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    new = updated(text)
    if "--check" in argv:
        same = new == text
        print("docs/acceptance-catalog.md coverage is up to date" if same else "coverage differs: rerun the tool")
        return 0 if same else 1
    DOC.write_text(new, encoding="utf-8")
    print(f"wrote the coverage part of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
